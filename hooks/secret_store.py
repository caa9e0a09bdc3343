"""Read and write JSON secrets through a Sceptre connection manager, never logging a value."""

from __future__ import annotations

import json
from typing import Any


def read_json(manager: Any, secret_id: str) -> dict[str, Any]:
    """The AWSCURRENT value of ``secret_id`` as a dict (empty if the secret is not JSON)."""
    response = manager.call(service="secretsmanager", command="get_secret_value", kwargs={"SecretId": secret_id})
    try:
        value = json.loads(response.get("SecretString") or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def write_json(manager: Any, secret_id: str, value: dict[str, Any]) -> None:
    """Store ``value`` as a new AWSCURRENT version."""
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
