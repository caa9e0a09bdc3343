"""Rotates the admin UI password on the optional schedule (``UiPasswordRotationDays``); by hand otherwise.

LiteLLM reads ``UI_PASSWORD`` only when a task starts (ECS fills it from this
secret), so the new password takes effect with new tasks:

- createSecret stages a new password; ``UI_USERNAME`` is carried over.
- setSecret has nothing to do: nothing outside the secret holds the password.
- testSecret checks the staged value: the same username, a password of the
  length and alphabet createSecret makes. Secrets Manager also calls it alone
  to test the configuration, with a copy of the current value, which passes.
- finishSecret makes it current and redeploys the service (``ECS_CLUSTER``,
  ``ECS_SERVICE``). Until the new tasks serve, the old password still logs in.

The value is never logged.
"""

from __future__ import annotations

from typing import Any

from llmgw_common import aws_clients
from llmgw_common.gateway_secrets import random_string
from llmgw_common.rotation import (
    RotationError,
    current_value,
    dispatch,
    finish_secret,
    logger,
    pending_value,
    store_pending,
)

PASSWORD_LENGTH = 24  # as the security stack generates the first one; letters and digits, ~143 bits


def create_secret(client: Any, arn: str, token: str) -> None:
    """Stage a new password for the same username; a retry keeps the one already staged."""
    if pending_value(client, arn, token) is not None:
        logger.info("createSecret: version %s already staged", token)
        return
    current = current_value(client, arn)
    if not current.get("UI_USERNAME"):
        raise RotationError("createSecret: the current value has no UI_USERNAME")
    store_pending(client, arn, token, {**current, "UI_PASSWORD": random_string(PASSWORD_LENGTH)})
    logger.info("createSecret: staged version %s", token)


def set_secret(client: Any, arn: str, token: str) -> None:
    """Nothing to set: the tasks read the password from the secret when they start."""
    if pending_value(client, arn, token) is None:
        raise RotationError(f"setSecret: version {token} was never staged")
    logger.info("setSecret: nothing outside the secret holds the password")


def test_secret(client: Any, arn: str, token: str) -> None:
    pending, current = pending_value(client, arn, token), current_value(client, arn)
    if pending is None:
        raise RotationError(f"testSecret: version {token} was never staged")
    if pending == current:
        logger.info("testSecret: version %s holds the current value (Secrets Manager's configuration test)", token)
        return
    password = str(pending.get("UI_PASSWORD", ""))
    problems = []
    if pending.get("UI_USERNAME") != current.get("UI_USERNAME"):
        problems.append("the username changed")
    if len(password) < PASSWORD_LENGTH or not password.isalnum():
        problems.append(f"the password is not {PASSWORD_LENGTH} or more letters and digits")
    if password == current.get("UI_PASSWORD"):
        problems.append("the password is the current one")
    if problems:
        raise RotationError(f"testSecret: version {token}: {'; '.join(problems)}")
    logger.info("testSecret: version %s is valid", token)


STEPS = {
    "createSecret": create_secret,
    "setSecret": set_secret,
    "testSecret": test_secret,
    "finishSecret": finish_secret,
}


def lambda_handler(event: dict[str, str], context: Any) -> None:
    dispatch(event, STEPS, aws_clients.client("secretsmanager"))
