"""Read and write JSON secrets through a Sceptre connection manager, never logging a value."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class SecretFormatError(Exception):
    """A secret holds something other than a JSON object; the message names the secret, never its value."""


@contextmanager
def no_wire_logging() -> Iterator[None]:
    """Keep botocore's DEBUG logging (``sceptre --debug``) from printing request and response bodies.

    botocore logs every response body at DEBUG, and a GetSecretValue or
    PutSecretValue body is the secret itself.
    """
    logger = logging.getLogger("botocore")
    previous = logger.level
    logger.setLevel(max(previous, logging.INFO))
    try:
        yield
    finally:
        logger.setLevel(previous)


def read_json(manager: Any, secret_id: str) -> dict[str, Any]:
    """The AWSCURRENT value of ``secret_id`` as a dict; an empty value is an empty dict.

    Raises:
        SecretFormatError: the value is not a JSON object. Reading it as empty would let a seeding
            overwrite what an operator stored as plain text, so the caller stops instead.
    """
    with no_wire_logging():
        response = manager.call(
            service="secretsmanager",
            command="get_secret_value",
            kwargs={"SecretId": secret_id, "VersionStage": "AWSCURRENT"},
        )
    text = response.get("SecretString") or ""
    if not text.strip():
        return {}
    name = secret_id.rsplit(":", 1)[-1]
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise SecretFormatError(
            f"secret {name} holds {'plain text' if value is None else type(value).__name__}, not a JSON object;"
            " nothing was written: store it as a JSON object of its keys and launch again"
        )
    return value


def write_json(manager: Any, secret_id: str, value: dict[str, Any]) -> None:
    """Store ``value`` as a new AWSCURRENT version."""
    with no_wire_logging():
        manager.call(
            service="secretsmanager",
            command="put_secret_value",
            kwargs={"SecretId": secret_id, "SecretString": json.dumps(value)},
        )


def rotation_in_progress(manager: Any, secret_id: str) -> bool:
    """Whether a rotation has staged an AWSPENDING version that is not yet AWSCURRENT."""
    described = manager.call(service="secretsmanager", command="describe_secret", kwargs={"SecretId": secret_id})
    for stages in (described.get("VersionIdsToStages") or {}).values():
        if "AWSPENDING" in stages and "AWSCURRENT" not in stages:
            return True
    return False
