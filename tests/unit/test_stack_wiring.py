"""How the five stacks fit together: launch order, and values passed between them."""

from __future__ import annotations

import re

import pytest

from llmgw.stacks import STACKS
from tools.render import ENVIRONMENTS, StackOutputRef, launch_batches

# security and network need nothing; alb needs network (and security's key for
# its WAF logs); database needs security and network; litellm needs all four.
# Anything longer than three batches serialises work that could run in parallel.
EXPECTED_BATCHES = [{"security", "network"}, {"alb", "database"}, {"litellm"}]

# A literal that looks like a real AWS identifier is a hard-coded cross-stack value.
AWS_IDENTIFIER = re.compile(r"arn:aws|\b(vpc|subnet|sg|igw|nat)-[0-9a-f]{8,}|\b\d{12}\b")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_launch_plan__each_environment__runs_in_three_parallel_batches(env):
    batches = launch_batches(env)

    assert batches == [{f"{env}/{stack}" for stack in batch} for batch in EXPECTED_BATCHES]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment__has_exactly_the_five_stacks(rendered, env):
    assert sorted(rendered[env]) == sorted(f"{env}/{stack}" for stack in STACKS)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stack_output_references__point_at_an_existing_output_of_the_same_environment(rendered, env):
    stacks = rendered[env]
    for name, stack in stacks.items():
        for key, value in stack.parameters.items():
            if not isinstance(value, StackOutputRef):
                continue
            assert value.stack in stacks, f"{name}.{key} reads from unknown stack {value.stack}"
            assert value.stack.startswith(f"{env}/"), f"{name}.{key} crosses environments"
            outputs = stacks[value.stack].template["Outputs"]
            assert value.output in outputs, f"{name}.{key}: {value.stack} has no output {value.output}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cross_stack_values__arrive_only_through_stack_output(rendered, env):
    stacks = rendered[env]
    outputs_elsewhere = {
        name: {out for other, s in stacks.items() if other != name for out in s.template["Outputs"]} for name in stacks
    }
    for name, stack in stacks.items():
        for key, value in stack.parameters.items():
            if key in outputs_elsewhere[name]:
                assert isinstance(value, StackOutputRef), f"{name}.{key} is set by hand, not !stack_output"
            if not isinstance(value, StackOutputRef):
                text = ",".join(value) if isinstance(value, list) else value
                assert not AWS_IDENTIFIER.search(text), f"{name}.{key}={text!r} hard-codes an AWS identifier"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_parameters_without_default__are_all_supplied_by_config(rendered, env):
    for name, stack in rendered[env].items():
        declared = stack.template["Parameters"]
        missing = [p for p, spec in declared.items() if "Default" not in spec and p not in stack.parameters]
        assert not missing, f"{name} leaves {missing} unset"


def test_environments__share_templates_and_differ_only_in_values(rendered):
    for stack in STACKS:
        dev, prod = rendered["dev"][f"dev/{stack}"], rendered["prod"][f"prod/{stack}"]
        assert dev.template_path == prod.template_path
        assert set(dev.parameters) - {"DomainName", "HostedZoneId"} == set(prod.parameters) - {
            "DomainName",
            "HostedZoneId",
        }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_stack__checks_its_parameters_before_launch(env):
    from tools.render import _plan

    for stack in _plan(env).config_reader.construct_stacks()[0]:
        hooks = stack.hooks.get("before_launch", [])
        checks = [h for h in hooks if type(h).__name__ == "CheckParameters"]
        assert len(checks) == 1, f"{stack.name} does not run !check_parameters before launch"
        assert checks[0].stack is stack, f"{stack.name}'s hook is bound to {checks[0].stack.name}"
