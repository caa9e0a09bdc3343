"""No property is dropped silently: every property both environments set reads back through its service's API.

dev and prod are launched into one emulator (prod with an alarm e-mail, so
its subscription exists too). For every resource of every stack, each
property the deployed template sets is read back with the service's own
API (``property_readers.READERS``) and compared with what the template
asked for. What no AWS API returns is listed in ``NOT_EXPOSED`` with the
test that covers its effect. A resource type or property that neither
covers fails here, and the emulator itself refuses to create a property it
does not carry (``llmgw_emulator/property_support.py``).
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections import defaultdict

import pytest

from llmgw.stacks import STACKS
from tests.integration.deployed_properties import deployed_resources, mismatches
from tests.integration.property_readers import NOT_EXPOSED, READERS, Aws
from tools.render import ROOT
from tools.specialise import specialise_environment


@pytest.fixture(scope="module")
def emulator(pinned_emulator):
    return pinned_emulator


@pytest.fixture(scope="module")
def launched(emulator):
    result = emulator.sceptre("launch", "-y", "dev")
    assert result.returncode == 0, result.stdout + result.stderr
    zone = emulator.client("route53").create_hosted_zone(Name="example.test.", CallerReference=str(time.time()))
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    result = emulator.sceptre(
        "--var", "domain_name=llm.example.test", "--var", f"hosted_zone_id={zone_id}",
        "--var", "alarm_email=oncall@example.test", "launch", "-y", "prod",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    cloudformation = emulator.client("cloudformation")
    return [
        r for env in ("dev", "prod") for s in STACKS for r in deployed_resources(cloudformation, f"litellm-{env}-{s}")
    ]


def test_every_property_of_every_resource_of_both_environments_reads_back_through_its_api(emulator, launched):
    aws = Aws(lambda service: emulator.client("lambda" if service == "lambda-" else service))
    problems, checked = [], 0

    for resource in launched:
        if resource.type not in READERS:
            problems.append(f"{resource.label}: no reader for this type in property_readers.READERS")
            continue
        actual = READERS[resource.type](aws, resource)
        for name, value in resource.properties.items():
            if (resource.type, name) in NOT_EXPOSED:
                continue
            if name not in actual:
                problems.append(f"{resource.label}: property {name} has no reader")
                continue
            problems += [f"{resource.label}: {m}" for m in mismatches(value, actual[name], name)]
            checked += 1

    assert problems == []
    print(f"\n{checked} properties of {len(launched)} resources read back")


def test_the_enumeration_covers_every_type_and_property_the_templates_can_set(launched):
    """Offline, from both environments as they deploy: nothing the templates set is outside the emulator's table."""
    spec = importlib.util.spec_from_file_location(
        "property_support", ROOT / "emulator/llmgw_emulator/property_support.py"
    )
    support = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(support)
    used: dict[str, set[str]] = defaultdict(set)
    for env in ("dev", "prod"):
        for _, template, _ in specialise_environment(env):
            for body in template["Resources"].values():
                used[body["Type"]] |= set(body.get("Properties") or {})
    launched_types = {r.type for r in launched}

    # A custom resource's every property goes to its function (cfn_custom_resources); READERS reads what it ran.
    custom = {t for t in used if t.startswith("Custom::")}
    assert set(used) - custom <= set(support.CARRIED), "a type the emulator has no property table for"
    for resource_type, names in used.items():
        assert resource_type in custom or names <= support.CARRIED[resource_type], resource_type
        assert resource_type in READERS, resource_type
    assert set(used) <= launched_types, "every type the templates use was launched here and read back"


def test_emulator__a_property_it_does_not_carry__fails_the_create_naming_the_resource_and_property(emulator):
    vpc = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.8.0.0/16", "InstanceTenancy": "dedicated"}}
    template = {"Resources": {"Net": vpc}}
    cloudformation = emulator.client("cloudformation")

    cloudformation.create_stack(StackName="unmodelled-property", TemplateBody=json.dumps(template))

    stack = emulator.wait_for_stack("unmodelled-property")
    events = cloudformation.describe_stack_events(StackName="unmodelled-property")["StackEvents"]
    (failed,) = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert failed["LogicalResourceId"] == "Net"
    assert (
        "AWS::EC2::VPC property InstanceTenancy is not modelled by the local emulator" in failed["ResourceStatusReason"]
    )


def test_ecs_service__shows_its_capacity_provider_strategy_rolling_deployment_and_grace_period(emulator, launched):
    ecs = emulator.client("ecs")
    for env, provider in (("dev", "FARGATE_SPOT"), ("prod", "FARGATE")):
        (service,) = ecs.describe_services(cluster=f"{env}-litellm", services=[f"{env}-litellm-proxy"])["services"]

        assert service["capacityProviderStrategy"] == [{"capacityProvider": provider, "weight": 1, "base": 0}]
        assert "launchType" not in service, "a service with a capacity provider strategy has no launch type"
        assert service["deploymentConfiguration"] == {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        }
        assert service["healthCheckGracePeriodSeconds"] == 600
        assert service["enableECSManagedTags"] is True
