"""Run the Azure DevOps pipelines' compiled steps locally, in order, against the local AWS emulator.

    make rehearse-pipelines                          every scenario, each from the state it says
    python -m tools.pipeline_rehearse --list         the scenarios
    python -m tools.pipeline_rehearse dev-teardown   some of them (with those they build on)

Each pipeline is compiled as Azure DevOps compiles it (tools/pipeline_expand.py) and run as
an agent runs it:

- stages and jobs in ``dependsOn`` order (a stage depends on the one before unless it says
  otherwise), each with its ``condition`` (default ``succeeded()``); a failed job fails its
  stage, and what depends on it is skipped, as Azure DevOps skips it;
- a job's steps in order, each with its condition (``succeeded()``, ``failed()``,
  ``always()``, ``canceled()``, ``succeededOrFailed()``); a job that outlives its
  ``timeoutInMinutes`` is cancelled, and its clean-up steps get ``cancelTimeoutInMinutes``;
- ``$(NAME)`` macros in inputs, ``env:`` and scripts take the pipeline's variables, the
  variable group's and the predefined ones (``Build.SourcesDirectory``,
  ``Pipeline.Workspace``, …); an undefined macro stays as its own text, as on Azure DevOps.
  Non-secret variables reach every step's environment as ``NAME_WITH_UNDERSCORES``;
- ``checkout: self`` copies the revision under test into a fresh sources directory, per job
  (regular jobs check out implicitly; deployment jobs only when told); ``bash:`` runs
  ``bash --noprofile --norc``; ``AWSShellScript@1`` runs as its TaskOperations.ts does: the
  inline script or ``filePath`` with ``arguments``, in ``System.DefaultWorkingDirectory``,
  with the service connection's credentials and ``regionName`` as ``AWS_REGION``;
  ``PublishPipelineArtifact@1`` copies ``targetPath`` into the workspace. Any other task
  fails the step, naming it.

What stands in, printed at the start of every rehearsal (STAND_INS):
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmgw.net import free_port
from llmgw.stacks import STACKS, outputs_of
from tools.local import LOCAL_CLIENT_CIDR, wait_until_answering
from tools.pipeline_expand import ExpansionError, evaluate, expand

ROOT = Path(__file__).resolve().parent.parent
PIPELINES = ROOT / "azure-devops"
EMULATOR_PYTHON = ROOT / ".venv-emulator" / "bin" / "python"
WORK = ROOT / "build" / "rehearsal"
REGION = "us-east-1"
DOMAIN = "llm.rehearsal.test"
# No registry serves this digest: nothing in a rehearsal pulls a base image (see STAND_INS).
STAND_IN_DIGEST = "sha256:" + "5" * 64
# The emulator's stand-in provider takes any key; no real key ever reaches a rehearsal.
PROVIDER_KEY = "sk-local-stand-in-provider"

STAND_INS = (
    "rehearsal: stand-in: every service connection is the emulator's account, with its dummy credentials",
    "rehearsal: stand-in: approvals and exclusive locks are granted at once; the lint checks where they gate",
    "rehearsal: stand-in: UsePythonVersion@0 selects this machine's python3; the jobs share the repository's .venv",
    "rehearsal: stand-in: credentials never expire; the lint checks each job against their lifetime",
    "rehearsal: stand-in: LLMGW_RDS_CA_BUNDLE gives the Lambda packaging the emulator's RDS CA",
    "rehearsal: stand-in: the revision's image/build-args pins a stand-in base-image digest, which prod requires "
    "and nothing here pulls",
    "rehearsal: stand-in: up to 8 jobs run at once, each as soon as its dependencies are done "
    "(a free organization runs 1 at a time, in an order Azure DevOps picks: every order must work)",
)
__doc__ = (__doc__ or "") + "\n".join(f"- {line.split('stand-in: ', 1)[1]}" for line in STAND_INS) + "\n"

_MACRO = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)")
_SAFE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "SHELL", "TERM")


class RehearsalError(Exception):
    """A rehearsal that cannot run or did not end as its scenario promises; one line."""


# --- the agent ---------------------------------------------------------------------------


@dataclass
class Agent:
    """One rehearsal's machine: the revision under test, the emulator and the variable groups."""

    snapshot: Path
    work: Path
    endpoint: str
    ca_bundle: Path
    groups: dict[str, dict[str, str]]
    secrets: set[str]
    connections: set[str]
    build_id: int = 0
    minute_seconds: float = 60  # how long a minute of timeoutInMinutes lasts (tests shorten it)
    parallel: int = 8  # jobs at once, as with that many parallel jobs

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in _SAFE_ENV}
        env.update(
            TF_BUILD="True",
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            LLMGW_RDS_CA_BUNDLE=str(self.ca_bundle),
            # The agent's public address, which a Microsoft-hosted agent learns from checkip.amazonaws.com:
            # here the agent is this machine, and the load balancer answers on loopback.
            AGENT_CIDR=LOCAL_CLIENT_CIDR,
        )
        return env


