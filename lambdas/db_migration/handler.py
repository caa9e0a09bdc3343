"""Runs the gateway's database migration once per rollout: the litellm stack's ``Custom::DatabaseMigration``.

CloudFormation sends this resource a Create on the first deploy and an
Update whenever its properties change; a new image gives the migration task
definition a new revision, so a new ``TaskDefinition``. The service
``DependsOn`` it, so it is updated only after the migration succeeded.

- **Create, or an Update to a newer task definition revision**: ``RunTask``
  the migration once (``clientToken`` = the request id, so a repeated delivery
  of the event starts no second task), wait for it to stop, and answer
  SUCCESS if its container exited 0. Else answer FAILED with the migration's
  last log line: the stack update rolls back and the service keeps its old
  task definition, so the old tasks go on serving.
- **An Update back to an older revision** is CloudFormation rolling back (a
  task definition only gets newer revisions forward). Migrations only go
  forward, so nothing runs: the previous image serves on the schema already
  migrated (README, "Rolling back an image"). Decided without an API call, so a
  rollback never fails here.
- **An Update with the same task definition** that already migrated (only
  ``AllowOlderImage`` or the network changed): nothing new to migrate.
- **Delete**: nothing to undo; SUCCESS.
- ``Skip`` "true" (no task runs, MinCapacity 0): SUCCESS without running.

A migration may outlast this function's 15 minutes: before its time runs out
the function hands the wait on to a new invocation of itself, carrying the
task's ARN and the deadline. At the deadline (``MIGRATION_MINUTES`` after the
request) the task is stopped and the answer is FAILED, well inside the
resource's ``ServiceTimeout``. The response always goes to CloudFormation.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref.html
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from llmgw_common import aws_clients
from llmgw_common.rotation import logger

POLL_SECONDS = 6
MIGRATION_MINUTES = 25  # below ServiceTimeout (1800 s); LiteLLM waits up to 10 minutes for its lock
# Time kept back to hand the wait on and to answer CloudFormation.
MARGIN_MILLIS = 60_000
# ECS's task list is eventually consistent: a task just started may read MISSING for a while.
MISSING_SECONDS = 120
# A role created in the same stack operation may not be usable for some seconds (IAM propagation).
ACCESS_DENIED_RETRIES = 6
CONTAINER = "migrate"
_TASK_ARN, _DEADLINE = "MigrationTaskArn", "MigrationDeadline"  # set on the event an invocation hands on


class MigrationFailed(Exception):
    """The migration did not succeed; the message is what CloudFormation shows as the reason."""


def respond(event: dict[str, Any], status: str, reason: str, data: dict[str, str] | None = None) -> None:
    body = {
        "Status": status,
        "Reason": reason[:1000],
        "PhysicalResourceId": event.get("PhysicalResourceId") or f"{event['LogicalResourceId']}-migration",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data or {},
    }
    request = urllib.request.Request(
        event["ResponseURL"], data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # CloudFormation's pre-signed URL
        answer.read()
    logger.info("answered %s: %s", status, reason)


def _revision(task_definition: str) -> int:
    tail = str(task_definition).rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def nothing_to_run(event: dict[str, Any]) -> str | None:
    """Why this request runs no migration, or None if it must run one."""
    new = event["ResourceProperties"]
    if event["RequestType"] == "Delete":
        return "migrations only go forward: nothing to undo"
    if str(new.get("Skip", "false")).lower() == "true":
        return "no task runs (MinCapacity 0): no migration"
    if event["RequestType"] != "Update" or _TASK_ARN in event:
        return None
    old = event.get("OldResourceProperties") or {}
    if _revision(new.get("TaskDefinition", "")) < _revision(old.get("TaskDefinition", "")):
        return "rolling back: the schema stays migrated; the previous image runs on it"
    if new.get("TaskDefinition") == old.get("TaskDefinition") and str(old.get("Skip", "false")).lower() != "true":
        return "the same task definition already migrated: nothing new to migrate"
    return None


def start_task(properties: dict[str, Any], request_id: str) -> str:
    ecs = aws_clients.client("ecs")
    allow_older = {"name": "ALLOW_OLDER_IMAGE", "value": str(properties.get("AllowOlderImage", "false")).lower()}
    request = {
        "cluster": properties["Cluster"],
        "taskDefinition": properties["TaskDefinition"],
        "count": 1,
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": list(properties["Subnets"]),
                "securityGroups": list(properties["SecurityGroups"]),
                "assignPublicIp": "DISABLED",
            }
        },
        "overrides": {"containerOverrides": [{"name": CONTAINER, "environment": [allow_older]}]},
        "startedBy": "cloudformation-migration",
        "clientToken": request_id[:64],
    }
    for attempt in range(ACCESS_DENIED_RETRIES + 1):
        try:
            answer = ecs.run_task(**request)
            break
        except ecs.exceptions.AccessDeniedException:
            if attempt == ACCESS_DENIED_RETRIES:
                raise
            time.sleep(10)  # the role may be newer than IAM's propagation
    if answer.get("failures") or not answer.get("tasks"):
        failure = (answer.get("failures") or [{}])[0]
        raise MigrationFailed(f"RunTask started no migration task: {failure.get('reason', 'no reason given')}")
    arn = answer["tasks"][0]["taskArn"]
    logger.info("started migration task %s", arn)
    return str(arn)


def last_log_line(properties: dict[str, Any], task: dict[str, Any]) -> str:
    stream = f"{properties['LogStreamPrefix']}/{CONTAINER}/{task['taskArn'].rsplit('/', 1)[-1]}"
    try:
        events = aws_clients.client("logs").get_log_events(
            logGroupName=properties["LogGroup"], logStreamName=stream, limit=20, startFromHead=False
        )["events"]
    except Exception as err:  # the reason still names the task, if not its log
        return f"(its log {properties['LogGroup']}:{stream} could not be read: {type(err).__name__})"
    lines = [e["message"].strip() for e in events if e["message"].strip()]
    return lines[-1] if lines else str(task.get("stoppedReason") or f"(nothing in {stream})")


def _outcome(properties: dict[str, Any], task: dict[str, Any]) -> None:
    """Return if the stopped task's migration succeeded; raise MigrationFailed naming why it did not."""
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    container = next((c for c in task.get("containers", []) if c.get("name") == CONTAINER), {})
    if container.get("exitCode") == 0:
        return
    if "exitCode" not in container:
        raise MigrationFailed(f"migration task {task_id} did not run: {task.get('stoppedReason', '?')}")
    raise MigrationFailed(f"migration task {task_id} exited {container['exitCode']}: {last_log_line(properties, task)}")


