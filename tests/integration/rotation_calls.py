"""Secrets Manager's side of a rotation, for tests that drive a rotation function step by step in-process.

RotateSecret first attaches AWSPENDING to a new, empty version whose id is
the ClientRequestToken, then invokes the steps with that token; a function
must refuse any other token. moto's in-process RotateSecret cannot stand in:
without a Lambda it promotes a new version itself. So this stages the token
in moto's backend exactly as Secrets Manager does, and the local emulator's
``secrets_rotation`` does the same for the real API
(tests/integration/test_emulator_runtime.py).
https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def _secret(arn: str) -> Any:
    from moto.secretsmanager.models import secretsmanager_backends

    account, region = arn.split(":")[4], arn.split(":")[3]
    return secretsmanager_backends[account][region].secrets[arn]


def enable_rotation(arn: str, days: int = 30) -> None:
    """Rotation configured, as a RotationSchedule leaves it (DescribeSecret's RotationEnabled)."""
    secret = _secret(arn)
    secret.rotation_requested = secret.rotation_enabled = True
    secret.auto_rotate_after_days = days


def issue_token(arn: str) -> str:
    """Start a rotation as RotateSecret does: a new, empty AWSPENDING version under a fresh token."""
    secret = _secret(arn)
    token = str(uuid.uuid4())
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    secret.versions[token] = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
    return token


def event(arn: str, token: str, step: str) -> dict[str, str]:
    return {"SecretId": arn, "ClientRequestToken": token, "Step": step, "RotationToken": str(uuid.uuid4())}


@contextlib.contextmanager
def recorded_aws_calls() -> Iterator[set[str]]:
    """Every AWS operation made through boto3's default session, as IAM names it (``secretsmanager:GetSecretValue``).

    The rotation functions make their clients with ``boto3.client``, so the
    calls they would make on Lambda are exactly these; IAM evaluates each.
    """
    import boto3

    calls: set[str] = set()

    def record(model: Any, **_: Any) -> None:
        calls.add(f"{model.service_model.signing_name}:{model.name}")

    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-call", record)
    try:
        yield calls
    finally:
        boto3.DEFAULT_SESSION = None


def role_actions(role: dict[str, Any]) -> set[str]:
    """The actions a rendered AWS::IAM::Role allows through its inline policies."""
    found: set[str] = set()
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow":
                actions = statement["Action"]
                found |= {actions} if isinstance(actions, str) else set(actions)
    return found
