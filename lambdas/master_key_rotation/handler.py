"""Rotates the gateway's LiteLLM master key every 30 days; every earlier key stays valid for its own 7 days.

The gateway's tasks read the master-key secret at run time (its AWSCURRENT
and AWSPENDING versions, cached for seconds; ``image/gateway_auth.py``), so
a rotation takes effect without a redeploy:

- createSecret stages a fresh ``sk-`` key. The current key joins
  ``LITELLM_PREVIOUS_MASTER_KEYS`` (a JSON list of ``{"key", "expires"}``)
  with an expiry ``GRACE_DAYS`` out, and every earlier key whose own expiry
  has not come yet stays in it: a rotation started by hand inside a grace
  period revokes nothing early. ``LITELLM_PREVIOUS_MASTER_KEY`` and its
  ``_EXPIRES`` name the newest, for tasks that only have their start-time
  environment.
- setSecret waits ``KEY_PROPAGATION_SECONDS`` (the gateway's cache time and
  a margin), so every task accepts the new key before any client can read it
  as AWSCURRENT.
- finishSecret makes it current.

The salt key is carried over unchanged: it encrypts credentials in the database.

Environment: ``GRACE_DAYS`` (7), ``KEY_PROPAGATION_SECONDS`` (35).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from llmgw_common import aws_clients
from llmgw_common.gateway_secrets import MASTER_KEY_RULE, is_master_key, new_master_key
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
PREVIOUS_KEYS = "LITELLM_PREVIOUS_MASTER_KEYS"


def now() -> datetime:
    return datetime.now(timezone.utc)


def grace() -> timedelta:
    return timedelta(days=int(os.environ.get("GRACE_DAYS", "7")))


def propagation_seconds() -> float:
    return float(os.environ.get("KEY_PROPAGATION_SECONDS", "35"))


def previous_keys(value: dict[str, Any]) -> list[dict[str, str]]:
    """The secret's earlier keys that have not expired, newest first; unreadable entries grant nothing."""
    try:
        entries = json.loads(value.get(PREVIOUS_KEYS) or "[]")
    except (TypeError, ValueError):
        entries = []
    newest = {
        "key": value.get("LITELLM_PREVIOUS_MASTER_KEY", ""),
        "expires": value.get("LITELLM_PREVIOUS_MASTER_KEY_EXPIRES", ""),
    }
    kept = []
    for entry in [newest, *entries] if isinstance(entries, list) else [newest]:
        try:
            expires = datetime.fromisoformat(str(entry.get("expires")))
        except (AttributeError, ValueError):
            continue
        if is_master_key(entry.get("key")) and expires > now() and entry["key"] not in {k["key"] for k in kept}:
            kept.append({"key": entry["key"], "expires": expires.isoformat(timespec="seconds")})
    return kept


def create_secret(client: Any, arn: str, token: str) -> None:
    """Stage a new master key; the current one, and every earlier unexpired one, stay valid until their expiry."""
    if pending_value(client, arn, token) is not None:
        logger.info("createSecret: version %s already staged", token)
        return
    current = current_value(client, arn)
    if not is_master_key(current.get("LITELLM_MASTER_KEY")):
        raise RotationError(
            f"createSecret: the current master key is unseeded or breaks the rule ({MASTER_KEY_RULE});"
            " launch the security stack first"
        )
    retiring = {"key": current["LITELLM_MASTER_KEY"], "expires": (now() + grace()).isoformat(timespec="seconds")}
    earlier = [k for k in previous_keys(current) if k["key"] != retiring["key"]]
    pending = {
        **current,
        "LITELLM_MASTER_KEY": new_master_key(),
        "LITELLM_PREVIOUS_MASTER_KEY": retiring["key"],
        "LITELLM_PREVIOUS_MASTER_KEY_EXPIRES": retiring["expires"],
        PREVIOUS_KEYS: json.dumps([retiring, *earlier]),
    }
    store_pending(client, arn, token, pending)
    logger.info("createSecret: staged version %s (%d earlier keys still valid)", token, len(earlier) + 1)


def set_secret(client: Any, arn: str, token: str) -> None:
    """Wait until every task can have read the staged key, so none refuses it once it is AWSCURRENT.

    The wait is the full propagation time, every time: the version's
    CreatedDate is when Secrets Manager issued the token, not when
    createSecret (perhaps on a retry, minutes later) stored the key.
    """
    if pending_value(client, arn, token) is None:
        raise RotationError(f"setSecret: version {token} was never staged")
    wait = propagation_seconds()
    logger.info("setSecret: waiting %.0f s for every task's cache to read version %s", wait, token)
    time.sleep(wait)
    logger.info("setSecret: every task accepts version %s", token)


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
        problems.append(f"the master key breaks the rule ({MASTER_KEY_RULE})")
    if pending.get("LITELLM_SALT_KEY") != current.get("LITELLM_SALT_KEY"):
        problems.append("the salt key changed")
    if pending.get("LITELLM_MASTER_KEY") == current.get("LITELLM_MASTER_KEY"):
        if problems:
            raise RotationError(f"testSecret: version {token}: {'; '.join(problems)}")
        logger.info("testSecret: version %s holds the current key (Secrets Manager's configuration test)", token)
        return
    kept = {k["key"]: datetime.fromisoformat(k["expires"]) for k in previous_keys(pending)}
    retiring = kept.get(str(current.get("LITELLM_MASTER_KEY")))
    if retiring is None or not now() < retiring <= now() + grace() + timedelta(minutes=5):
        problems.append("the current key is not kept for the grace period")
    for earlier in previous_keys(current):
        if kept.get(earlier["key"]) != datetime.fromisoformat(earlier["expires"]):
            problems.append("an earlier key would lose the rest of its grace")
            break
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
