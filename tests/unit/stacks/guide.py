"""What the per-stack guide tests share: both environments, and the gateway's container."""

from __future__ import annotations

import pytest

from tools.render import ENVIRONMENTS

BOTH = pytest.mark.parametrize("env", ENVIRONMENTS)


def as_int(value) -> int:
    return int(str(value))


def attribute(attributes: list[dict], key: str) -> str:
    return {item["Key"]: str(item["Value"]) for item in attributes}[key]


def container(deployed, env) -> dict:
    (definition,) = deployed[env]["litellm"].props("TaskDefinition")["ContainerDefinitions"]
    return definition
