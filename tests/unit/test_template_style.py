"""Each template reads like a Quick Start: described, grouped, constrained, exported by stack name."""

from __future__ import annotations

import pytest

from llmgw.stacks import STACKS
from tools.render import ENVIRONMENTS

SECTION_ORDER = [
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Resources",
    "Outputs",
]
ALL = pytest.mark.parametrize(("env", "stack"), [(e, s) for e in ENVIRONMENTS for s in STACKS])


@ALL
def test_template__sections_read_top_down(rendered, env, stack):
    keys = list(rendered[env][f"{env}/{stack}"].template)
    ordered = [k for k in SECTION_ORDER if k in keys]
    assert keys == ordered


@ALL
def test_template__every_parameter_is_described_and_grouped(rendered, env, stack):
    template = rendered[env][f"{env}/{stack}"].template
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [p for group in interface["ParameterGroups"] for p in group["Parameters"]]
    assert sorted(grouped) == sorted(template["Parameters"]), "every parameter in exactly one group"
    for name, spec in template["Parameters"].items():
        assert spec.get("Description", "").strip(), f"{name} has no Description"
        if "AllowedPattern" in spec:
            assert spec.get("ConstraintDescription"), f"{name} has a pattern but no ConstraintDescription"


@ALL
def test_template__every_output_is_described_and_exported_under_the_stack_name(rendered, env, stack):
    for name, output in rendered[env][f"{env}/{stack}"].template["Outputs"].items():
        assert output.get("Description"), f"{name} has no Description"
        assert output["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{name}"}


@ALL
def test_template__arns_are_built_with_the_partition(rendered, env, stack):
    body = rendered[env][f"{env}/{stack}"].body
    assert "arn:aws:" not in body, "use arn:${AWS::Partition}:"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_template__fits_in_a_create_stack_call_without_a_template_bucket(rendered, env):
    """Sceptre sends the body inline (no template_bucket_name), and CloudFormation refuses one over 51,200 bytes.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
    """
    for path, stack in rendered[env].items():
        size = len(stack.body.encode())
        assert size <= 51_200, f"{path}: {size} bytes; set template_bucket_name or make it smaller"
