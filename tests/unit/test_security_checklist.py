"""The security checklist items that no stock checkov check sees, over each environment as it deploys.

``make lint`` runs this file after checkov. Each test names its checklist
item (../shared/notes/security-checklist.md numbering, mirrored in
docs/security.md). Where an item holds only in prod, the test says so and
checks prod; dev's departures are the documented ones.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tools.render import ROOT

ENVS = ("dev", "prod")
# Actions with no resource-level permissions, for which IAM needs Resource "*".
# Actions with no resource-level permissions (the Service Authorization Reference): only * works.
UNSCOPABLE_ACTIONS = {
    "aws-marketplace:Subscribe",
    "aws-marketplace:Unsubscribe",
    "aws-marketplace:ViewSubscriptions",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "ecr:GetAuthorizationToken",
    "secretsmanager:GetRandomPassword",
}
SUPPORTED_PYTHON_RUNTIMES = {"python3.12", "python3.13"}
API_KEY_HEADERS = {"authorization", "x-api-key", "api-key", "x-litellm-api-key"}


def _all_resources(deployed, env) -> dict[str, dict[str, Any]]:
    return {f"{stack}/{name}": body for stack, d in deployed[env].items() for name, body in d.resources.items()}


def _of_type(deployed, env, resource_type) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in _all_resources(deployed, env).items() if body["Type"] == resource_type}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize(("stack", "key"), [("security", "KmsKey"), ("network", "FlowLogKey")])
def test_item_1__keys_rotate_and_their_policies_name_no_wildcard_principal(deployed, env, stack, key):
    props = deployed[env][stack].props(key)
    assert props["EnableKeyRotation"] is True and props["PendingWindowInDays"] == 30
    for statement in props["KeyPolicy"]["Statement"]:
        principal = statement["Principal"]
        assert principal != "*" and principal.get("AWS") != "*", statement["Sid"]
        if "Service" in principal:
            assert "Condition" in statement, f"{statement['Sid']}: a service principal needs a condition"


@pytest.mark.parametrize("env", ENVS)
def test_item_4__salt_key_is_generated_once_and_reaches_the_task_from_the_master_key_secret(deployed, env):
    secret = deployed[env]["security"].props("MasterKeySecret")
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "LITELLM_SALT_KEY"
    (container,) = deployed[env]["litellm"].props("TaskDefinition")["ContainerDefinitions"]
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert ":LITELLM_SALT_KEY::" in str(secrets["LITELLM_SALT_KEY"])
    assert "MasterKeySecretArn" in str(secrets["LITELLM_SALT_KEY"]) or "master-key" in str(secrets["LITELLM_SALT_KEY"])
    # The rotation function copies the salt key into every new version, unchanged.
    rotation = (ROOT / "lambdas/master_key_rotation/handler.py").read_text()
    assert "LITELLM_SALT_KEY" in rotation


@pytest.mark.parametrize("env", ENVS)
def test_item_8__database_uses_a_parameter_group_that_forces_tls(deployed, env):
    database = deployed[env]["database"]
    group = database.props("DBInstance")["DBParameterGroupName"]
    # checkov's CKV2_AWS_69 passes when no group is attached; here the group must be ours.
    assert group == {"Ref": "ParameterGroup"}
    assert str(database.props("ParameterGroup")["Parameters"]["rds.force_ssl"]) == "1"


@pytest.mark.parametrize("env", ENVS)
def test_item_10__database_keeps_a_week_of_backups_logs_and_minor_upgrades(deployed, env):
    props = deployed[env]["database"].props("DBInstance")
    assert int(props["BackupRetentionPeriod"]) >= 7
    assert props["CopyTagsToSnapshot"] is True
    assert props["AutoMinorVersionUpgrade"] is True
    assert "postgresql" in props["EnableCloudwatchLogsExports"]
    assert str(props["EnablePerformanceInsights"]).lower() == ("true" if env == "prod" else "false")


@pytest.mark.parametrize("env", ENVS)
def test_item_11__every_security_group_rule_is_described(deployed, env):
    for name, group in _of_type(deployed, env, "AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get("SecurityGroupIngress", []) + group["Properties"].get(
            "SecurityGroupEgress", []
        ):
            assert rule.get("Description"), f"{name}: {rule}"
    for resource_type in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        for name, rule in _of_type(deployed, env, resource_type).items():
            assert rule["Properties"].get("Description"), name


@pytest.mark.parametrize("env", ENVS)
def test_item_12__private_subnets_never_assign_public_addresses(deployed, env):
    network = deployed[env]["network"]
    for subnet in ("PrivateSubnet1", "PrivateSubnet2"):
        assert network.props(subnet).get("MapPublicIpOnLaunch", False) is False
    vpc = deployed[env]["litellm"].props("Service")["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc["AssignPublicIp"] == "DISABLED"


@pytest.mark.parametrize("env", ENVS)
def test_item_15__load_balancer_drops_bad_headers_and_logs_to_an_encrypted_private_bucket(deployed, env):
    alb = deployed[env]["alb"]
    attributes = {a["Key"]: a["Value"] for a in alb.props("LoadBalancer")["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] in ("defensive", "strictest")
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": "AccessLogBucket"}
    assert attributes["deletion_protection.enabled"] == ("true" if env == "prod" else "false")
    bucket = alb.props("AccessLogBucket")
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"  # the only kind ALB can write
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    statements = alb.props("AccessLogBucketPolicy")["PolicyDocument"]["Statement"]
    tls_only = {"Bool": {"aws:SecureTransport": "false"}}
    assert any(s["Effect"] == "Deny" and s.get("Condition") == tls_only for s in statements)


@pytest.mark.parametrize("env", ENVS)
def test_item_15__every_bucket_refuses_requests_without_tls(deployed, env):
    buckets = {(stack, name) for stack, d in deployed[env].items() for name in d.of_type("AWS::S3::Bucket")}
    policies = {
        (stack, policy["Properties"]["Bucket"]["Ref"]): policy["Properties"]["PolicyDocument"]
        for stack, d in deployed[env].items()
        for policy in d.of_type("AWS::S3::BucketPolicy").values()
    }
    assert buckets, "the templates have buckets"
    for stack, bucket in sorted(buckets):
        document = policies.get((stack, bucket))
        assert document is not None, f"{stack}/{bucket} has no bucket policy"
        denies = [
            s for s in document["Statement"]
            if s["Effect"] == "Deny" and s["Principal"] == "*" and s["Action"] in ("s3:*", ["s3:*"])
            and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]  # fmt: skip
        assert denies, f"{stack}/{bucket} accepts plain HTTP"
        resources = denies[0]["Resource"]
        assert {"Fn::GetAtt": [bucket, "Arn"]} in resources and {"Fn::Sub": f"${{{bucket}.Arn}}/*"} in resources


def test_item_16__prod_serves_tls_1_3_and_port_80_only_redirects(deployed):
    alb = deployed["prod"]["alb"]
    assert alb.props("HttpsListener")["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    (action,) = alb.props("HttpListener")["DefaultActions"]
    assert action["Type"] == "redirect" and action["RedirectConfig"]["Protocol"] == "HTTPS"
    # Every routing rule hangs off the HTTPS listener, so nothing is served on 80.
    for name, rule in alb.of_type("AWS::ElasticLoadBalancingV2::ListenerRule").items():
        assert rule["Properties"]["ListenerArn"] == {"Ref": "HttpsListener"}, name


def test_item_17__prod_waf_has_the_rules_metrics_and_logs_without_api_keys(deployed):
    alb = deployed["prod"]["alb"]
    acl = alb.props("WebAcl")
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    assert "RateBasedStatement" in rules["rate-limit-per-ip"]["Statement"]
    managed = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Rules"] if "OverrideAction" in r}
    assert managed == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    assert all(rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True for rule in acl["Rules"])
    assert alb.props("WebAclAssociation")["WebACLArn"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    logging = alb.props("WafLogging")
    assert logging["ResourceArn"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    assert {f["SingleHeader"]["Name"] for f in logging["RedactedFields"]} >= API_KEY_HEADERS


@pytest.mark.parametrize("env", ENVS)
def test_item_18__task_runs_awsvpc_unprivileged_as_a_non_root_user_logging_to_cloudwatch(deployed, env):
    task = deployed[env]["litellm"].props("TaskDefinition")
    assert task["NetworkMode"] == "awsvpc"
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    (container,) = task["ContainerDefinitions"]
    assert container.get("Privileged", False) is False
    assert container["User"] == "65534:65534"
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    dockerfile = (ROOT / "image/Dockerfile").read_text()
    assert re.search(r"^USER 65534:65534\s*$", dockerfile, re.MULTILINE), "the image itself drops root too"


@pytest.mark.parametrize("env", ENVS)
def test_item_19__service_rolls_back_failed_deploys_on_the_latest_platform_in_two_azs(deployed, env):
    litellm = deployed[env]["litellm"]
    service = litellm.props("Service")
    assert service["PlatformVersion"] == "LATEST"
    configuration = service["DeploymentConfiguration"]
    assert configuration["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert (configuration["MinimumHealthyPercent"], configuration["MaximumPercent"]) == (100, 200)
    (container,) = litellm.props("TaskDefinition")["ContainerDefinitions"]
    start = int(container["HealthCheck"]["StartPeriod"])
    assert int(service["HealthCheckGracePeriodSeconds"]) >= start, "the grace period covers LiteLLM's start"
    subnets = service["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    assert len(_as_list(subnets)) == 2 or "," in str(subnets)


@pytest.mark.parametrize("env", ENVS)
def test_item_22__rotation_functions_run_in_the_vpc_with_no_layers_and_no_reservation_a_new_account_refuses(
    deployed, env
):
    database = deployed[env]["database"]
    functions = database.of_type("AWS::Lambda::Function")
    assert len(functions) == 2
    for name, function in functions.items():
        props = function["Properties"]
        assert props["VpcConfig"]["SubnetIds"] and props["VpcConfig"]["SecurityGroupIds"], name
        # Lambda keeps 10 executions unreserved, so on a new account (limit 10) any reservation fails the launch.
        assert "ReservedConcurrentExecutions" not in props, name
        assert props["Runtime"] in SUPPORTED_PYTHON_RUNTIMES, name
        assert "Layers" not in props, name
    permissions = database.of_type("AWS::Lambda::Permission")
    assert len(permissions) == 2
    for name, permission in permissions.items():
        props = permission["Properties"]
        assert props["Principal"] == "secretsmanager.amazonaws.com", name
        assert props["SourceArn"] and props["SourceAccount"], name


@pytest.mark.parametrize("env", ENVS)
def test_item_23__roles_grant_no_wildcard_actions_and_wildcard_resources_only_where_iam_requires(deployed, env):
    for name, role in _of_type(deployed, env, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = _as_list(statement["Action"])
                assert not any(a == "*" or a.endswith(":*") for a in actions), f"{name}: {actions}"
                if "*" in _as_list(statement["Resource"]) and statement["Effect"] == "Allow":
                    assert set(actions) <= UNSCOPABLE_ACTIONS, f"{name}: {actions} on *"
                if "iam:PassRole" in actions:
                    assert "*" not in _as_list(statement["Resource"]), f"{name}: unscoped iam:PassRole"


@pytest.mark.parametrize("env", ENVS)
def test_item_24__every_log_group_has_retention_and_the_customer_managed_key(deployed, env):
    groups = _of_type(deployed, env, "AWS::Logs::LogGroup")
    # flow logs, gateway, two rotation functions, the migration function, the database's postgresql and upgrade
    # logs; prod adds the WAF's
    assert len(groups) == (8 if env == "prod" else 7)
    for name, group in groups.items():
        props = group["Properties"]
        assert int(props["RetentionInDays"]) > 0, name
        key = props["KmsKeyId"]
        customer_managed = ({"Fn::GetAtt": ["KmsKey", "Arn"]}, {"Fn::GetAtt": ["FlowLogKey", "Arn"]})
        assert key in customer_managed or str(key).startswith("arn:aws:kms:"), name


def test_item_26__prod_stacks_are_protected_by_the_launch_and_the_policy_covers_every_stateful_type():
    import json

    from tools.replacement_guard import STATEFUL_TYPES

    policy = json.loads((ROOT / "config/stack-policies/protect-stateful.json").read_text())
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert set(deny["Action"]) == {"Update:Replace", "Update:Delete"}
    assert set(STATEFUL_TYPES) <= set(deny["Condition"]["StringEquals"]["ResourceType"])
    for stack in ("security", "network", "alb", "database", "litellm"):
        config = (ROOT / f"config/prod/{stack}.yaml").read_text()
        assert "!protect_stack config/stack-policies/protect-stateful.json" in config, stack