@dataclass
class JobResult:
    name: str
    result: str = "Skipped"
    seconds: float = 0.0
    failure: str = ""


@dataclass
class StageResult:
    name: str
    result: str = "Skipped"
    jobs: list[JobResult] = field(default_factory=list)


@dataclass
class Run:
    label: str
    stages: list[StageResult] = field(default_factory=list)

    @property
    def result(self) -> str:
        results = {s.result for s in self.stages}
        return "Failed" if "Failed" in results else "Succeeded"


def expand_macros(text: str, variables: dict[str, str], depth: int = 0) -> str:
    """Azure DevOps' macro syntax: ``$(NAME)`` becomes the variable's value; an unknown one stays."""
    folded = {k.lower(): v for k, v in variables.items()}  # variable names ignore case

    def one(match: re.Match) -> str:
        value = folded.get(match.group(1).lower())
        if value is None:
            return match.group(0)
        return expand_macros(value, variables, depth + 1) if depth < 10 else value

    return _MACRO.sub(one, text)


def _variables(entries: Any, agent: Agent) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in entries or []:
        if "group" in entry:
            if entry["group"] not in agent.groups:
                raise RehearsalError(f"variable group {entry['group']} was not found or is not authorized")
            found.update(agent.groups[entry["group"]])
        elif "name" in entry:
            found[str(entry["name"])] = str(entry.get("value", ""))
    return found


def _status_functions(state: dict[str, bool]) -> dict[str, Callable[..., Any]]:
    return {
        "succeeded": lambda *names: state["succeeded"],
        "failed": lambda *names: state["failed"],
        "succeededOrFailed": lambda *names: not state["canceled"],
        "always": lambda: True,
        "canceled": lambda: state["canceled"],
    }


def _condition(text: Any, state: dict[str, bool]) -> bool:
    if text in (None, ""):
        text = "succeeded()"
    try:
        return bool(evaluate(str(text), {}, _status_functions(state)))
    except ExpansionError as err:
        raise RehearsalError(f"cannot evaluate the condition {text!r}: {err}") from None


