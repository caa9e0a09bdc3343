"""Shared fixtures: every environment rendered once per test session, offline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from llmgw.parameters import check_parameters
from tools.render import ENVIRONMENTS, RenderedStack, render_environment
from tools.resolve import resolve_template


@dataclass
class DeployedStack:
    """A stack as it would deploy: template specialised to its environment's values."""

    rendered: RenderedStack
    values: dict[str, str]
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def resource(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id]

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].get("Properties", {})

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


@pytest.fixture(scope="session")
def rendered() -> dict[str, dict[str, RenderedStack]]:
    """{env: {"dev/network": RenderedStack, ...}} with example values for prod's --vars."""
    return {env: render_environment(env) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def deployed(rendered) -> dict[str, dict[str, DeployedStack]]:
    """{env: {"network": DeployedStack, ...}}; stack outputs are shaped stand-ins."""
    result: dict[str, dict[str, DeployedStack]] = {}
    for env, stacks in rendered.items():
        result[env] = {}
        for name, stack in stacks.items():
            template = stack.template
            values = check_parameters(template, stack.example_parameters())
            short = name.split("/", 1)[1]
            result[env][short] = DeployedStack(stack, values, resolve_template(template, values))
    return result
