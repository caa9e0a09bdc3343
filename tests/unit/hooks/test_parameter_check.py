"""Bad parameter values fail with one line, as CloudFormation would refuse them, before any call."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from llmgw.parameters import ParameterError, check_parameters
from llmgw_hooks.check_parameters import CheckParameters, InvalidStackParametersError

# (environment, stack, overrides, anchored message)
BAD_INPUT = [
    ("dev", "network", {"VpcCidr": "10.0.0.0/33"}, r"VpcCidr='10\.0\.0\.0/33' does not match .*: must be an IPv4 CIDR"),
    ("dev", "network", {"PrivateSubnet1Cidr": "10.0.300.0/24"}, r"PrivateSubnet1Cidr=.* does not match"),
    (
        "dev",
        "network",
        {"NatGateways": "0", "EnableInterfaceEndpoints": "false"},
        r"rule TasksNeedAWayToAws: .*EnableInterfaceEndpoints must be true",
    ),
    ("prod", "network", {"NatGateways": "0"}, r"rule ProdGuards: prod needs NatGateways 1 or 2"),
    (
        "dev",
        "litellm",
        {"MinCapacity": "3", "MaxCapacity": "2"},
        r"MinCapacity 3 is greater than MaxCapacity 2; raise MaxCapacity to at least 3 \(Metadata NotAbove\)",
    ),
    ("dev", "litellm", {"MinCapacity": "10", "MaxCapacity": "9"}, r"MinCapacity 10 is greater than MaxCapacity 9"),
    ("dev", "litellm", {"MinCapacity": "50", "MaxCapacity": "49"}, r"MinCapacity 50 is greater than MaxCapacity 49"),
    ("dev", "litellm", {"MinCapacity": "51", "MaxCapacity": "51"}, r"MinCapacity='51' is not one of"),
    ("dev", "litellm", {"MinCapacity": "1.5"}, r"MinCapacity='1.5' is not one of"),
    ("dev", "litellm", {"MaxCapacity": "2.5"}, r"MaxCapacity='2.5' is not one of"),
    (
        "dev",
        "litellm",
        {"TaskMemory": "512"},
        r"rule MemoryFitsCpu512: with TaskCpu 512, Fargate accepts TaskMemory 1024 to 4096",
    ),
    ("dev", "litellm", {"ImageTag": "latest"}, r"ImageTag='latest' does not match .*not latest"),
    ("prod", "litellm", {"LiteLLMLog": "DEBUG"}, r"rule ProdGuards: prod must not log at DEBUG"),
    ("prod", "litellm", {"CapacityProvider": "FARGATE_SPOT"}, r"rule ProdGuards: prod runs on on-demand Fargate"),
    ("prod", "litellm", {"LogRetentionDays": "30"}, r"rule ProdGuards: prod keeps the gateway's logs 90 days or more"),
    ("prod", "alb", {"LogRetentionDays": "60"}, r"rule ProdGuards: prod keeps access and WAF logs 90 days or more"),
    ("prod", "network", {"FlowLogRetentionDays": "30"}, r"rule ProdGuards: prod keeps flow and DNS query logs 90"),
    ("prod", "database", {"LambdaLogRetentionDays": "14"}, r"rule ProdGuards: prod keeps rotation logs 90 days"),
    ("prod", "database", {"DatabaseLogRetentionDays": "14"}, r"rule ProdGuards: prod keeps database logs 90 days"),
    ("dev", "litellm", {"LogRetentionDays": "15"}, r"LogRetentionDays='15' is not one of"),
    ("prod", "alb", {"DomainName": ""}, r"rule HttpsNeedsDomainAndZone: EnableHttps is true but DomainName is empty"),
    (
        "prod",
        "alb",
        {"HostedZoneId": ""},
        r"rule HttpsNeedsDomainAndZone: EnableHttps is true but HostedZoneId is empty",
    ),
    ("prod", "alb", {"EnableWaf": "false"}, r"rule ProdGuards: prod must have the WAF"),
    ("dev", "alb", {"IdleTimeoutSeconds": "60"}, r"IdleTimeoutSeconds='60' is below MinValue 630"),
    ("dev", "alb", {"DeregistrationDelaySeconds": "300"}, r"DeregistrationDelaySeconds='300' is below MinValue 630"),
    ("prod", "database", {"DBInstanceClass": "db.t3.micro"}, r"rule ProdGuards: prod needs db\.t3\.small or larger"),
    ("prod", "database", {"MultiAZ": "false"}, r"rule ProdGuards: prod must run Multi-AZ"),
    ("dev", "database", {"EngineVersion": "15.10"}, r"EngineVersion='15\.10' does not match .*15\.13 or a later"),
    ("dev", "security", {"AlarmEmail": "ops at example"}, r"AlarmEmail=.* does not match"),
    # A rotation inside the previous key's grace would revoke that key early.
    (
        "dev",
        "database",
        {"RotationDays": "7", "PreviousKeyGraceDays": "7"},
        r"rule RotationOutlastsGrace7: PreviousKeyGraceDays 7 needs RotationDays of 8 or more",
    ),
    ("prod", "database", {"RotationDays": "1", "PreviousKeyGraceDays": "1"}, r"rule RotationOutlastsGrace1:"),
    ("dev", "security", {"Nonsense": "1"}, r"parameters not in the template: Nonsense"),
]


@pytest.mark.parametrize(("env", "stack", "overrides", "message"), BAD_INPUT, ids=[m for *_, m in BAD_INPUT])
def test_check_parameters__bad_input__raises_one_line_naming_the_problem(deployed, env, stack, overrides, message):
    target = deployed[env][stack]
    given = {**target.rendered.example_parameters(), **overrides}

    with pytest.raises(ParameterError, match=message) as caught:
        check_parameters(target.rendered.template, given)
    assert "\n" not in str(caught.value)


def test_check_parameters__missing_required_value__names_the_parameter(deployed):
    target = deployed["dev"]["litellm"]
    given = {k: v for k, v in target.rendered.example_parameters().items() if k != "ImageTag"}

    with pytest.raises(ParameterError, match=r"^parameter ImageTag has no value and no default$"):
        check_parameters(target.rendered.template, given)


def test_check_parameters__valid_input__returns_every_effective_value(deployed):
    target = deployed["dev"]["litellm"]

    values = check_parameters(target.rendered.template, target.rendered.example_parameters())

    assert values["CpuTargetPercent"] == "70"  # from the template default
    assert values["LiteLLMLog"] == "DEBUG"  # from config/dev/litellm.yaml
    assert set(values) == set(target.rendered.template["Parameters"])


def test_check_parameters_hook__bad_value__names_the_stack(deployed):
    target = deployed["dev"]["alb"]
    stack = SimpleNamespace(
        name="dev/alb",
        template=SimpleNamespace(body=target.rendered.body),
        parameters={**target.rendered.example_parameters(), "HealthCheckPath": "/health"},
    )
    hook = CheckParameters()
    hook.stack = stack

    with pytest.raises(
        InvalidStackParametersError, match=re.escape("dev/alb: HealthCheckPath='/health' is not one of")
    ):
        hook.run()


@pytest.mark.parametrize(("minimum", "maximum"), [("0", "1"), ("12", "20"), ("50", "50")])
def test_check_parameters__min_capacity_up_to_max_capacity__is_accepted_past_the_old_cap_of_10(
    deployed, minimum, maximum
):
    litellm = deployed["prod"]["litellm"]
    given = {**litellm.rendered.example_parameters(), "MinCapacity": minimum, "MaxCapacity": maximum}
    assert check_parameters(litellm.rendered.template, given)["MinCapacity"] == minimum


def test_check_parameters__an_order_naming_no_parameter__fails_naming_it():
    template = {"Metadata": {"NotAbove": {"Low": "High"}}, "Parameters": {"Low": {"Type": "Number"}}}
    with pytest.raises(ParameterError, match="Metadata NotAbove: Low or High is not a parameter of this template"):
        check_parameters(template, {"Low": "1"})
