"""The litellm stack's migration function (lambdas/db_migration), request by request, with stubbed AWS calls.

The rehearsal runs it end to end (tests/integration/test_litellm_service.py); these
cover what a rehearsal does not reach: a migration longer than one invocation, a
task that never started, and a function that fails without leaving CloudFormation
waiting out its hour.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tools.render import ROOT

sys.path.insert(0, str(ROOT / "lambdas" / "common"))
_SPEC = importlib.util.spec_from_file_location("db_migration_handler", ROOT / "lambdas/db_migration/handler.py")
handler = importlib.util.module_from_spec(_SPEC)  # type: ignore[arg-type]
_SPEC.loader.exec_module(handler)  # type: ignore[union-attr]

STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/litellm-dev-litellm/abc"
TASK = "arn:aws:ecs:us-east-1:123456789012:task/dev-litellm/0123456789abcdef"
PROPERTIES = {
    "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:dev-litellm-db-migration",
    "Cluster": "dev-litellm",
    "TaskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/dev-litellm-migrate:7",
    "Subnets": ["subnet-1", "subnet-2"],
    "SecurityGroups": ["sg-1"],
    "LogGroup": "/ecs/dev-litellm-proxy",
    "LogStreamPrefix": "migrate",
    "AllowOlderImage": "false",
    "Skip": "false",
}
OLDER = "arn:aws:ecs:us-east-1:123456789012:task-definition/dev-litellm-migrate:6"


class Context:
    invoked_function_arn = PROPERTIES["ServiceToken"]

    def __init__(self, remaining: list[int]):
        self.remaining = remaining

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


@pytest.fixture
def aws(monkeypatch):
    """Stubbed clients by service, and the responses the function sent to CloudFormation."""
    clients = {
        name: boto3.client(name, region_name="us-east-1") for name in ("ecs", "logs", "cloudformation", "lambda")
    }
    stubs = {name: Stubber(client) for name, client in clients.items()}
    for stub in stubs.values():
        stub.activate()
    monkeypatch.setattr(handler.aws_clients, "client", lambda name: clients[name])
    monkeypatch.setattr(handler.time, "sleep", lambda _: None)
    monkeypatch.setattr(handler, "MISSING_SECONDS", -1)
    sent: list[dict[str, Any]] = []

    class Answer:
        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

        def read(self):
            return b""

    def urlopen(request, timeout):
        assert request.get_method() == "PUT" and request.full_url == "https://cfn-response.example/signed"
        sent.append(json.loads(request.data))
        return Answer()

    monkeypatch.setattr(handler.urllib.request, "urlopen", urlopen)
    yield stubs, sent
    for stub in stubs.values():
        stub.assert_no_pending_responses()


def event(request_type: str = "Create", **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cfn-response.example/signed",
        "StackId": STACK,
        "RequestId": "req-1",
        "LogicalResourceId": "Migration",
        "ResourceType": "Custom::DatabaseMigration",
        "ResourceProperties": dict(PROPERTIES),
        **extra,
    }


def _run_task(stubs, allow_older: str = "false") -> None:
    stubs["ecs"].add_response(
        "run_task", {"tasks": [{"taskArn": TASK}], "failures": []}, {
            "cluster": "dev-litellm", "taskDefinition": PROPERTIES["TaskDefinition"], "count": 1,
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1", "subnet-2"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}},
            "overrides": {"containerOverrides": [
                {"name": "migrate", "environment": [{"name": "ALLOW_OLDER_IMAGE", "value": allow_older}]}]},
            "startedBy": "cloudformation-migration",
            # A repeated delivery of the same request starts no second task.
            "clientToken": "req-1",
        },
    )  # fmt: skip


def _stopped(stubs, **task: Any) -> None:
    stubs["ecs"].add_response(
        "describe_tasks", {"tasks": [{"taskArn": TASK, "lastStatus": "STOPPED", **task}]},
        {"cluster": "dev-litellm", "tasks": [TASK]},
    )  # fmt: skip


def test_create__runs_the_migration_task_once_and_answers_success_when_it_exits_0(aws):
    stubs, sent = aws
    _run_task(stubs)
    stubs["ecs"].add_response(
        "describe_tasks",
        {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING"}]},
        {"cluster": "dev-litellm", "tasks": [TASK]},
    )
    _stopped(stubs, containers=[{"name": "migrate", "exitCode": 0}])

    handler.lambda_handler(event(), Context([600_000]))

    (answer,) = sent
    assert answer["Status"] == "SUCCESS" and answer["Data"] == {"TaskArn": TASK}
    assert (answer["RequestId"], answer["StackId"], answer["LogicalResourceId"]) == ("req-1", STACK, "Migration")


def test_update__a_failed_migration_answers_failed_with_its_last_log_line(aws):
    stubs, sent = aws
    _run_task(stubs)
    _stopped(stubs, containers=[{"name": "migrate", "exitCode": 1}], stopCode="EssentialContainerExited")
    stubs["logs"].add_response(
        "get_log_events",
        {"events": [{"message": "Applying migration `x`"}, {"message": "migrate: failed: P3018 relation exists"},
                    {"message": "  "}]},
        {"logGroupName": "/ecs/dev-litellm-proxy", "logStreamName": "migrate/migrate/0123456789abcdef",
         "limit": 20, "startFromHead": False},
    )  # fmt: skip

    update = event("Update", PhysicalResourceId="Migration-migration", OldResourceProperties={**PROPERTIES,
                   "TaskDefinition": OLDER})  # fmt: skip
    handler.lambda_handler(update, Context([600_000]))

    (answer,) = sent
    assert answer["Status"] == "FAILED" and answer["PhysicalResourceId"] == "Migration-migration"
    assert answer["Reason"] == "migration task 0123456789abcdef exited 1: migrate: failed: P3018 relation exists"


def test_update_back_to_an_older_revision__is_a_rollback__runs_nothing_and_calls_no_api(aws):
    _, sent = aws
    rollback = event("Update", PhysicalResourceId="Migration-migration", OldResourceProperties=dict(PROPERTIES))
    rollback["ResourceProperties"]["TaskDefinition"] = OLDER

    handler.lambda_handler(rollback, Context([600_000]))

    (answer,) = sent
    assert answer["Status"] == "SUCCESS" and "rolling back" in answer["Reason"]


def test_update_of_allow_older_image_alone__migrates_nothing_again(aws):
    _, sent = aws
    update = event("Update", PhysicalResourceId="Migration-migration",
                   OldResourceProperties={**PROPERTIES, "AllowOlderImage": "true"})  # fmt: skip

    handler.lambda_handler(update, Context([600_000]))

    (answer,) = sent
    assert answer["Status"] == "SUCCESS" and "already migrated" in answer["Reason"]


def test_update_from_skip_to_running_tasks__migrates_the_same_task_definition_it_skipped(aws):
    stubs, sent = aws
    _run_task(stubs, allow_older="true")
    _stopped(stubs, containers=[{"name": "migrate", "exitCode": 0}])
    update = event("Update", PhysicalResourceId="Migration-migration",
                   OldResourceProperties={**PROPERTIES, "Skip": "true"})  # fmt: skip
    update["ResourceProperties"]["AllowOlderImage"] = "true"

    handler.lambda_handler(update, Context([600_000]))

    assert [a["Status"] for a in sent] == ["SUCCESS"]


def test_a_migration_past_its_deadline__is_stopped_and_answers_failed(aws):
    stubs, sent = aws
    running = {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING"}]}
    stubs["ecs"].add_response("describe_tasks", running, {"cluster": "dev-litellm", "tasks": [TASK]})
    stubs["ecs"].add_response(
        "stop_task",
        {"task": {"taskArn": TASK}},
        {"cluster": "dev-litellm", "task": TASK, "reason": "the migration outlasted its deadline"},
    )
    late = event(MigrationTaskArn=TASK, MigrationDeadline=1.0)  # handed on, and long past its deadline

    handler.lambda_handler(late, Context([600_000]))

    (answer,) = sent
    assert answer["Status"] == "FAILED" and "still running after 25 minutes and was stopped" in answer["Reason"]


def test_delete_and_skip__run_nothing(aws):
    _, sent = aws
    handler.lambda_handler(event("Delete", PhysicalResourceId="Migration-migration"), Context([600_000]))
    skipped = event()
    skipped["ResourceProperties"]["Skip"] = "true"
    handler.lambda_handler(skipped, Context([600_000]))

    assert [a["Status"] for a in sent] == ["SUCCESS", "SUCCESS"]


def test_a_task_that_never_started__answers_failed_with_ecs_stopped_reason(aws):
    stubs, sent = aws
    _run_task(stubs)
    _stopped(stubs, containers=[{"name": "migrate"}], stopCode="TaskFailedToStart",
             stoppedReason="CannotPullContainerError: pull image manifest has been retried")  # fmt: skip

    handler.lambda_handler(event(), Context([600_000]))

    (answer,) = sent
    assert answer["Status"] == "FAILED"
    assert (
        answer["Reason"]
        == "migration task 0123456789abcdef did not run: CannotPullContainerError: pull image manifest has been retried"
    )


def test_a_migration_longer_than_one_invocation__hands_its_wait_on_and_the_next_one_answers(aws):
    stubs, sent = aws
    _run_task(stubs)
    stubs["ecs"].add_response(
        "describe_tasks",
        {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING"}]},
        {"cluster": "dev-litellm", "tasks": [TASK]},
    )
    handed_on: dict[str, Any] = {}

    def keep(params, **_):
        handed_on.update(json.loads(params["Payload"]))

    stubs["lambda"].add_response("invoke", {"StatusCode": 202})
    stubs["lambda"].client.meta.events.register("provide-client-params.lambda.Invoke", keep)

    handler.lambda_handler(event(), Context([600_000, 30_000]))

    assert sent == [], "no answer yet: the next invocation gives it"
    assert handed_on["MigrationTaskArn"] == TASK and handed_on["RequestId"] == "req-1"
    _stopped(stubs, containers=[{"name": "migrate", "exitCode": 0}])

    handler.lambda_handler(handed_on, Context([600_000]))

    (answer,) = sent
    assert answer["Status"] == "SUCCESS", "the handed-on invocation neither reran the task nor asked about a rollback"


def test_an_unexpected_error__still_answers_so_cloudformation_does_not_wait_out_its_timeout(aws):
    stubs, sent = aws
    stubs["ecs"].add_client_error("run_task", "ClusterNotFoundException", "Cluster not found.")

    handler.lambda_handler(event(), Context([600_000]))

    (answer,) = sent
    assert answer["Status"] == "FAILED" and "Cluster not found" in answer["Reason"]


def test_access_denied_on_a_new_role__is_retried_while_iam_propagates(aws):
    stubs, sent = aws
    for _ in range(2):
        stubs["ecs"].add_client_error("run_task", "AccessDeniedException", "not authorized to perform: ecs:RunTask")
    _run_task(stubs)
    _stopped(stubs, containers=[{"name": "migrate", "exitCode": 0}])

    handler.lambda_handler(event(), Context([600_000]))

    assert [a["Status"] for a in sent] == ["SUCCESS"]