class _Job:
    """One job on a fresh agent directory: its steps, their conditions, its timeout."""

    def __init__(self, agent: Agent, job: dict[str, Any], stage: str, variables: dict[str, str], log: Path):
        self.agent, self.job, self.stage, self.log = agent, job, stage, log
        self.name = str(job.get("job") or job.get("deployment"))
        self.workspace = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=agent.work))
        self.sources = self.workspace / "s"
        self.sources.mkdir()
        (self.workspace / "_temp").mkdir()
        self.variables = {
            "Build.SourcesDirectory": str(self.sources),
            "Build.Repository.LocalPath": str(self.sources),
            "System.DefaultWorkingDirectory": str(self.sources),
            "Pipeline.Workspace": str(self.workspace),
            "Agent.BuildDirectory": str(self.workspace),
            "Agent.TempDirectory": str(self.workspace / "_temp"),
            "Build.ArtifactStagingDirectory": str(self.workspace / "a"),
            "Build.BuildId": str(agent.build_id),
            "Build.BuildNumber": f"rehearsal.{agent.build_id}",
            "System.StageName": stage,
            "System.JobName": self.name,
            "System.TeamProject": "rehearsal",
            **variables,
            **{k: v for k, v in _variables(job.get("variables"), agent).items()},
        }
        self.state = {"succeeded": True, "failed": False, "canceled": False}

    def steps(self) -> list[dict[str, Any]]:
        if "deployment" in self.job:
            strategy = self.job.get("strategy") or {}
            if set(strategy) != {"runOnce"}:
                raise RehearsalError(f"job {self.name}: the rehearsal runs the runOnce strategy only")
            phases = strategy["runOnce"] or {}
            unknown = set(phases) - {"deploy"}
            if unknown:
                raise RehearsalError(f"job {self.name}: the rehearsal runs runOnce.deploy only, not {sorted(unknown)}")
            return list((phases.get("deploy") or {}).get("steps") or [])
        steps = list(self.job.get("steps") or [])
        if not any(isinstance(s, dict) and "checkout" in s for s in steps):
            steps.insert(0, {"checkout": "self"})  # a regular job checks out implicitly
        return steps

    def env(self) -> dict[str, str]:
        env = self.agent.base_env()
        for name, value in self.variables.items():
            if name not in self.agent.secrets:
                env[name.upper().replace(".", "_")] = expand_macros(value, self.variables)
        return env

    def run(self) -> JobResult:
        result = JobResult(self.name)
        started = time.monotonic()
        minute = self.agent.minute_seconds
        timeout = _minutes(self.job.get("timeoutInMinutes"), 60) * minute or 24 * 3600
        cancel = _minutes(self.job.get("cancelTimeoutInMinutes"), 5) * minute
        deadline = started + timeout
        if "deployment" in self.job:
            environment = self.job.get("environment")
            environment = environment.get("name") if isinstance(environment, dict) else environment
            self._write(f"checks: environment {environment}: approval granted, exclusive lock taken (stand-in)")
        for number, step in enumerate(self.steps(), 1):
            if not isinstance(step, dict):
                raise RehearsalError(f"job {self.name}: step {number} is not a mapping")
            label = str(step.get("displayName") or next(iter(step)))
            if not _condition(step.get("condition"), self.state):
                self._write(f"step {number} {label}: skipped")
                continue
            budget = (deadline - time.monotonic()) if not self.state["canceled"] else cancel
            if budget <= 0 and not self.state["canceled"]:
                self.state.update(canceled=True, succeeded=False)
                result.failure = f"the job ran past its timeoutInMinutes ({timeout / minute:.0f}) and was cancelled"
                self._write(result.failure)
                deadline = time.monotonic() + cancel
                budget = cancel
                if not _condition(step.get("condition"), self.state):
                    continue
            self._write(f"step {number} {label}: started")
            try:
                code = self._step(step, budget)
            except subprocess.TimeoutExpired:
                code = None
            if code is None:
                self.state.update(canceled=True, succeeded=False)
                result.failure = result.failure or f"{label}: cancelled at the job's timeoutInMinutes"
                deadline = time.monotonic() + cancel
            elif code != 0 and not step.get("continueOnError"):
                self.state.update(succeeded=False, failed=True)
                result.failure = result.failure or f"{label}: exit {code}"
            self._write(f"step {number} {label}: {'exit ' + str(code) if code is not None else 'cancelled'}")
        result.seconds = time.monotonic() - started
        result.result = "Canceled" if self.state["canceled"] else "Failed" if self.state["failed"] else "Succeeded"
        shutil.rmtree(self.workspace, ignore_errors=True)
        return result

    def _write(self, line: str) -> None:
        with self.log.open("a") as log:
            log.write(f"##[rehearsal] {line}\n")

    def _step(self, step: dict[str, Any], budget: float) -> int:
        if "checkout" in step:
            if step["checkout"] == "self":
                shutil.rmtree(self.sources)
                shutil.copytree(self.agent.snapshot, self.sources, symlinks=True)
            elif step["checkout"] != "none":
                raise RehearsalError(f"job {self.name}: checkout {step['checkout']} is not supported")
            return 0
        env = self.env()
        env.update({str(k): expand_macros(str(v), self.variables) for k, v in (step.get("env") or {}).items()})
        if "bash" in step:
            script = self.workspace / "_temp" / "step.sh"
            script.write_text(expand_macros(str(step["bash"]), self.variables))
            return self._exec(["bash", "--noprofile", "--norc", str(script)], self.sources, env, budget)
        task = str(step.get("task", ""))
        inputs = {k: expand_macros(str(v), self.variables) for k, v in (step.get("inputs") or {}).items()}
        if task == "UsePythonVersion@0":
            self._write(f"UsePythonVersion {inputs.get('versionSpec')}: this machine's python3 (stand-in)")
            return 0
        if task == "AWSShellScript@1":
            return self._aws_shell_script(inputs, env, budget)
        if task == "PublishPipelineArtifact@1":
            source = self.sources / inputs.get("targetPath", "")
            if not source.exists():
                self._write(f"Path does not exist: {source}")
                return 1
            target = self.agent.work / "artifacts" / inputs.get("artifact", "drop")
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target) if source.is_dir() else shutil.copy2(source, target)
            return 0
        raise RehearsalError(f"job {self.name}: the rehearsal cannot run the step {task or sorted(step)}")

    def _aws_shell_script(self, inputs: dict[str, str], env: dict[str, str], budget: float) -> int:
        connection = inputs.get("awsCredentials", "")
        if connection not in self.agent.connections:
            self._write(f"service connection {connection!r} was not found")
            return 1
        region = inputs.get("regionName", "")
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=region,
                   AWS_DEFAULT_REGION=region)  # fmt: skip
        if inputs.get("scriptType", "filePath") == "inline":
            script = Path(self.variables["Agent.TempDirectory"]) / f"awsshellscript_{os.getpid()}.sh"
            script.write_text(inputs.get("inlineScript", ""))
        else:
            script = Path(inputs.get("filePath", ""))
        cwd = Path(inputs["workingDirectory"]) if inputs.get("disableAutoCwd") == "true" else self.sources
        # TaskOperations.ts: bash.arg(scriptPath); bash.line(arguments), split as task-lib splits
        arguments = shlex.split(inputs.get("arguments", ""))
        return self._exec(["bash", str(script), *arguments], cwd, env, budget)

    def _exec(self, command: list[str], cwd: Path, env: dict[str, str], budget: float) -> int:
        with self.log.open("ab") as log:
            process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # fmt: skip
            try:
                return process.wait(timeout=max(budget, 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                raise


def _minutes(value: Any, default: int) -> int:
    try:
        return int(str(value)) if value is not None else default
    except ValueError:
        return default


def _order(items: list[dict[str, Any]], key: Callable[[dict[str, Any]], str], default_previous: bool) -> list[Any]:
    """Items in dependency order, each with its dependency names."""
    names = [key(i) for i in items]
    depends: dict[str, list[str]] = {}
    for position, item in enumerate(items):
        if "dependsOn" in item:
            value = item["dependsOn"]
            depends[names[position]] = [value] if isinstance(value, str) else list(value or [])
        else:
            depends[names[position]] = [names[position - 1]] if default_previous and position else []
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and all(d in ordered for d in depends[n])]
        if not ready:
            raise RehearsalError(f"a dependency cycle or unknown dependency among {', '.join(names)}")
        ordered.append(ready[0])
    return [(items[names.index(n)], depends[n]) for n in ordered]


def _run_jobs(
    agent: Agent, stage: StageResult, jobs: list[dict[str, Any]], variables: dict[str, str], log_dir: Path
) -> dict[str, str]:
    """A stage's jobs, each started as soon as its dependencies have finished, up to ``agent.parallel`` at once.

    Azure DevOps starts every job whose dependencies are done when an agent is free; with more than
    one parallel job, jobs that do not depend on each other run at the same time, so the rehearsal
    runs them so too (a pipeline that works only in one order fails here).
    """
    name_of = lambda j: str(j.get("job") or j.get("deployment"))  # noqa: E731
    pending = {name_of(job): (job, depends) for job, depends in _order(jobs, name_of, default_previous=False)}
    results: dict[str, str] = {}
    outcomes: dict[str, JobResult] = {}
    running: dict[Future[JobResult], str] = {}
    with ThreadPoolExecutor(max_workers=agent.parallel) as pool:
        while pending or running:
            started = True
            while started:  # a skipped job can make others ready
                started = False
                for name, (job, depends) in list(pending.items()):
                    if not all(d in results for d in depends):
                        continue
                    del pending[name]
                    state = {
                        "succeeded": all(results[d] == "Succeeded" for d in depends),
                        "failed": any(results[d] in ("Failed", "Canceled") for d in depends),
                        "canceled": False,
                    }
                    if not _condition(job.get("condition"), state):
                        results[name], outcomes[name], started = "Skipped", JobResult(name), True
                        continue
                    log = log_dir / f"{stage.name}.{name}.log"
                    running[pool.submit(_Job(agent, job, stage.name, variables, log).run)] = name
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                outcome = future.result()
                if outcome.failure:
                    log = log_dir / f"{stage.name}.{name}.log"
                    outcome.failure += f" (log: {log.relative_to(ROOT) if log.is_relative_to(ROOT) else log})"
                results[name], outcomes[name] = outcome.result, outcome
    stage.jobs = [outcomes[name_of(job)] for job in jobs if name_of(job) in outcomes]
    return results


def run_pipeline(path: Path, parameters: dict[str, Any], agent: Agent, log_dir: Path) -> Run:
    """Compile ``path`` with ``parameters`` and run it on ``agent``; the results, stage by stage."""
    expanded = expand(path, parameters)
    agent.build_id += 1
    label = f"{path.name} ({', '.join(f'{k}={v}' for k, v in parameters.items())})"
    run = Run(label)
    root = _variables(expanded.body.get("variables"), agent)
    results: dict[str, str] = {}
    for stage, depends in _order(expanded.stages(), lambda s: str(s.get("stage")), default_previous=True):
        stage_result = StageResult(str(stage.get("stage")))
        run.stages.append(stage_result)
        state = {
            "succeeded": all(results.get(d) == "Succeeded" for d in depends),
            "failed": any(results.get(d) == "Failed" for d in depends),
            "canceled": False,
        }
        if not _condition(stage.get("condition"), state):
            results[stage_result.name] = "Skipped"
            continue
        variables = {**root, **_variables(stage.get("variables"), agent)}
        job_results = _run_jobs(agent, stage_result, stage.get("jobs") or [], variables, log_dir)
        failed = any(r in ("Failed", "Canceled") for r in job_results.values())
        stage_result.result = "Failed" if failed else "Succeeded"
        results[stage_result.name] = stage_result.result
    return run


# --- the emulator ------------------------------------------------------------------------


@contextmanager
def emulator(image_context: Path, log: Path) -> Iterator[str]:
    """A fresh emulator playing a new account, whose tasks run ``image_context``; its endpoint."""
    if not EMULATOR_PYTHON.exists():
        raise RehearsalError(f"{EMULATOR_PYTHON.relative_to(ROOT)} is missing: run `make emulator-venv`")
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(EMULATOR_PYTHON), "-m", "llmgw_emulator.server", "--port", str(port)],
            cwd=ROOT / "emulator", stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "LLMGW_ACCOUNT": "new", "LLMGW_IMAGE_CONTEXTS": str(image_context),
                 "LLMGW_LISTENER_PORTS": ""},
        )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_answering(endpoint, process):
            raise RehearsalError(f"the emulator did not start; see {log}")
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _client(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")  # fmt: skip


def stack_states(endpoint: str, env: str) -> dict[str, str]:
    """``{stack: status}`` for the environment's five stacks; ``-`` for one that does not exist."""
    client = _client(endpoint, "cloudformation")
    states = {}
    for stack in STACKS:
        try:
            (found,) = client.describe_stacks(StackName=f"litellm-{env}-{stack}")["Stacks"]
            states[stack] = str(found["StackStatus"])
        except client.exceptions.ClientError:
            states[stack] = "-"
    return states


def service_tasks(endpoint: str, env: str) -> str:
    """The gateway service's running and desired task counts, from the litellm stack's outputs."""
    try:
        (stack,) = _client(endpoint, "cloudformation").describe_stacks(StackName=f"litellm-{env}-litellm")["Stacks"]
    except Exception:  # no litellm stack
        return "no service"
    found = outputs_of(stack)
    ecs = _client(endpoint, "ecs")
    (service,) = ecs.describe_services(cluster=found["ClusterName"], services=[found["ServiceName"]])["services"]
    return f"{service['runningCount']} of {service['desiredCount']} tasks running"


# --- the scenarios -----------------------------------------------------------------------

EXISTS = "CREATE_COMPLETE|UPDATE_COMPLETE"
GONE = "-"


@dataclass
class Step:
    """One pipeline run of a scenario, the result it must have, and the stack states after it."""

    pipeline: str
    parameters: dict[str, Any]
    result: str = "Succeeded"
    stacks: dict[str, str] = field(default_factory=dict)  # env/stack -> regex of the wanted status
    before: Callable[[Agent], None] | None = None


@dataclass
class Scenario:
    name: str
    summary: str
    steps: list[Step]
    fresh: bool = False  # starts from an empty emulator
    after: str | None = None  # the scenario whose end state this one starts from


def _all(env: str, pattern: str) -> dict[str, str]:
    return {f"{env}/{s}": pattern for s in STACKS}


def _change_config(agent: Agent) -> None:
    config = agent.snapshot / "image" / "config.yaml"
    config.write_text(config.read_text() + "\n# rehearsal: a config change, which gives the image a new tag\n")


def _hosted_zone(agent: Agent) -> None:
    route53 = _client(agent.endpoint, "route53")
    zone = route53.create_hosted_zone(Name="rehearsal.test.", CallerReference=str(time.time()))
    agent.groups["litellm-prod"]["HOSTED_ZONE_ID"] = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]


