"""A rotation that fails reaches the alarm topic: Secrets Manager's RotationFailed event, through EventBridge.

Secrets Manager reports RotationFailed, RotationAbandoned and TestRotationFailed
as CloudTrail events on EventBridge's default bus; a function's Errors
metric alone misses a rotation that failed before or outside the function
(throttled, not invocable, never promoted). dev is launched into the
emulator, an SQS queue subscribes to the alarm topic as a pager would, and
the database secret is broken the way a bad edit would break it.
https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-eventbridge.html
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tools.render import ROOT


@pytest.fixture(scope="module")
def dev(emulator):
    result = emulator.sceptre("launch", "-y", "dev")
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = {}
    for stack in ("security", "database", "litellm"):
        outputs.update(emulator.outputs(f"litellm-dev-{stack}"))
    return outputs


def test_failed_database_rotation__reaches_the_alarm_topic_as_secrets_managers_rotation_failed(emulator, dev):
    sqs, sns, secrets = emulator.client("sqs"), emulator.client("sns"), emulator.client("secretsmanager")
    queue = sqs.create_queue(QueueName="pager")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=dev["AlarmTopicArn"], Protocol="sqs", Endpoint=queue_arn)
    broken = json.loads(secrets.get_secret_value(SecretId=dev["DatabaseSecretArn"])["SecretString"])
    secrets.put_secret_value(
        SecretId=dev["DatabaseSecretArn"], SecretString=json.dumps({**broken, "host": "127.0.0.9"})
    )

    result = subprocess.run(
        [sys.executable, "-m", "tools.local", "rotate", "dev", "database"],
        cwd=ROOT, env={**emulator.env, "LOCAL_PORT": emulator.endpoint.rsplit(":", 1)[1]},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    assert result.returncode == 2 and "rotation of dev-litellm/database failed" in result.stderr, result.stderr
    deadline, events = time.monotonic() + 30, []
    while not events and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []):
            event = json.loads(json.loads(message["Body"])["Message"])
            events.append(event)
    assert [e["detail"]["eventName"] for e in events] == ["RotationFailed"]
    assert events[0]["detail"]["additionalEventData"]["SecretId"] == dev["DatabaseSecretArn"]


def test_rotation_functions__alarm_on_throttles_as_well_as_errors(emulator, dev):
    alarms = emulator.client("cloudwatch").describe_alarms(AlarmNamePrefix="dev-litellm-")["MetricAlarms"]
    watched = {(a["MetricName"], d["Value"]) for a in alarms for d in a["Dimensions"] if d["Name"] == "FunctionName"}

    for function in ("dev-litellm-master-key-rotation", "dev-litellm-db-rotation"):
        assert {("Errors", function), ("Throttles", function)} <= watched
    assert all(a["AlarmActions"] == [dev["AlarmTopicArn"]] for a in alarms)
