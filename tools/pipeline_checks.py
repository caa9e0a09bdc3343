"""Checks on pipelines as Azure DevOps compiles them (tools/pipeline_expand.py), for every
value of their parameters: what a schema over the files cannot see.

Each problem is one line, ``<pipeline> (<parameters>): <message>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.pipeline_expand import Expanded, ExpansionError, declared_parameters, expand, parameter_sets

ROOT = Path(__file__).resolve().parent.parent
TOOLKIT_TASKS = ROOT / "azure-devops" / "schema" / "aws-toolkit-tasks.json"
# "Stage and job names may contain only alphanumeric characters and '_', and may not start
# with a number" (learn.microsoft.com/azure/devops/pipelines/yaml-schema/stages-stage).
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MACRO = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)")
# Predefined variables (learn.microsoft.com/azure/devops/pipelines/build/variables) are set by
# the agent; any other macro names a pipeline variable or a variable group's.
PREDEFINED = ("Agent.", "Build.", "Pipeline.", "System.", "Environment.", "Strategy.", "Resources.", "Checks.")
# The AWS Toolkit's default credential lifetime, and the variable that raises it
# (src/lib/awsConnectionParameters.ts: minDuration, roleCredentialMaxDurationVariableName).
CREDENTIALS_DEFAULT_SECONDS = 900
CREDENTIALS_VARIABLE = "aws.rolecredential.maxduration"
# Free Microsoft-hosted jobs stop at 60 minutes, whatever timeoutInMinutes says
# (learn.microsoft.com/azure/devops/pipelines/process/phases, Timeouts).
HOSTED_MINUTES = 60
# A job that runs clean-up after a cancel gets cancelTimeoutInMinutes for it; the default is 5.
CANCEL_DEFAULT_MINUTES = 5
# The value a free-text parameter is expanded with, to trace where it flows.
_FREE = "free-text-{}"
_STACK_PATH = re.compile(r"(?<![\w/])(dev|prod)/([a-z][a-z0-9-]*)\.yaml")


def _label(expanded: Expanded) -> str:
    values = ", ".join(f"{k}={v}" for k, v in expanded.parameters.items() if not isinstance(v, (dict, list)))
    return f"{expanded.path.name} ({values})" if values else expanded.path.name


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _job_name(job: dict[str, Any]) -> str:
    return str(job.get("job") or job.get("deployment") or "")


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    if "deployment" in job:
        strategy = job.get("strategy") or {}
        found = []
        for phases in strategy.values():  # runOnce, rolling, canary: deploy and its hooks
            for phase in (phases or {}).values():
                if isinstance(phase, dict):
                    found.extend(phase.get("steps") or [])
        return found
    return job.get("steps") or []


def _variables(node: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    if isinstance(node, dict):
        return {str(k): str(v) for k, v in node.items()}
    for entry in node or []:
        if isinstance(entry, dict) and "name" in entry:
            found[str(entry["name"])] = str(entry.get("value", ""))
    return found


def _groups(node: Any) -> list[str]:
    return [str(e["group"]) for e in (node or []) if isinstance(e, dict) and "group" in e]


def toolkit_rules() -> dict[str, dict[str, Any]]:
    return {t["name"]: t["rules"] for t in json.loads(TOOLKIT_TASKS.read_text())["tasks"]}


def _task_inputs(step: dict[str, Any], rules: dict[str, Any]) -> dict[str, str]:
    inputs = {k: str(v).strip() for k, v in (step.get("inputs") or {}).items()}
    return {**{k: str(v) for k, v in rules.get("defaults", {}).items()}, **inputs}


def check_toolkit_step(step: dict[str, Any], rules: dict[str, Any]) -> list[str]:
    """An AWS Toolkit step against its task.json: required inputs that apply, inputs that do not."""
    inputs, given = _task_inputs(step, rules), step.get("inputs") or {}
    problems = []
    for name in rules.get("required", []):
        rule = rules.get("visibleRule", {}).get(name)
        applies = rule is None or inputs.get(rule[0], "").lower() == rule[1].lower()
        if applies and not inputs.get(name):
            why = f" (its {rule[0]} is {rule[1]})" if rule else ""
            problems.append(f"{step['task']} step {step.get('displayName', '')!r} needs {name}{why}")
    for name, (on, value) in rules.get("visibleRule", {}).items():
        if name in given and inputs.get(on, "").lower() != value.lower():
            problems.append(
                f"{step['task']} step {step.get('displayName', '')!r} sets {name}, which the task ignores"
                f" unless {on} is {value}"
            )
    return problems


def _scripts(step: dict[str, Any], rules: dict[str, dict[str, Any]]) -> Iterator[str]:
    for key in ("bash", "script", "pwsh", "powershell"):
        if isinstance(step.get(key), str):
            yield step[key]
    task = rules.get(str(step.get("task", "")))
    if task:
        for name in task.get("scripts", []):
            value = (step.get("inputs") or {}).get(name)
            if isinstance(value, str):
                yield value


def _macro_sources(name: str, defined: dict[str, str], seen: frozenset[str] = frozenset()) -> set[str]:
    """The variables outside the pipeline (groups, the UI) that ``$(name)`` brings into a text."""
    if name.startswith(PREDEFINED) or name in seen:
        return set()
    if name not in defined:
        return {name}
    found: set[str] = set()
    for inner in _MACRO.findall(defined[name]):
        found |= _macro_sources(inner, defined, seen | {name})
    return found


def check_expanded(expanded: Expanded, rules: dict[str, dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    body = expanded.body
    root_variables = _variables(body.get("variables"))
    credential_minutes = _credential_minutes(root_variables.get(CREDENTIALS_VARIABLE))
    environment = expanded.parameters.get("environment")
    stages = expanded.stages()
    stage_names = [str(s.get("stage", "")) for s in stages]
    resources: dict[str, list[str]] = {"connection": [], "environment": [], "group": _groups(body.get("variables"))}
    uses_environment = False
    for position, stage in enumerate(stages):
        name = stage_names[position]
        if name != "__default" and not _NAME.match(name):
            problems.append(f"stage name {name!r} must be letters, digits and _, not starting with a digit")
        if stage_names.count(name) > 1 and stage_names.index(name) == position:
            problems.append(f"stage name {name} is used {stage_names.count(name)} times")
        for target in _listed(stage.get("dependsOn")):
            if target not in stage_names:
                problems.append(f"stage {name} depends on {target}, which is no stage of this pipeline")
        resources["group"] += _groups(stage.get("variables"))
        jobs = stage.get("jobs") or []
        job_names = [_job_name(j) for j in jobs]
        stage_connections: set[str] = set()
        stage_environments: set[str] = set()
        for index, job in enumerate(jobs):
            job_name = job_names[index]
            where = f"job {job_name}" if name == "__default" else f"stage {name}, job {job_name}"
            if job_name != "__default" and not _NAME.match(job_name):
                problems.append(f"{where}: the name must be letters, digits and _, not starting with a digit")
            if job_names.count(job_name) > 1 and job_names.index(job_name) == index:
                problems.append(f"{where}: the name is used by {job_names.count(job_name)} jobs of the stage")
            for target in _listed(job.get("dependsOn")):
                if target not in job_names:
                    problems.append(f"{where}: depends on {target}, which is no job of its stage")
            if "deployment" in job:
                env = job.get("environment")
                env_name = env.get("name") if isinstance(env, dict) else env
                resources["environment"].append(str(env_name))
                stage_environments.add(str(env_name))
                uses_environment = True
            resources["group"] += _groups(job.get("variables"))
            defined = {**root_variables, **_variables(stage.get("variables")), **_variables(job.get("variables"))}
            # clean-up: AWS work that still runs after a cancel (a job or AWS step on always()/canceled())
            uses_aws, cleanup = False, "always()" in str(job.get("condition", ""))
            for step in _steps(job):
                if not isinstance(step, dict):
                    continue
                task_rules = rules.get(str(step.get("task", "")))
                if task_rules:
                    uses_aws = True
                    for problem in check_toolkit_step(step, task_rules):
                        problems.append(f"{where}: {problem}")
                    connection = str((step.get("inputs") or {}).get(task_rules["credentials"], ""))
                    resources["connection"].append(connection)
                    stage_connections.add(connection)
                    condition = str(step.get("condition", ""))
                    cleanup = cleanup or "always()" in condition or "canceled()" in condition
                for text in _scripts(step, rules):
                    for env_name, stack_name in _STACK_PATH.findall(text):
                        if not (ROOT / "config" / env_name / f"{stack_name}.yaml").is_file():
                            problems.append(f"{where}: names {env_name}/{stack_name}.yaml, which config/ lacks")
                    for macro in sorted({m for m in _MACRO.findall(text)}):
                        outside = _macro_sources(macro, defined)
                        if outside:
                            problems.append(
                                f"{where}: step {step.get('displayName', '')!r} pastes $({macro}) into its script"
                                f" ({', '.join(sorted(outside))} from outside the pipeline): map it in env: and"
                                " quote it"
                            )
            problems += _timeouts(job, where, uses_aws, cleanup, credential_minutes)
        for connection in sorted(stage_connections):
            env_of_connection = connection.rsplit("-", 1)[-1]
            wanted = f"litellm-{env_of_connection}"
            if env_of_connection in ("dev", "prod") and wanted not in stage_environments:
                problems.append(
                    f"stage {name}: uses the service connection {connection} without a deployment job in the"
                    f" environment {wanted}, so that environment's approval and lock do not gate it"
                )
    for kind, values in resources.items():
        for value in sorted(set(values)):
            if "$(" in value or "$[" in value or _FREE.format("") in value:
                problems.append(
                    f"the {kind} {value} is not a literal known when the pipeline compiles"
                    + (" (it comes from a free-text parameter: give it values:)" if _FREE.format("") in value else "")
                )
            elif environment in ("dev", "prod") and not value.endswith(f"-{environment}"):
                problems.append(f"the {kind} {value} does not belong to the environment {environment}")
    if uses_environment and body.get("lockBehavior") != "sequential":
        problems.append(
            "deploys to an environment without lockBehavior: sequential, so the Exclusive lock check"
            " cancels queued runs instead of running them in turn"
        )
    return [f"{_label(expanded)}: {p}" for p in problems]


def _credential_minutes(value: str | None) -> int:
    if value is None:
        return CREDENTIALS_DEFAULT_SECONDS // 60
    try:
        seconds = int(value)
    except ValueError:
        return CREDENTIALS_DEFAULT_SECONDS // 60
    # The toolkit ignores a value outside 900..43200 and warns (getSessionDuration).
    return (seconds if 900 <= seconds <= 43200 else CREDENTIALS_DEFAULT_SECONDS) // 60


def _minutes(value: Any, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def _timeouts(job: dict[str, Any], where: str, uses_aws: bool, cleanup: bool, credential_minutes: int) -> list[str]:
    problems = []
    hosted = isinstance(job.get("pool"), dict) and "vmImage" in job["pool"]
    timeout = _minutes(job.get("timeoutInMinutes", HOSTED_MINUTES), HOSTED_MINUTES)
    if hosted and (timeout == 0 or timeout > HOSTED_MINUTES):
        problems.append(
            f"{where}: timeoutInMinutes {timeout or 'unlimited'} exceeds the {HOSTED_MINUTES} minutes a free"
            " Microsoft-hosted job runs"
        )
    if uses_aws and (timeout == 0 or timeout > credential_minutes):
        problems.append(
            f"{where}: runs for up to {timeout or 'unlimited'} minutes, but its AWS credentials last"
            f" {credential_minutes} ({CREDENTIALS_VARIABLE}); shorten the job or raise the variable"
        )
    cancel = _minutes(job.get("cancelTimeoutInMinutes", CANCEL_DEFAULT_MINUTES), CANCEL_DEFAULT_MINUTES)
    if cleanup and cancel <= CANCEL_DEFAULT_MINUTES:
        problems.append(
            f"{where}: cleans up after a cancel, in cancelTimeoutInMinutes {cancel}; give it more than the default"
        )
    return problems


def expansions(path: Path) -> Iterator[Expanded | str]:
    """The pipeline compiled for every enumerable parameter value; free-text ones carry a marker."""
    try:
        declared = declared_parameters(path)
    except ExpansionError as err:
        yield f"{path.name}: {err}"
        return
    free = {
        d["name"]: _FREE.format(d["name"])
        for d in declared
        if d.get("type", "string") == "string" and d.get("values") is None
    }
    for values in parameter_sets(path):
        try:
            yield expand(path, {**values, **free})
        except ExpansionError as err:
            label = ", ".join(f"{k}={v}" for k, v in values.items())
            yield f"{path.name} ({label}): {err}"


def check_pipelines(directory: Path) -> tuple[list[str], int]:
    """Problems in every pipeline of ``directory``, and the number of expansions checked."""
    rules = toolkit_rules()
    problems: list[str] = []
    count = 0
    for path in sorted(directory.glob("azure-pipelines-*.yml")):
        for result in expansions(path):
            if isinstance(result, str):
                problems.append(result)
                continue
            count += 1
            problems += check_expanded(result, rules)
    return problems, count
