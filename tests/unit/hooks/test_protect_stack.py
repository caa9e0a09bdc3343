"""!protect_stack turns on termination protection and the stateful-resource stack policy."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from sceptre.exceptions import InvalidHookArgumentTypeError

from llmgw_hooks.protect_stack import ProtectStack
from tools.render import ROOT, _plan

POLICY = "config/stack-policies/protect-stateful.json"


class RecordingConnectionManager:
    """Fakes AWS at the narrowest point: the calls Sceptre's connection manager would send."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict]] = []

    def call(self, service: str, command: str, kwargs: dict) -> dict:
        if command == "describe_stacks":  # the hook first asks whether the launch left a stack
            return {"Stacks": [{"StackStatus": "UPDATE_COMPLETE"}]}
        self.calls.append((service, command, kwargs))
        return {}


def hook_for(argument: str | None) -> tuple[ProtectStack, RecordingConnectionManager]:
    manager = RecordingConnectionManager()
    hook = ProtectStack(argument)
    hook.stack = SimpleNamespace(
        name="prod/database",
        external_name="litellm-prod-database",
        connection_manager=manager,
        stack_group_config={"project_path": str(ROOT)},
    )
    return hook, manager


def test_protect_stack__enables_termination_protection_and_sets_the_policy():
    hook, manager = hook_for(POLICY)

    hook.run()

    (_, first, protection), (_, second, policy) = manager.calls
    assert (first, protection) == (
        "update_termination_protection",
        {"StackName": "litellm-prod-database", "EnableTerminationProtection": True},
    )
    assert second == "set_stack_policy"
    denied = next(s for s in json.loads(policy["StackPolicyBody"])["Statement"] if s["Effect"] == "Deny")
    assert set(denied["Action"]) == {"Update:Replace", "Update:Delete"}
    assert {"AWS::RDS::DBInstance", "AWS::KMS::Key", "AWS::SecretsManager::Secret"} <= set(
        denied["Condition"]["StringEquals"]["ResourceType"]
    )


@pytest.mark.parametrize("argument", [None, "", "config/stack-policies/missing.json"])
def test_protect_stack__without_a_policy_file__raises_before_any_call(argument):
    hook, manager = hook_for(argument)

    with pytest.raises(InvalidHookArgumentTypeError, match="needs the path of a stack policy file"):
        hook.run()
    assert manager.calls == []


@pytest.mark.parametrize(("env", "protected"), [("dev", False), ("prod", True)])
def test_stacks__are_protected_after_launch_only_in_prod(env, protected):
    for stack in _plan(env).config_reader.construct_stacks()[0]:
        hooks = [type(h).__name__ for h in stack.hooks.get("after_launch", [])]
        assert ("ProtectStack" in hooks) is protected, stack.name
