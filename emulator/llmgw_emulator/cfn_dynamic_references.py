"""CloudFormation's dynamic references to Secrets Manager, resolved as a resource is created or updated.

moto passes ``{{resolve:secretsmanager:...}}`` to the resource as the literal
text, so an ElastiCache AUTH token would be that text, not the secret. Here a
property value holding one gets the secret's value (or one JSON key of it), as
CloudFormation does; the value never reaches a template, an event or an
output. A secret, key, version or kind of reference (``ssm``, ``ssm-secure``)
that cannot be resolved fails the resource, naming the reference.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from moto.cloudformation import parsing

__all__ = ["DynamicReferenceError", "install", "resolve"]

_REFERENCE = re.compile(r"\{\{resolve:([a-z-]+):([^}]*)\}\}")
_INSTALLED = False


class DynamicReferenceError(Exception):
    """A dynamic reference CloudFormation would fail on, or one the emulator does not resolve."""


def _secret_value(account_id: str, region_name: str, body: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    parts = body.split(":")
    # The secret's ARN has seven colon-separated fields of its own; a name has none.
    secret_id, rest = (":".join(parts[:7]), parts[7:]) if body.startswith("arn:") else (parts[0], parts[1:])
    rest += [""] * (4 - len(rest))
    kind, key, stage, version = rest[:4]
    if kind not in ("", "SecretString"):
        raise DynamicReferenceError(f"{{{{resolve:secretsmanager:{body}}}}}: only SecretString can be referenced")
    backend = secretsmanager_backends[account_id][region_name]
    try:
        value = backend.get_secret_value(secret_id, version or None, stage or (None if version else "AWSCURRENT"))
    except Exception as err:  # moto's ResourceNotFound and friends: CloudFormation names the reference
        raise DynamicReferenceError(f"Could not resolve {{{{resolve:secretsmanager:{secret_id}:...}}}}: {err}") from err
    text = value.get("SecretString") or ""
    if not key:
        return text
    try:
        document = json.loads(text)
    except ValueError as err:
        raise DynamicReferenceError(f"secret {secret_id} is not JSON, so it has no key {key}") from err
    if key not in document:
        raise DynamicReferenceError(f"secret {secret_id} has no key {key}")
    return str(document[key])


def resolve(text: str, account_id: str, region_name: str) -> str:
    def one(match: re.Match[str]) -> str:
        service, body = match.group(1), match.group(2)
        if service != "secretsmanager":
            raise DynamicReferenceError(f"{{{{resolve:{service}:...}}}} is not resolved by the local emulator")
        return _secret_value(account_id, region_name, body)

    return _REFERENCE.sub(one, text)


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    original = parsing.clean_json

    @functools.wraps(original)
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        result = original(resource_json, resources_map)
        if isinstance(result, str) and "{{resolve:" in result:
            return resolve(result, resources_map._account_id, resources_map._region_name)
        return result

    parsing.clean_json = clean_json
    _INSTALLED = True
