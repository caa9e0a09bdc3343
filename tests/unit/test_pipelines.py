"""The Azure DevOps pipelines: every file the guide lists, Sceptre's commands, and offline checks that can fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tools.pipeline_lint import lint, load
from tools.render import ROOT

PIPELINES = ROOT / "azure-devops"
GUIDE_FILES = [
    *(f"azure-pipelines-{stack}.yml" for stack in ("security", "network", "alb", "database", "litellm")),
    "azure-pipelines-litellm-config.yml",
    "azure-pipelines-litellm-update.yml",
    "azure-pipelines-teardown.yml",
    *(f"azure-pipelines-teardown-{stack}.yml" for stack in ("litellm", "database", "alb", "network", "security")),
    "azure-pipelines-validate.yml",
    "templates/aws-cfn-deploy.yml",
    "templates/aws-ecr-build.yml",
    "templates/check-prerequisites.yml",
]


@pytest.fixture
def copy(tmp_path) -> Path:
    target = tmp_path / "azure-devops"
    shutil.copytree(PIPELINES, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_pipelines__every_file_the_guide_lists_exists_and_a_ci_pipeline():
    for name in [*GUIDE_FILES, "azure-pipelines-ci.yml"]:
        assert (PIPELINES / name).is_file(), name


def test_pipelines__as_committed__pass_every_check():
    assert lint(PIPELINES) == []


@pytest.mark.parametrize("path", sorted(PIPELINES.glob("azure-pipelines-*.yml")), ids=lambda p: p.name)
def test_pipeline__takes_the_environment_as_a_dev_or_prod_parameter(path):
    if path.name in ("azure-pipelines-ci.yml", "azure-pipelines-taskcat.yml"):
        pytest.skip("deploys no Sceptre environment")
    (environment,) = [p for p in load(path)["parameters"] if p["name"] == "environment"]
    assert (environment["type"], environment["values"]) == ("string", ["dev", "prod"])


def test_taskcat_pipeline__runs_the_tests_taskcat_yml_names_and_always_cleans_up():
    pipeline = load(PIPELINES / "azure-pipelines-taskcat.yml")
    (tests,) = [p for p in pipeline["parameters"] if p["name"] == "tests"]
    taskcat = yaml.safe_load((ROOT / ".taskcat.yml").read_text())
    assert set(tests["values"]) == {*taskcat["tests"], "all"}
    steps = pipeline["jobs"][0]["steps"]
    clean = [s for s in steps if "taskcat test clean" in s.get("inputs", {}).get("inlineScript", "")]
    publish = [s for s in steps if s.get("task", "").startswith("PublishPipelineArtifact")]
    assert [s["condition"] for s in clean + publish] == ["always()", "always()"]
    assert f"taskcat test clean {taskcat['project']['name']} " in clean[0]["inputs"]["inlineScript"]


def test_deploying_templates__run_sceptre_in_deployment_jobs_gated_by_the_environment():
    for name in ("aws-cfn-deploy.yml", "aws-cfn-delete.yml"):
        text = (PIPELINES / "templates" / name).read_text()
        assert "deployment:" in text and "environment: litellm-${{ parameters.environment }}" in text
    assert (
        "sceptre $(sceptreVars) launch -y ${{ parameters.environment }}/${{ parameters.stack }}.yaml"
        in (PIPELINES / "templates" / "aws-cfn-deploy.yml").read_text()
    )


def test_secrets__are_mapped_into_env_explicitly_and_never_echoed():
    for path in PIPELINES.rglob("*.yml"):
        text = path.read_text()
        for secret in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
            for line in text.splitlines():
                if f"$({secret})" in line:
                    assert line.strip() == f"{secret}: $({secret})", f"{path.name}: {line.strip()}"
        assert "echo $(" not in text and "set -x" not in text, path.name


def test_prod_teardown__is_refused_without_the_explicit_parameter():
    text = (PIPELINES / "templates" / "aws-cfn-delete.yml").read_text()
    assert "${{ if and(eq(parameters.environment, 'prod'), ne(parameters.confirmProdTeardown, true)) }}:" in text
    assert "exit 1" in text


def test_lint__misspelled_key__fails_naming_the_file(copy):
    edit(copy / "templates" / "aws-ecr-build.yml", "displayName: docker build", "dispalyName: docker build")

    problems = lint(copy)

    assert any("aws-ecr-build.yml" in p for p in problems), problems


def test_lint__misspelled_task_input__fails(copy):
    edit(copy / "templates" / "check-prerequisites.yml", "inlineScript: |", "inlineScrpit: |")

    assert any("check-prerequisites.yml" in p for p in lint(copy))


def test_lint__missing_template__fails_naming_it(copy):
    (copy / "templates" / "aws-ecr-build.yml").unlink()

    problems = lint(copy)

    assert any("template templates/aws-ecr-build.yml does not exist" in p for p in problems), problems


def test_lint__parameter_the_template_does_not_declare__fails(copy):
    edit(
        copy / "azure-pipelines-validate.yml",
        "      requests: ${{ parameters.requests }}",
        "      requestz: ${{ parameters.requests }}",
    )

    assert any("declares no parameter requestz" in p for p in lint(copy))


def test_lint__required_parameter_not_passed__fails(copy):
    edit(copy / "azure-pipelines-litellm-config.yml", "      stack: litellm\n", "")

    assert any("aws-cfn-deploy.yml needs parameter stack" in p for p in lint(copy))


def test_lint__unknown_stack_or_make_target__fails(copy):
    edit(copy / "templates" / "setup-tools.yml", "bash: make venv", "bash: make venvv")
    edit(
        copy / "azure-pipelines-litellm-update.yml",
        "redeploy ${{ parameters.environment }}",
        "redeploy dev/gateway.yaml",
    )

    problems = lint(copy)

    assert any("make target venvv does not exist" in p for p in problems), problems
    assert any("stack config/dev/gateway.yaml does not exist" in p for p in problems), problems
