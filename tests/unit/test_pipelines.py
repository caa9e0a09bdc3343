"""The Azure DevOps pipelines: every file the guide lists, Sceptre's commands, and offline checks that can fail."""

from __future__ import annotations

import pytest
import yaml

from llmgw.stacks import STACKS
from tests.support import edit
from tools.pipeline_expand import ExpansionError, expand
from tools.pipeline_lint import lint_references, load
from tools.render import ROOT

PIPELINES = ROOT / "azure-devops"
GUIDE_FILES = [
    *(f"azure-pipelines-{stack}.yml" for stack in STACKS),
    "azure-pipelines-litellm-config.yml",
    "azure-pipelines-litellm-update.yml",
    "azure-pipelines-teardown.yml",
    *(f"azure-pipelines-teardown-{stack}.yml" for stack in ("litellm", "database", "alb", "network", "security")),
    "azure-pipelines-validate.yml",
    "templates/aws-cfn-deploy.yml",
    "templates/aws-ecr-build.yml",
    "templates/check-prerequisites.yml",
]


@pytest.fixture(scope="module")
def sceptre_graph() -> dict[str, set[str]]:
    """Each prod stack's direct dependencies, as Sceptre reads config/prod (stack_output ones included)."""
    from tools.render import _plan

    variables = {"domain_name": "llm.example.com", "hosted_zone_id": "Z1"}
    stacks, _ = _plan("prod", variables, examples=True).config_reader.construct_stacks()
    name = lambda d: (d if isinstance(d, str) else d.name).split("/")[1]  # noqa: E731
    return {s.name.split("/")[1]: {name(d) for d in s.dependencies} for s in stacks if s.name.startswith("prod/")}


@pytest.fixture(scope="module")
def sceptre_dependencies(sceptre_graph) -> dict[str, list[str]]:
    """Each stack's dependency closure, in launch order."""
    order = STACKS

    def closure(name: str) -> set[str]:
        direct = sceptre_graph[name]
        return direct.union(*(closure(d) for d in direct)) if direct else set()

    return {name: [s for s in order if s in closure(name)] for name in order}


def test_pipelines__every_file_the_guide_lists_exists_and_a_ci_pipeline():
    for name in [*GUIDE_FILES, "azure-pipelines-ci.yml"]:
        assert (PIPELINES / name).is_file(), name


def test_pipelines__as_committed__pass_every_check_but_the_schemas():
    assert lint_references(PIPELINES) == []


@pytest.mark.parametrize("path", sorted(PIPELINES.glob("azure-pipelines-*.yml")), ids=lambda p: p.name)
def test_pipeline__takes_the_environment_as_a_dev_or_prod_parameter(path):
    if path.name in ("azure-pipelines-ci.yml", "azure-pipelines-taskcat.yml"):
        pytest.skip("deploys no Sceptre environment")
    (environment,) = [p for p in load(path)["parameters"] if p["name"] == "environment"]
    assert (environment["type"], environment["values"]) == ("string", ["dev", "prod"])


def compiled(name: str, **values) -> dict:
    return expand(PIPELINES / name, values).body


def jobs_of(body: dict) -> dict[str, dict]:
    return {j.get("job") or j.get("deployment"): j for stage in body["stages"] for j in stage["jobs"]}


def aws_steps(job: dict) -> list[dict]:
    steps = job["strategy"]["runOnce"]["deploy"]["steps"] if "deployment" in job else job["steps"]
    return [s for s in steps if s.get("task") == "AWSShellScript@1"]


def test_taskcat_pipeline__runs_the_tests_taskcat_yml_names_and_always_cleans_up_its_own_run():
    pipeline = load(PIPELINES / "azure-pipelines-taskcat.yml")
    parameters = {p["name"]: p for p in pipeline["parameters"]}
    taskcat = yaml.safe_load((ROOT / ".taskcat.yml").read_text())
    assert set(parameters["tests"]["values"]) == {*taskcat["tests"], "all"}
    # a queued run cannot point its create-and-delete at another account
    assert parameters["awsServiceConnection"]["values"] == ["aws-litellm-taskcat"]
    body = compiled("azure-pipelines-taskcat.yml")
    run, gateway, clean = body["jobs"]
    assert "--no-delete" in aws_steps(run)[0]["inputs"]["inlineScript"]
    # between the create and the clean-up, the run's gateway is started and smoke-tested
    assert gateway["dependsOn"] == ["taskcat"]
    assert "python -m tools.taskcat_gateway start" in aws_steps(gateway)[0]["inputs"]["inlineScript"]
    assert (clean["dependsOn"], clean["condition"]) == (["taskcat", "gateway"], "always()")
    assert int(clean["cancelTimeoutInMinutes"]) == 15
    script = aws_steps(clean)[0]["inputs"]["inlineScript"]
    assert 'taskcat test clean "$TASKCAT_PROJECT_NAME"' in script
    assert 'python -m tools.taskcat_gateway clean "$TASKCAT_PROJECT_NAME"' in script
    variables = {v["name"]: v["value"] for v in body["variables"] if "name" in v}
    assert variables["TASKCAT_PROJECT_NAME"] == f"{taskcat['project']['name']}-$(Build.BuildId)"


