"""Rotates the gateway's LiteLLM master key every 30 days, keeping the previous key valid for 7.

LiteLLM accepts one master key, read once at start. So the new secret
version carries the old key as ``LITELLM_PREVIOUS_MASTER_KEY`` with an
expiry, the image's auth hook (``image/gateway_auth.py``) accepts it until
then, and finishSecret redeploys the service so new tasks load both. The salt
key is carried over unchanged: it encrypts credentials in the database.

Environment: ``GRACE_DAYS`` (7), ``ECS_CLUSTER``, ``ECS_SERVICE``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3

from llmgw_common.gateway_secrets import is_master_key, new_master_key
from llmgw_common.rotation import (
    RotationError,
    current_value,
    dispatch,
    finish_secret,
    logger,
    pending_value,
    store_pending,
)

UNSEEDED = "UNSEEDED"  # the security template's placeholder, replaced by the seeding hook


def now() -> datetime:
    return datetime.now(timezone.utc)


def grace() -> timedelta:
    return timedelta(days=int(os.environ.get("GRACE_DAYS", "7")))


def create_secret(client: Any, arn: str, token: str) -> None:
    """Stage a new master key; the current one becomes the previous key until its grace ends."""
    if pending_value(client, arn, token) is not None:
        logger.info("createSecret: version %s already staged", token)
        return
    current = current_value(client, arn)
    if not is_master_key(current.get("LITELLM_MASTER_KEY")):
        raise RotationError("createSecret: the current master key is not seeded yet; launch the security stack first")
    pending = {
        **current,
        "LITELLM_MASTER_KEY": new_master_key(),
        "LITELLM_PREVIOUS_MASTER_KEY": current["LITELLM_MASTER_KEY"],
        "LITELLM_PREVIOUS_MASTER_KEY_EXPIRES": (now() + grace()).isoformat(timespec="seconds"),
    }
    store_pending(client, arn, token, pending)
    logger.info(
        "createSecret: staged version %s (previous key valid until %s)",
        token,
        pending["LITELLM_PREVIOUS_MASTER_KEY_EXPIRES"],
    )


def set_secret(client: Any, arn: str, token: str) -> None:
    """Nothing outside the secret holds the key: the gateway reads it from the secret at start."""
    logger.info("setSecret: nothing to set for version %s", token)


def test_secret(client: Any, arn: str, token: str) -> None:
    """Check the staged version before it becomes current.

    Secrets Manager also calls this step alone, to test the rotation
    configuration (``RotateImmediately`` false): the AWSPENDING version is
    then a copy of the current one, and a well-formed copy passes.
    """
    pending, current = pending_value(client, arn, token), current_value(client, arn)
    if pending is None:
        raise RotationError(f"testSecret: version {token} was never staged")
    if pending == current and current.get("LITELLM_MASTER_KEY") == UNSEEDED and current.get("LITELLM_SALT_KEY"):
        # A stack launched without Sceptre's hooks (taskcat) keeps the template's placeholder; the
        # gateway refuses to start with it, and createSecret refuses to rotate it.
        logger.info("testSecret: version %s holds the template's unseeded placeholder; nothing to test yet", token)
        return
    problems = []
    if not is_master_key(pending.get("LITELLM_MASTER_KEY")):
        problems.append("the master key is not an sk- key")
    if pending.get("LITELLM_SALT_KEY") != current.get("LITELLM_SALT_KEY"):
        problems.append("the salt key changed")
    if pending.get("LITELLM_MASTER_KEY") == current.get("LITELLM_MASTER_KEY"):
        if problems:
            raise RotationError(f"testSecret: version {token}: {'; '.join(problems)}")
        logger.info("testSecret: version %s holds the current key (Secrets Manager's configuration test)", token)
        return
    if pending.get("LITELLM_PREVIOUS_MASTER_KEY") != current.get("LITELLM_MASTER_KEY"):
        problems.append("the previous key is not the current key")
    try:
        expires = datetime.fromisoformat(str(pending.get("LITELLM_PREVIOUS_MASTER_KEY_EXPIRES")))
    except ValueError:
        problems.append("the previous key has no expiry")
    else:
        if not now() < expires <= now() + grace() + timedelta(minutes=5):
            problems.append("the previous key's expiry is not within the grace period")
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
    dispatch(event, STEPS, boto3.client("secretsmanager"))