def _teardown_stacks(env: str, gone: tuple[str, ...]) -> dict[str, str]:
    return {f"{env}/{s}": GONE if s in gone else EXISTS for s in STACKS}


SCENARIOS = [
    Scenario(
        "dev-stack-by-stack",
        "the five stack pipelines, in the README's order, into an empty account",
        [
            Step("azure-pipelines-security.yml", {"environment": "dev"}, stacks={"dev/security": EXISTS}),
            Step("azure-pipelines-network.yml", {"environment": "dev"}, stacks={"dev/network": EXISTS}),
            Step("azure-pipelines-alb.yml", {"environment": "dev"}, stacks={"dev/alb": EXISTS}),
            Step("azure-pipelines-database.yml", {"environment": "dev"}, stacks={"dev/database": EXISTS}),
            Step("azure-pipelines-litellm.yml", {"environment": "dev"}, stacks=_all("dev", EXISTS)),
        ],
        fresh=True,
    ),
    Scenario(
        "dev-config-change",
        "litellm-config after a change to image/config.yaml: a new image, a rolling deploy, a smoke test",
        [
            Step(
                "azure-pipelines-litellm-config.yml",
                {"environment": "dev"},
                stacks=_all("dev", EXISTS),
                before=_change_config,
            )
        ],
        after="dev-stack-by-stack",
    ),
    Scenario(
        "dev-update",
        "litellm-update: a forced redeployment, then a smoke test",
        [Step("azure-pipelines-litellm-update.yml", {"environment": "dev"}, stacks=_all("dev", EXISTS))],
        after="dev-config-change",
    ),
    Scenario(
        "dev-validate",
        "validate, against the local ALB and the tasks behind it",
        [Step("azure-pipelines-validate.yml", {"environment": "dev", "requests": 50}, stacks=_all("dev", EXISTS))],
        after="dev-update",
    ),
    Scenario(
        "dev-teardown-one-stack",
        "teardown-alb: the alb stack and litellm, which depends on it; the rest stays",
        [
            Step(
                "azure-pipelines-teardown-alb.yml",
                {"environment": "dev"},
                stacks=_teardown_stacks("dev", ("litellm", "alb")),
            )
        ],
        after="dev-validate",
    ),
    Scenario(
        "dev-teardown",
        "the full teardown of dev",
        [Step("azure-pipelines-teardown.yml", {"environment": "dev"}, stacks=_all("dev", GONE))],
        after="dev-teardown-one-stack",
    ),
    Scenario(
        "litellm-alone",
        "the litellm pipeline alone, into an empty account: it creates every stack it needs",
        [Step("azure-pipelines-litellm.yml", {"environment": "dev"}, stacks=_all("dev", EXISTS))],
        fresh=True,
    ),
    Scenario(
        "prod",
        "a prod deploy (the litellm pipeline), a teardown refused without confirmProdTeardown, then one with it",
        [
            Step(
                "azure-pipelines-litellm.yml", {"environment": "prod"}, stacks=_all("prod", EXISTS), before=_hosted_zone
            ),
            Step("azure-pipelines-teardown.yml", {"environment": "prod"}, result="Failed", stacks=_all("prod", EXISTS)),
            Step(
                "azure-pipelines-teardown.yml",
                {"environment": "prod", "confirmProdTeardown": True},
                stacks=_all("prod", GONE),
            ),
        ],
        fresh=True,
    ),
]