def test_stack_pipeline__launches_every_dependency_first_in_sceptres_batches_one_job_each(
    sceptre_dependencies, sceptre_graph
):
    for stack, closure in sceptre_dependencies.items():
        jobs = jobs_of(compiled(f"azure-pipelines-{stack}.yml", environment="prod"))
        launches = [name.removeprefix("launch_") for name in jobs if name.startswith("launch_")]
        assert launches == [*closure, stack], stack
        for launched in launches:
            # each waits for exactly its Sceptre dependencies (and the pre-flight, and litellm the image)
            waits = {d.removeprefix("launch_") for d in jobs[f"launch_{launched}"]["dependsOn"]} - {"preflight"}
            assert waits - {"image"} == sceptre_graph[launched], (stack, launched)


def test_litellm_pipeline__builds_the_image_only_once_the_security_stack_holds_its_repository():
    jobs = jobs_of(compiled("azure-pipelines-litellm.yml", environment="dev"))

    assert jobs["image"]["dependsOn"] == ["launch_security"]
    assert "image" in jobs["launch_litellm"]["dependsOn"]
    assert jobs["smoke"]["dependsOn"] == ["launch_litellm"]


def test_teardown__deletes_dependants_first_and_unprotects_only_the_stack_each_job_deletes(sceptre_dependencies):
    dependants = {s: [d for d, deps in sceptre_dependencies.items() if s in deps] for s in sceptre_dependencies}
    for stack in [*sceptre_dependencies, None]:
        name = f"azure-pipelines-teardown-{stack}.yml" if stack else "azure-pipelines-teardown.yml"
        jobs = jobs_of(compiled(name, environment="prod", confirmProdTeardown=True))
        deleted = {j.removeprefix("delete_") for j in jobs}
        assert deleted == ({stack, *dependants[stack]} if stack else set(sceptre_dependencies)), name
        for target in deleted:
            job = jobs[f"delete_{target}"]
            assert set(job["dependsOn"]) == {f"delete_{d}" for d in set(dependants[target]) & deleted}, (name, target)
            unprotect, delete, protect = (s["inputs"]["arguments"] for s in aws_steps(job))
            assert unprotect == f"ops unprotect prod/{target}.yaml"
            assert delete == f"sceptre delete -y prod/{target}.yaml"
            assert protect == f"ops protect prod/{target}.yaml"
            assert aws_steps(job)[2]["condition"] == "or(failed(), canceled())"
            assert int(job["cancelTimeoutInMinutes"]) > 5


def test_prod_teardown__without_the_explicit_parameter__compiles_to_a_refusal_only():
    jobs = jobs_of(compiled("azure-pipelines-teardown.yml", environment="prod"))

    assert list(jobs) == ["refuse"]
    assert "exit 1" in jobs["refuse"]["steps"][1]["bash"]


def test_secrets__reach_steps_only_mapped_by_name_into_env():
    for path in PIPELINES.rglob("*.yml"):
        text = path.read_text()
        for secret in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DOMAIN_NAME", "HOSTED_ZONE_ID", "ALARM_EMAIL"):
            for line in text.splitlines():
                if f"$({secret})" in line:
                    assert line.strip() == f"{secret}: $({secret})", f"{path.name}: {line.strip()}"
        assert "echo $(" not in text and "set -x" not in text, path.name


def test_provider_keys__are_mapped_only_into_the_security_stacks_launch():
    for path in sorted(PIPELINES.glob("azure-pipelines-*.yml")):
        for values in ({"environment": "dev"}, {"environment": "prod"}) if "environment" in path.read_text() else ({},):
            try:
                body = compiled(path.name, **values)
            except ExpansionError:
                continue
            for name, job in jobs_of(body).items() if "stages" in body else []:
                for step in aws_steps(job):
                    if "OPENAI_API_KEY" in (step.get("env") or {}):
                        assert step["inputs"]["arguments"].endswith("/security.yaml"), (path.name, name)


def test_lint__missing_template__fails_naming_it(pipelines_copy):
    (pipelines_copy / "templates" / "aws-ecr-build.yml").unlink()

    problems = lint_references(pipelines_copy)

    assert any("template templates/aws-ecr-build.yml does not exist" in p for p in problems), problems


def test_lint__parameter_the_template_does_not_declare__fails(pipelines_copy):
    edit(
        pipelines_copy / "azure-pipelines-validate.yml",
        "          requests: ${{ parameters.requests }}",
        "          requestz: ${{ parameters.requests }}",
    )

    assert any("declares no parameter requestz" in p for p in lint_references(pipelines_copy))


def test_lint__required_parameter_not_passed__fails(pipelines_copy):
    edit(
        pipelines_copy / "azure-pipelines-litellm-config.yml",
        "          stack: litellm\n          dependsOn: [image]\n",
        "          dependsOn: [image]\n",
    )

    assert any("aws-cfn-deploy.yml needs parameter stack" in p for p in lint_references(pipelines_copy))


def test_lint__unknown_stack_or_make_target__fails(pipelines_copy):
    edit(pipelines_copy / "templates" / "setup-tools.yml", "bash: make venv", "bash: make venvv")
    edit(
        pipelines_copy / "azure-pipelines-litellm-update.yml",
        "command: ops redeploy ${{ parameters.environment }}",
        "command: ops prerequisites dev/gateway.yaml",
    )

    problems = lint_references(pipelines_copy)

    assert any("make target venvv does not exist" in p for p in problems), problems
    assert any("stack config/dev/gateway.yaml does not exist" in p for p in problems), problems
    assert any("names dev/gateway.yaml, which config/ lacks" in p for p in problems), problems
