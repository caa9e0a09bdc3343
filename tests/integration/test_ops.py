"""tools.ops against the local AWS emulator: prerequisites, push-image, redeploy and smoke, as the
pipelines run them. Tests run in file order on one emulator: empty account, dev launched, then a
failed dependency. (unprotect and protect: tests/integration/test_local_prod.py.)"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tools import ops
from tools.render import ROOT


def run_ops(emulator: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.ops", *args], cwd=ROOT, env=emulator.env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip


def test_prerequisites__on_an_empty_account__reports_what_the_launch_creates_first(emulator):
    result = run_ops(emulator, "prerequisites", "dev/litellm.yaml", "--wait")

    assert result.returncode == 0, result.stderr
    for stack in ("security", "network", "alb", "database"):
        assert f"dev/{stack} does not exist yet; it is launched before dev/litellm.yaml" in result.stdout
    assert result.stdout.strip().endswith("prerequisites: dev/litellm.yaml can launch")


def test_push_image__before_the_security_stack_holds_the_repository__fails_in_one_line(emulator):
    # (with the security stack alone, it builds: tests/integration/test_pipelines_rehearsal.py, litellm-alone)
    result = run_ops(emulator, "push-image", "dev")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "ops: dev/security does not exist yet: the image's repository is its; launch it first"
    ), result.stderr


@pytest.fixture(scope="module")
def dev(emulator):
    launched = emulator.sceptre("launch", "-y", "dev")
    assert launched.returncode == 0, launched.stdout[-2000:] + launched.stderr[-2000:]
    return emulator.outputs("litellm-dev-litellm")


def test_prerequisites__healthy_dependencies__can_launch(emulator, dev):
    result = run_ops(emulator, "prerequisites", "dev/litellm.yaml")

    assert result.returncode == 0, result.stderr
    for stack in ("security", "network", "alb", "database"):
        assert f"prerequisites: dev/{stack} is CREATE_COMPLETE" in result.stdout


def test_push_image__resolves_the_litellm_stacks_repository_and_content_tag(emulator, dev):
    security = emulator.outputs("litellm-dev-security")
    (definition,) = emulator.client("ecs").describe_task_definition(taskDefinition=dev["TaskDefinitionArn"])[
        "taskDefinition"
    ]["containerDefinitions"][:1]

    result = run_ops(emulator, "push-image", "dev")

    assert result.returncode == 0, result.stderr
    # the emulator has no registry to push to: it says so, naming the image it would push
    assert definition["image"] == f"{security['RepositoryUri']}:{definition['image'].rsplit(':', 1)[1]}"
    assert f"{definition['image']} was not built" in result.stdout + result.stderr


def running_tasks(emulator: Any, outputs: dict[str, str]) -> set[str]:
    ecs = emulator.client("ecs")
    arns = ecs.list_tasks(cluster=outputs["ClusterName"], serviceName=outputs["ServiceName"])["taskArns"]
    tasks = ecs.describe_tasks(cluster=outputs["ClusterName"], tasks=arns)["tasks"] if arns else []
    return {t["taskArn"] for t in tasks if t["lastStatus"] == "RUNNING"}


def test_redeploy__replaces_every_task_and_returns_once_the_service_is_stable(emulator, dev, monkeypatch, capsys):
    before = running_tasks(emulator, dev)
    for name, value in emulator.env.items():
        monkeypatch.setenv(name, value)

    ops.redeploy("dev", {}, poll=1)

    after = running_tasks(emulator, dev)
    assert before and after and not before & after, (before, after)
    (service,) = emulator.client("ecs").describe_services(cluster=dev["ClusterName"], services=[dev["ServiceName"]])[
        "services"
    ]
    assert [d["status"] for d in service["deployments"]] == ["PRIMARY"]
    assert f"redeploy: {dev['ClusterName']}/{dev['ServiceName']} is stable" in capsys.readouterr().out


def test_smoke__through_the_local_alb__passes_health_models_a_completion_and_the_401(emulator, dev):
    result = run_ops(emulator, "smoke", "dev", "--requests", "20", "--concurrency", "2")

    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("smoke: health: 200", "smoke: model list: 200", "smoke: completion: 200", "smoke: no key: 401"):
        assert line in result.stdout
    assert "load: 20 requests, 2 at a time" in result.stdout


def test_smoke__a_model_the_gateway_does_not_serve__fails_naming_the_check(emulator, dev):
    result = run_ops(emulator, "smoke", "dev", "--model", "no-such-model", "--requests", "1")

    assert result.returncode == 1
    assert result.stderr.strip().startswith("ops: smoke: completion answered 4"), result.stderr


def test_prerequisites__a_failed_dependency__stops_the_launch_naming_it(emulator, dev):
    # Runs last: dev is gone, and its network stack is left failed, as a broken first create leaves it.
    deleted = emulator.sceptre("delete", "-y", "dev")
    assert deleted.returncode == 0, deleted.stdout[-2000:] + deleted.stderr[-2000:]
    cloudformation = emulator.client("cloudformation")
    cloudformation.create_stack(
        StackName="litellm-dev-network",
        TemplateBody='{"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"NoSuchProperty": "x"}}}}',
    )
    assert emulator.wait_for_stack("litellm-dev-network")["StackStatus"] == "ROLLBACK_COMPLETE"

    result = run_ops(emulator, "prerequisites", "dev/alb.yaml")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "ops: dev/network is ROLLBACK_COMPLETE; fix or delete it before launching dev/alb.yaml"
    )
