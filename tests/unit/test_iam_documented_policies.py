"""Each role holds what AWS documents its service needs; each gap here failed on a first real deploy.

- VPC flow logs: https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
- A Lambda function in a VPC: the actions of AWSLambdaVPCAccessExecutionRole (v3, 2024),
  https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html
- Bedrock's automatic model access: the first call of a third-party model subscribes through
  AWS Marketplace with the caller's permissions,
  https://docs.aws.amazon.com/bedrock/latest/userguide/model-access.html
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from llmgw.parameters import check_parameters
from llmgw.specialise import resolve_template
from tools.render import ROOT

ENVS = ["dev", "prod"]
LAMBDA_VPC_ACTIONS = {
    "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
}  # fmt: skip
FLOW_LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"}
MARKETPLACE_ACTIONS = {"aws-marketplace:Subscribe", "aws-marketplace:Unsubscribe", "aws-marketplace:ViewSubscriptions"}


def _actions(role: dict) -> set[str]:
    found = set()
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow":
                actions = statement["Action"]
                found |= {actions} if isinstance(actions, str) else set(actions)
    return found


def _services(statement: dict) -> list[str]:
    service = statement["Principal"].get("Service", []) if isinstance(statement["Principal"], dict) else []
    return [service] if isinstance(service, str) else service


@pytest.mark.parametrize("env", ENVS)
def test_flow_log_role__holds_what_vpc_flow_logs_documents_and_trusts_only_this_accounts_flow_logs(deployed, env):
    role = deployed[env]["network"].resource("FlowLogRole")

    assert _actions(role) >= FLOW_LOG_ACTIONS
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert "vpc-flow-log/*" in str(trust["Condition"]["ArnLike"]["aws:SourceArn"])


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("role", ["MasterKeyRotationRole", "DbRotationRole"])
def test_rotation_roles__hold_every_ec2_action_lambda_needs_in_a_vpc(deployed, env, role):
    assert _actions(deployed[env]["database"].resource(role)) >= LAMBDA_VPC_ACTIONS


@pytest.mark.parametrize("env", ENVS)
def test_task_role__may_subscribe_to_a_model_on_its_first_call_through_aws_marketplace(deployed, env):
    assert _actions(deployed[env]["security"].resource("TaskRole")) >= MARKETPLACE_ACTIONS


def test_gateway_config__calls_bedrocks_claude_through_an_inference_profile():
    """Current Claude models on Bedrock answer on-demand calls only through an inference profile."""
    config = yaml.safe_load((ROOT / "image/config.yaml").read_text())
    bedrock = [
        m["litellm_params"]["model"]
        for m in config["model_list"]
        if m["litellm_params"]["model"].startswith("bedrock/")
    ]
    assert bedrock
    for model in bedrock:
        assert re.match(r"^bedrock/(us|eu|apac|global)\.anthropic\.claude-", model), model


@pytest.mark.parametrize("env", ENVS)
def test_alarm_topic__lets_eventbridge_and_cloudwatch_publish_and_use_its_key(deployed, env):
    """An encrypted topic takes EventBridge's messages only with both grants; the emulator evaluates neither.

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions
    """
    security = deployed[env]["security"]
    (policy,) = security.of_type("AWS::SNS::TopicPolicy").values()
    publishers = {
        service
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and "sns:Publish" in s["Action"]
        for service in _services(s)
    }
    assert {"events.amazonaws.com", "cloudwatch.amazonaws.com"} <= publishers
    key_users = {
        service
        for s in security.props("KmsKey")["KeyPolicy"]["Statement"]
        if "kms:GenerateDataKey*" in s["Action"] or "kms:GenerateDataKey" in s["Action"]
        for service in _services(s)
    }
    assert {"events.amazonaws.com", "cloudwatch.amazonaws.com"} <= key_users


@pytest.mark.parametrize("env", ENVS)
def test_db_rotation__checks_the_secret_against_the_gateways_user_and_rds_own_endpoint(deployed, env):
    """setSecret refuses any user but DB_USERNAME and its clone, and any host but DescribeDBInstances' endpoint."""
    database, security = deployed[env]["database"], deployed[env]["security"]
    variables = database.props("DbRotationFunction")["Environment"]["Variables"]
    template = json.loads(security.props("DatabaseSecret")["GenerateSecretString"]["SecretStringTemplate"])

    assert variables["DB_USERNAME"] == template["username"]
    assert variables["DB_INSTANCE_IDENTIFIER"] == {"Ref": "DBInstance"}
    assert "rds:DescribeDBInstances" in _actions(database.resource("DbRotationRole"))


def test_network_without_nat__has_an_endpoint_for_every_aws_api_the_rotation_functions_call(deployed):
    """With NatGateways 0, a function in the private subnets reaches only what has an interface endpoint.

    The calls are those test_rotation__calls_only_what_the_functions_role_allows
    records: Secrets Manager for both functions, RDS's DescribeDBInstances and
    ECS's UpdateService for the database one.
    """
    network = deployed["dev"]["network"]
    values = check_parameters(network.rendered.template, {**network.values, "NatGateways": "0"})
    resources = resolve_template(network.rendered.template, values)["Resources"]
    services = {
        r["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[-1]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::VPCEndpoint"
    }

    assert {"secretsmanager", "rds", "ecs"} <= services


def test_task_role__may_invoke_the_configured_bedrock_models_and_nothing_else():
    """The task role reaches the config's Bedrock models in BedrockRegion, or through its profiles, and no others."""
    import fnmatch

    from tools.checklist import environment

    (policy,) = environment("prod").props("security", "TaskRole")["Policies"]
    statements = [s for s in policy["PolicyDocument"]["Statement"] if "bedrock:InvokeModel" in s["Action"]]
    region, account = "us-east-1", "123456789012"

    def allowed(arn: str, via_profile: str | None) -> bool:
        for statement in statements:
            patterns = [
                r["Fn::Sub"].replace("${AWS::Partition}", "aws").replace("${BedrockRegion}", region)
                .replace("${AWS::AccountId}", account)
                for r in statement["Resource"]
            ]  # fmt: skip
            condition = statement.get("Condition", {}).get("StringLike", {}).get("bedrock:InferenceProfileArn")
            if condition and not (
                via_profile
                and fnmatch.fnmatch(
                    via_profile,
                    condition["Fn::Sub"]
                    .replace("${AWS::Partition}", "aws")
                    .replace("${BedrockRegion}", region)
                    .replace("${AWS::AccountId}", account),
                )
            ):
                continue
            if any(fnmatch.fnmatch(arn, p) for p in patterns):
                return True
        return False

    config = yaml.safe_load((ROOT / "image/config.yaml").read_text())
    for model in (m["litellm_params"]["model"] for m in config["model_list"]):
        if not model.startswith("bedrock/"):
            continue
        profile_id = model.removeprefix("bedrock/")
        model_id = profile_id.split(".", 1)[1]
        profile = f"arn:aws:bedrock:{region}:{account}:inference-profile/{profile_id}"
        assert allowed(profile, None), profile
        for destination in (f"arn:aws:bedrock:us-west-2::foundation-model/{model_id}",
                            f"arn:aws:bedrock:::foundation-model/{model_id}"):  # fmt: skip
            assert allowed(destination, profile), destination
            assert not allowed(destination, None), f"{destination} without an inference profile"
    assert not allowed(f"arn:aws:bedrock:{region}::foundation-model/meta.llama3-70b-instruct-v1:0", None)
    assert not allowed("arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-v2", None)