def _snapshot(target: Path) -> Path:
    """The revision under test: the working tree's tracked and unignored files, with .venv linked."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if name.split("/")[0].startswith(".venv"):
            continue  # an environment linked into a worktree; the jobs get the repository's own
        source, destination = ROOT / name, target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():  # git checks a link out as a link (lambdas/db_rotation/rds-ca)
            destination.symlink_to(os.readlink(source))
        elif source.is_file():
            shutil.copy2(source, destination)
    (target / ".venv").symlink_to(ROOT / ".venv")
    args = target / "image" / "build-args"
    if "LITELLM_IMAGE_DIGEST=\n" in args.read_text():  # a committed digest is rehearsed as it is
        args.write_text(
            args.read_text().replace("LITELLM_IMAGE_DIGEST=\n", f"LITELLM_IMAGE_DIGEST={STAND_IN_DIGEST}\n")
        )
    return target


def _groups() -> dict[str, dict[str, str]]:
    common = {"OPENAI_API_KEY": PROVIDER_KEY, "ANTHROPIC_API_KEY": "", "AWS_BEDROCK_REGION": "", "ALARM_EMAIL": "",
              "CLOUDTRAIL_LOG_GROUP": "", "OPERATOR_ROLE_ARNS": ""}  # fmt: skip
    # dev's CLIENT_CIDR and prod's ADMIN_UI_CIDR: the rehearsal's clients (the agent's smoke test
    # among them) are on loopback.
    return {
        "litellm-dev": {**common, "CLIENT_CIDR": LOCAL_CLIENT_CIDR},
        "litellm-prod": {**common, "DOMAIN_NAME": DOMAIN, "HOSTED_ZONE_ID": "", "ADMIN_UI_CIDR": LOCAL_CLIENT_CIDR},
    }


def _check(step: Step, run: Run, endpoint: str) -> list[str]:
    problems = []
    if run.result != step.result:
        failures = [f"{j.name}: {j.failure}" for s in run.stages for j in s.jobs if j.failure]
        problems.append(f"{run.label} {run.result}, expected {step.result}" + (f" ({failures[0]})" if failures else ""))
    for env in {k.split("/")[0] for k in step.stacks}:
        states = stack_states(endpoint, env)
        for stack, pattern in step.stacks.items():
            if stack.startswith(f"{env}/") and not re.fullmatch(pattern, states[stack.split("/")[1]]):
                problems.append(f"after {run.label}: {stack} is {states[stack.split('/')[1]]}, expected {pattern}")
    return problems


def _print_run(run: Run, endpoint: str, step: Step) -> None:
    print(f"  {run.label}: {run.result}")
    for stage in run.stages:
        jobs = ", ".join(f"{j.name} {j.result}" + (f" {j.seconds:.0f}s" if j.result != "Skipped" else "")
                         for j in stage.jobs)  # fmt: skip
        print(f"    stage {stage.name}: {stage.result} [{jobs}]")
    for env in sorted({k.split("/")[0] for k in step.stacks}):
        states = stack_states(endpoint, env)
        listed = ", ".join(f"{s} {states[s]}" for s in STACKS)
        print(f"    {env} stacks: {listed}; {service_tasks(endpoint, env)}")


def _selected(names: list[str]) -> list[Scenario]:
    by_name = {s.name: s for s in SCENARIOS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise RehearsalError(f"no scenario {', '.join(unknown)}; the scenarios are {', '.join(by_name)}")
    wanted: set[str] = set()
    for name in names or list(by_name):
        while name:
            wanted.add(name)
            name = by_name[name].after or ""
    return [s for s in SCENARIOS if s.name in wanted]


def rehearse(names: list[str]) -> int:
    scenarios = _selected(names)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    for line in STAND_INS:
        print(line)
    problems: list[str] = []
    started = time.monotonic()
    runs = 0
    chains: list[list[Scenario]] = []
    for scenario in scenarios:
        if scenario.fresh or not chains:
            chains.append([scenario])
        else:
            chains[-1].append(scenario)
    for number, chain in enumerate(chains, 1):
        home = WORK / f"emulator-{number}"
        home.mkdir()
        snapshot = _snapshot(home / "snapshot")
        with emulator(snapshot / "image", home / "emulator.log") as endpoint:
            ca_bundle = home / "rds-ca.pem"
            with urllib.request.urlopen(f"{endpoint}/moto-api/llmgw/rds-ca-bundle.pem", timeout=10) as response:
                ca_bundle.write_bytes(response.read())
            agent = Agent(snapshot, home, endpoint, ca_bundle, _groups(), {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"},
                          {"aws-litellm-dev", "aws-litellm-prod", "aws-litellm-taskcat"})  # fmt: skip
            for scenario in chain:
                print(f"scenario {scenario.name}: {scenario.summary}")
                for step in scenario.steps:
                    if step.before:
                        step.before(agent)
                    log_dir = home / f"{agent.build_id + 1:02d}-{step.pipeline.removesuffix('.yml')}"
                    log_dir.mkdir()
                    run = run_pipeline(PIPELINES / step.pipeline, step.parameters, agent, log_dir)
                    runs += 1
                    _print_run(run, endpoint, step)
                    found = _check(step, run, endpoint)
                    problems += [f"{scenario.name}: {p}" for p in found]
                    if found:
                        break
    elapsed = time.monotonic() - started
    plural = "s" if len(scenarios) != 1 else ""
    print(f"rehearse-pipelines: {len(scenarios)} scenario{plural}, {runs} pipeline runs, {elapsed:.0f} s, "
          f"{len(problems)} problems")  # fmt: skip
    for problem in problems:
        print(f"rehearse-pipelines: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    args = parser.parse_args(argv)
    if args.list:
        for scenario in SCENARIOS:
            print(f"{scenario.name:24} {scenario.summary}")
        return 0
    try:
        return rehearse(args.scenarios)
    except (RehearsalError, ExpansionError) as err:
        print(f"rehearse-pipelines: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