def wait_for(properties: dict[str, Any], task_arn: str, deadline: float, context: Any) -> bool:
    """True when the task stopped and succeeded (raising if it failed); False when this invocation must hand on."""
    ecs = aws_clients.client("ecs")
    missing_since = None
    time.sleep(POLL_SECONDS)  # let ECS's view of a task just started catch up
    while context.get_remaining_time_in_millis() > MARGIN_MILLIS:
        answer = ecs.describe_tasks(cluster=properties["Cluster"], tasks=[task_arn])
        if not answer.get("tasks"):
            missing_since = missing_since or time.monotonic()
            if time.monotonic() - missing_since > MISSING_SECONDS:
                raise MigrationFailed(f"migration task {task_arn} is not known to ECS: {answer.get('failures')}")
        else:
            task = answer["tasks"][0]
            if task["lastStatus"] == "STOPPED":
                _outcome(properties, task)
                return True
        if time.time() > deadline:
            ecs.stop_task(cluster=properties["Cluster"], task=task_arn, reason="the migration outlasted its deadline")
            raise MigrationFailed(
                f"migration task {task_arn.rsplit('/', 1)[-1]} was still running after {MIGRATION_MINUTES} "
                "minutes and was stopped; its log names what it waited on"
            )
        time.sleep(POLL_SECONDS)
    return False


def hand_on(event: dict[str, Any], task_arn: str, deadline: float, context: Any) -> None:
    aws_clients.client("lambda").invoke(
        FunctionName=context.invoked_function_arn,
        InvocationType="Event",
        Payload=json.dumps({**event, _TASK_ARN: task_arn, _DEADLINE: deadline}).encode(),
    )
    logger.info("handed the wait for %s on to a new invocation", task_arn)


def migrate(event: dict[str, Any], context: Any) -> None:
    properties = event["ResourceProperties"]
    deadline = float(event.get(_DEADLINE) or time.time() + MIGRATION_MINUTES * 60)
    task_arn = event.get(_TASK_ARN) or start_task(properties, event["RequestId"])
    if wait_for(properties, task_arn, deadline, context):
        respond(event, "SUCCESS", f"migration task {task_arn.rsplit('/', 1)[-1]} succeeded", {"TaskArn": task_arn})
    else:
        hand_on(event, task_arn, deadline, context)


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    request = event.get("RequestType")
    logger.info("%s request %s for %s of %s", request, event.get("RequestId"), event.get("LogicalResourceId"),
                event.get("StackId"))  # fmt: skip
    try:
        if request not in ("Create", "Update", "Delete"):
            respond(event, "FAILED", f"unknown RequestType {request!r}")
            return
        skip = nothing_to_run(event)
        if skip:
            respond(event, "SUCCESS", skip)
        else:
            migrate(event, context)
    except MigrationFailed as failure:
        respond(event, "FAILED", str(failure))
    except Exception as err:  # CloudFormation would otherwise wait out the ServiceTimeout
        logger.exception("the migration function failed")
        respond(event, "FAILED", f"the migration function failed: {type(err).__name__}: {err}")
