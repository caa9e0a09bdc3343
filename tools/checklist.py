"""The security checklist as code: one check per item, over each environment's templates as they deploy.

    python -m tools.checklist          every item of both environments; exit 1 naming each finding

checkov proves the items it has a real check for (``CHECKOV_ITEMS``); these
checks prove the rest and whatever checkov cannot see. A check yields one line
per finding, naming the resource; the gate prefixes the item, so a failure reads
``item 13 (flow logs) prod/network/Vpc: no flow log``. A property a check needs
and cannot find is a finding too, never a ``KeyError``.

``tools/mutations.py`` breaks each item in a copy of the repository and requires
this gate (with checkov) to fail naming it; docs/security.md lists the same table.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.render import ENVIRONMENTS, EXAMPLE_OUTPUTS, EXAMPLE_VARIABLES_BY_ENV, ROOT

# checkov checks that really test an item's property. Checks whose names match
# but which test something else are not here: CKV_AWS_97 is EFS transit
# encryption, CKV_AWS_192 the Log4j rule of a WAF, CKV_AWS_24/25/260 only ports
# 22, 3389 and 80.
CHECKOV_ITEMS: dict[str, int] = {
    "CKV_AWS_7": 1,
    "CKV_AWS_33": 1,
    "CKV_AWS_149": 2,
    "CKV_AWS_16": 7,
    "CKV_AWS_17": 7,
    "CKV_AWS_157": 9,
    "CKV_AWS_293": 9,
    "CKV_AWS_158": 24,
    "CKV_AWS_66": 24,
    "CKV_AWS_91": 15,
    "CKV_AWS_131": 15,
    "CKV_AWS_150": 15,
    "CKV_AWS_2": 16,
    "CKV_AWS_103": 16,
    "CKV_AWS_65": 20,
    "CKV_AWS_32": 21,
    "CKV_AWS_51": 21,
    "CKV_AWS_136": 21,
    "CKV_AWS_163": 21,
    "CKV_AWS_117": 22,
    "CKV_AWS_173": 22,
    "CKV_AWS_363": 22,
    "CKV_AWS_45": 5,  # no secrets in a function's environment
    "CKV_AWS_60": 23,
    "CKV_AWS_61": 23,
    "CKV_AWS_62": 23,
    "CKV_AWS_63": 23,
    "CKV_AWS_107": 23,
    "CKV_AWS_108": 23,
    "CKV_AWS_109": 23,
    "CKV_AWS_110": 23,
    "CKV_AWS_111": 23,
}
# checkov's secrets framework (a committed key, token or password) proves item 5.
CHECKOV_SECRET_PREFIX = "CKV_SECRET_"

# Actions with no resource-level permissions (the Service Authorization Reference): only "*" works.
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
    "cloudwatch:PutMetricData",
}
# List actions that IAM authorises only on every resource of their kind in the account.
ACCOUNT_WIDE_ACTIONS = {"logs:DescribeLogGroups"}  # on log-group:* (the flow-log delivery role needs it)
SUPPORTED_PYTHON_RUNTIMES = {"python3.12", "python3.13"}
# Every header a client may send a key in: OpenAI's, Azure's and Anthropic's styles, LiteLLM's own, Gemini's.
API_KEY_HEADERS = {"authorization", "x-api-key", "api-key", "x-litellm-api-key", "x-goog-api-key"}
# The only plain environment variables a container or function may have: anything else could be a
# secret under a new name (a low-entropy one slips past every entropy scanner). A new setting is added
# here, in review; a secret goes to Secrets Manager and reaches the task through Secrets/ValueFrom.
PLAIN_ENVIRONMENT = {
    "LITELLM_LOG",
    "NUM_WORKERS",
    "STORE_MODEL_IN_DB",
    "LITELLM_MODE",
    "UI_ACCESS_MODE",
    "LITELLM_LOCAL_MODEL_COST_MAP",
    "DISABLE_SCHEMA_UPDATE",
    "LITELLM_MASTER_KEY_SECRET_ARN",
    "LITELLM_MASTER_KEY_CACHE_SECONDS",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_SSL",
    "GRACE_DAYS",
    "KEY_PROPAGATION_SECONDS",
    "ECS_CLUSTER",
    "ECS_SERVICE",
    "MASTER_SECRET_ARN",
    "SECRET_ARN",
    "METRIC_NAME",
    "DB_INSTANCE_IDENTIFIER",
    "DB_USERNAME",
}
# Secrets the rotation functions own, by the stack output that names them.
ROTATED_SECRETS = ("MasterKeySecretArn", "DatabaseSecretArn")
# The seven body rules counted on the API (docs/security.md, "The WAF"); every other managed rule blocks.
COUNTED_BODY_RULES = {
    "SizeRestrictions_BODY",
    "CrossSiteScripting_BODY",
    "GenericLFI_BODY",
    "GenericRFI_BODY",
    "EC2MetaDataSSRF_BODY",
    "JavaDeserializationRCE_BODY",
    "Log4JRCE_BODY",
}
INTERFACE_ENDPOINTS = {"ecr.api", "ecr.dkr", "secretsmanager", "logs"}


class Missing(Exception):
    """A property a check needs is absent: a finding that names where, not a KeyError."""


@dataclass
class Environment:
    """One environment's stacks as they deploy: ``{"network": specialised template, ...}``."""

    name: str
    stacks: dict[str, dict[str, Any]]
    project: Path = ROOT
    # each stack's parameter values as Sceptre passes them, and its template before specialising
    parameters: dict[str, dict[str, str]] = field(default_factory=dict)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resources(self, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """``("stack/LogicalId", resource)`` for every resource of that type."""
        for stack, template in self.stacks.items():
            for logical_id, body in template.get("Resources", {}).items():
                if body.get("Type") == resource_type:
                    yield f"{stack}/{logical_id}", body

    def resource(self, stack: str, logical_id: str) -> dict[str, Any]:
        try:
            return self.stacks[stack]["Resources"][logical_id]
        except KeyError:
            raise Missing(f"{stack}/{logical_id}: no such resource") from None

    def props(self, stack: str, logical_id: str) -> dict[str, Any]:
        return self.resource(stack, logical_id).get("Properties", {})


def get(node: Any, *path: str | int, where: str) -> Any:
    """``node[path[0]][path[1]]...``, or ``Missing`` naming the first step that is absent."""
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            raise Missing(f"{where}: {'.'.join(map(str, path))} is missing") from None
    return node


def as_list(value: Any) -> list[Any]:
    if isinstance(value, str) and "," in value:
        return value.split(",")  # a CommaDelimitedList parameter, substituted
    return value if isinstance(value, list) else [value]


Finding = str
CheckFunction = Callable[[Environment], Iterator[Finding]]


@dataclass(frozen=True)
class Check:
    item: int
    title: str
    function: CheckFunction
    environments: tuple[str, ...] = ENVIRONMENTS

    @property
    def name(self) -> str:
        return self.function.__name__

    def run(self, env: Environment) -> list[str]:
        """Each finding as one line that names the item, the environment and the resource."""
        prefix = f"item {self.item} ({self.title}) {env.name}/"
        try:
            return [prefix + finding for finding in self.function(env)]
        except Missing as missing:
            return [prefix + str(missing)]


CHECKS: list[Check] = []
TITLES: dict[int, str] = {}


def check(item: int, title: str, environments: tuple[str, ...] = ENVIRONMENTS):
    def register(function: CheckFunction) -> CheckFunction:
        TITLES.setdefault(item, title)
        CHECKS.append(Check(item, TITLES[item], function, environments))
        return function

    return register


# ---- 1-5: keys and secrets ----------------------------------------------------------------


@check(1, "KMS keys")
def keys_rotate_with_a_30_day_window_and_no_wildcard_principal(env: Environment) -> Iterator[Finding]:
    keys = list(env.resources("AWS::KMS::Key"))
    if not keys:
        yield "security: no KMS key"
    for name, key in keys:
        props = key.get("Properties", {})
        if props.get("EnableKeyRotation") is not True:
            yield f"{name}: EnableKeyRotation is not true"
        if str(props.get("PendingWindowInDays")) != "30":
            yield f"{name}: PendingWindowInDays is {props.get('PendingWindowInDays')}, not 30"
        for statement in get(props, "KeyPolicy", "Statement", where=name):
            principal = statement.get("Principal", {})
            if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
                yield f"{name}: statement {statement.get('Sid')} allows any principal"
            elif isinstance(principal, dict) and "Service" in principal and "Condition" not in statement:
                yield f"{name}: statement {statement.get('Sid')} gives a service principal no condition"
    if env.name == "prod" and env.resource("security", "KmsKey").get("DeletionPolicy") != "Retain":
        yield "security/KmsKey: not retained on delete"


@check(2, "secrets use the CMK")
def every_secret_is_encrypted_with_the_customer_managed_key(env: Environment) -> Iterator[Finding]:
    secrets = list(env.resources("AWS::SecretsManager::Secret"))
    if len(secrets) < 5:
        yield f"security: {len(secrets)} secrets, not the 5 the gateway needs"
    for name, secret in secrets:
        if secret.get("Properties", {}).get("KmsKeyId") != {"Ref": "KmsKey"}:
            yield f"{name}: KmsKeyId is not the stack's KmsKey"


@check(3, "rotation every 30 days or less")
def master_key_and_database_secrets_rotate_within_30_days(env: Environment) -> Iterator[Finding]:
    schedules = {
        str(body.get("Properties", {}).get("SecretId")): (name, body.get("Properties", {}))
        for name, body in env.resources("AWS::SecretsManager::RotationSchedule")
    }
    for output in ROTATED_SECRETS:
        arn = EXAMPLE_OUTPUTS[output]
        if arn not in schedules:
            yield f"database: no rotation schedule for the secret {output} names"
            continue
        name, props = schedules[arn]
        days = get(props, "RotationRules", where=name).get("AutomaticallyAfterDays")
        expression = str(props["RotationRules"].get("ScheduleExpression", ""))
        rate = re.fullmatch(r"rate\((\d+) days?\)", expression)
        if not (days is not None and 0 < int(days) <= 30) and not (rate and 0 < int(rate[1]) <= 30):
            yield f"{name}: rotates after {days or expression or 'never'}, not within 30 days"
        if "RotationLambdaARN" not in props:
            yield f"{name}: no rotation function"


@check(4, "salt key generated once")
def salt_key_is_generated_once_and_reaches_the_task_from_the_master_key_secret(env: Environment) -> Iterator[Finding]:
    secret = env.props("security", "MasterKeySecret")
    if get(secret, "GenerateSecretString", "GenerateStringKey", where="security/MasterKeySecret") != "LITELLM_SALT_KEY":
        yield "security/MasterKeySecret: does not generate LITELLM_SALT_KEY"
    salt = _container_secrets(env, "TaskDefinition").get("LITELLM_SALT_KEY", "")
    if ":LITELLM_SALT_KEY::" not in str(salt) or "MasterKeySecretArn" not in str(salt):
        yield "litellm/TaskDefinition: LITELLM_SALT_KEY does not come from the master-key secret"
    if "LITELLM_SALT_KEY" not in (env.project / "lambdas/master_key_rotation/handler.py").read_text():
        yield "lambdas/master_key_rotation: the rotation does not carry LITELLM_SALT_KEY over"


PASSWORD_PROPERTIES = {"MasterUserPassword", "AuthToken", "Password", "MasterPassword"}


def _password_values(node: Any, where: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in PASSWORD_PROPERTIES:
                yield f"{where}.{key}", value
            yield from _password_values(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _password_values(value, f"{where}[{index}]")


@check(5, "no plaintext passwords")
def passwords_are_dynamic_references_and_secret_templates_hold_no_value(env: Environment) -> Iterator[Finding]:
    for stack, template in env.stacks.items():
        for logical_id, body in template.get("Resources", {}).items():
            for where, value in _password_values(body.get("Properties", {}), f"{stack}/{logical_id}"):
                if "{{resolve:secretsmanager:" not in json.dumps(value):
                    yield f"{where}: not a Secrets Manager dynamic reference"
    for name, secret in env.resources("AWS::SecretsManager::Secret"):
        props = secret.get("Properties", {})
        stored = props.get("SecretString")
        generated = props.get("GenerateSecretString", {}).get("SecretStringTemplate")
        for text, what in ((stored, "SecretString"), (generated, "SecretStringTemplate")):
            if text is None:
                continue
            if isinstance(text, dict) and "Fn::Sub" in text:
                text = text["Fn::Sub"]
            try:
                values = json.loads(text)
            except (TypeError, ValueError):
                yield f"{name}: {what} is not a JSON template of empty slots"
                continue
            for key, value in values.items() if isinstance(values, dict) else []:
                if re.search(r"(?i)key|password|token|secret", key) and value not in ("", "UNSEEDED"):
                    yield f"{name}: {what} holds a value for {key}"


# ---- 6-10: the task's secrets and the database -------------------------------------------------


def _containers(env: Environment) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, task in env.resources("AWS::ECS::TaskDefinition"):
        for container in get(task, "Properties", "ContainerDefinitions", where=name):
            yield f"{name}/{container.get('Name', '?')}", container


def _container_secrets(env: Environment, logical_id: str) -> dict[str, Any]:
    (container,) = get(env.props("litellm", logical_id), "ContainerDefinitions", where=f"litellm/{logical_id}")
    return {s.get("Name"): s.get("ValueFrom") for s in container.get("Secrets", [])}


@check(6, "task secrets from Secrets Manager")
def containers_and_functions_hold_only_known_plain_settings(env: Environment) -> Iterator[Finding]:
    for name, container in _containers(env):
        for variable in container.get("Environment", []):
            if variable.get("Name") not in PLAIN_ENVIRONMENT:
                yield f"{name}: environment variable {variable.get('Name')} is not a known plain setting"
        for secret in container.get("Secrets", []):
            source = json.dumps(secret.get("ValueFrom"))
            if "arn:aws:secretsmanager:" not in source and not re.search(r"\$\{\w+SecretArn\}", source):
                yield f"{name}: secret {secret.get('Name')} does not come from Secrets Manager"
    if "DATABASE_URL" not in _container_secrets(env, "TaskDefinition"):
        yield "litellm/TaskDefinition: DATABASE_URL is not a secret"
    for name, function in env.resources("AWS::Lambda::Function"):
        for variable in function.get("Properties", {}).get("Environment", {}).get("Variables", {}):
            if variable not in PLAIN_ENVIRONMENT:
                yield f"{name}: environment variable {variable} is not a known plain setting"


def _private_subnets(value: Any) -> bool:
    return sorted(as_list(value)) == sorted(EXAMPLE_OUTPUTS["PrivateSubnetIds"])


@check(7, "database encrypted and private")
def database_is_encrypted_with_the_key_in_the_private_subnets(env: Environment) -> Iterator[Finding]:
    where = "database/DBInstance"
    props = env.props("database", "DBInstance")
    if props.get("StorageEncrypted") is not True:
        yield f"{where}: StorageEncrypted is not true"
    if props.get("KmsKeyId") != EXAMPLE_OUTPUTS["KmsKeyArn"]:
        yield f"{where}: KmsKeyId is not the security stack's key"
    if props.get("PubliclyAccessible", False) is not False:
        yield f"{where}: publicly accessible"
    if props.get("DBSubnetGroupName") != {"Ref": "SubnetGroup"}:
        yield f"{where}: not in the stack's SubnetGroup"
    groups = ["SubnetGroup"] + (["CacheSubnetGroup"] if "Cache" in env.stacks["database"]["Resources"] else [])
    for group in groups:
        if not _private_subnets(get(env.props("database", group), "SubnetIds", where=f"database/{group}")):
            yield f"database/{group}: subnets are not the network stack's private subnets"


@check(8, "TLS to the database")
def database_uses_a_parameter_group_that_forces_tls(env: Environment) -> Iterator[Finding]:
    # checkov's CKV2_AWS_69 passes when no group is attached; here the group must be ours.
    if env.props("database", "DBInstance").get("DBParameterGroupName") != {"Ref": "ParameterGroup"}:
        yield "database/DBInstance: not in the stack's ParameterGroup"
    parameters = get(env.props("database", "ParameterGroup"), "Parameters", where="database/ParameterGroup")
    if str(parameters.get("rds.force_ssl")) != "1":
        yield "database/ParameterGroup: rds.force_ssl is not 1"


@check(9, "prod database durable", ("prod",))
def prod_database_is_multi_az_protected_and_snapshotted(env: Environment) -> Iterator[Finding]:
    instance = env.resource("database", "DBInstance")
    props = instance.get("Properties", {})
    if str(props.get("MultiAZ")).lower() != "true":
        yield "database/DBInstance: not Multi-AZ"
    if str(props.get("DeletionProtection")).lower() != "true":
        yield "database/DBInstance: no deletion protection"
    for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
        if instance.get(policy) != "Snapshot":
            yield f"database/DBInstance: {policy} is {instance.get(policy)}, not Snapshot"


@check(10, "backups, logs and upgrades")
def database_keeps_a_week_of_backups_logs_and_minor_upgrades(env: Environment) -> Iterator[Finding]:
    where = "database/DBInstance"
    props = env.props("database", "DBInstance")
    if int(props.get("BackupRetentionPeriod", 0)) < 7:
        yield f"{where}: BackupRetentionPeriod below 7 days"
    if props.get("CopyTagsToSnapshot") is not True:
        yield f"{where}: CopyTagsToSnapshot is not true"
    if props.get("AutoMinorVersionUpgrade") is not True:
        yield f"{where}: AutoMinorVersionUpgrade is not true"
    if "postgresql" not in props.get("EnableCloudwatchLogsExports", []):
        yield f"{where}: the postgresql log is not exported"
    if env.name == "prod" and str(props.get("EnablePerformanceInsights")).lower() != "true":
        yield f"{where}: Performance Insights off in prod"


# ---- 11-14: the network ----------------------------------------------------------------------

# Every rule the network may hold: (group, direction, port, peer). Anything else fails, by name.
SECURITY_GROUP_CHAIN = {
    ("AlbSecurityGroup", "ingress", 443, "ClientCidr"),
    ("AlbSecurityGroup", "ingress", 80, "ClientCidr"),
    ("CacheSecurityGroup", "ingress", 6379, "EcsSecurityGroup"),
    ("EcsSecurityGroup", "ingress", 4000, "AlbSecurityGroup"),
    ("RdsSecurityGroup", "ingress", 5432, "EcsSecurityGroup"),
    ("RdsSecurityGroup", "ingress", 5432, "LambdaSecurityGroup"),
    ("VpcEndpointSecurityGroup", "ingress", 443, "VpcCidr"),
    ("AlbSecurityGroup", "egress", 4000, "EcsSecurityGroup"),
    ("EcsSecurityGroup", "egress", 443, "0.0.0.0/0"),
    ("EcsSecurityGroup", "egress", 5432, "RdsSecurityGroup"),
    ("EcsSecurityGroup", "egress", 6379, "CacheSecurityGroup"),
    ("LambdaSecurityGroup", "egress", 443, "VpcEndpointSecurityGroup"),
    ("LambdaSecurityGroup", "egress", 5432, "RdsSecurityGroup"),
    ("MasterKeyRotationSecurityGroup", "egress", 443, "VpcEndpointSecurityGroup"),
    # Only with EnableInterfaceEndpoints false, where AWS is reached through NAT (item 36).
    ("LambdaSecurityGroup", "egress", 443, "0.0.0.0/0"),
    ("MasterKeyRotationSecurityGroup", "egress", 443, "0.0.0.0/0"),
}
DENY_ALL_PLACEHOLDER = "127.0.0.1/32"


def _security_group_rules(env: Environment) -> Iterator[tuple[str, tuple[str, str, Any, Any], dict[str, Any]]]:
    network = env.stacks.get("network", {}).get("Resources", {})
    cidr = env.props("network", "Vpc").get("CidrBlock")
    for logical_id, body in network.items():
        props = body.get("Properties", {})
        if body.get("Type") == "AWS::EC2::SecurityGroup":
            for direction, key in (("ingress", "SecurityGroupIngress"), ("egress", "SecurityGroupEgress")):
                for rule in props.get(key, []):
                    port, peer = _port_and_peer(rule, cidr)
                    if direction == "ingress" and peer == env.parameters.get("network", {}).get("ClientCidr"):
                        peer = "ClientCidr"  # the clients' range, whatever the environment sets it to
                    yield logical_id, (logical_id, direction, port, peer), rule
        elif body.get("Type") in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
            direction = "ingress" if body["Type"].endswith("Ingress") else "egress"
            group = props.get("GroupId", {})
            group = group.get("Ref") if isinstance(group, dict) else group
            yield logical_id, (group, direction, *_port_and_peer(props, cidr)), props


def _port_and_peer(rule: dict[str, Any], vpc_cidr: Any) -> tuple[Any, Any]:
    low, high = rule.get("FromPort"), rule.get("ToPort")
    ports = low if low == high else (low, high)
    if str(rule.get("IpProtocol")) == "-1":
        ports = "all"
    for key in ("SourceSecurityGroupId", "DestinationSecurityGroupId"):
        if key in rule:
            peer = rule[key]
            return ports, peer.get("Ref") if isinstance(peer, dict) else peer
    cidr = rule.get("CidrIp", rule.get("CidrIpv6"))
    return ports, "VpcCidr" if cidr == vpc_cidr or isinstance(cidr, dict) else cidr


@check(11, "security group chain")
def security_groups_allow_exactly_the_chain_with_described_rules(env: Environment) -> Iterator[Finding]:
    for logical_id, rule, body in _security_group_rules(env):
        if not body.get("Description"):
            yield f"network/{logical_id}: a rule without a Description"
        if rule[3] == DENY_ALL_PLACEHOLDER:
            continue
        if rule not in SECURITY_GROUP_CHAIN:
            group, direction, port, peer = rule
            yield f"network/{logical_id}: {group} {direction} on {port} with {peer} is not in the chain"
    for name, group in env.resources("AWS::EC2::SecurityGroup"):
        if not group.get("Properties", {}).get("SecurityGroupEgress"):
            yield f"{name}: keeps EC2's default allow-all egress"


@check(12, "no public addresses")
def private_subnets_and_tasks_get_no_public_address(env: Environment) -> Iterator[Finding]:
    for subnet in ("PrivateSubnet1", "PrivateSubnet2"):
        if env.props("network", subnet).get("MapPublicIpOnLaunch", False) is not False:
            yield f"network/{subnet}: assigns public addresses"
    vpc = get(env.props("litellm", "Service"), "NetworkConfiguration", "AwsvpcConfiguration", where="litellm/Service")
    if vpc.get("AssignPublicIp") != "DISABLED":
        yield "litellm/Service: tasks get public addresses"
    if not _private_subnets(vpc.get("Subnets")):
        yield "litellm/Service: tasks are not in the network stack's private subnets"
    for name, function in env.resources("AWS::Lambda::Function"):
        subnets = function.get("Properties", {}).get("VpcConfig", {}).get("SubnetIds")
        if subnets is not None and not _private_subnets(subnets):
            yield f"{name}: not in the network stack's private subnets"


@check(13, "flow logs")
def every_vpc_logs_all_traffic_to_an_encrypted_log_group(env: Environment) -> Iterator[Finding]:
    logs = {
        (props.get("ResourceId") or {}).get("Ref"): (name, props)
        for name, body in env.resources("AWS::EC2::FlowLog")
        for props in [body.get("Properties", {})]
    }
    for name, _ in env.resources("AWS::EC2::VPC"):
        logical_id = name.split("/")[1]
        if logical_id not in logs:
            yield f"{name}: no flow log"
            continue
        flow_log, props = logs[logical_id]
        if props.get("TrafficType") != "ALL":
            yield f"{flow_log}: logs {props.get('TrafficType')} traffic, not ALL"
        group = (props.get("LogGroupName") or {}).get("Ref")
        if group is None or "KmsKeyId" not in env.props("network", group):
            yield f"{flow_log}: its log group is not encrypted with a key of the stack"


@check(14, "VPC endpoints")
def the_four_interface_endpoints_resolve_privately_beside_the_s3_gateway(env: Environment) -> Iterator[Finding]:
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, endpoint in env.resources("AWS::EC2::VPCEndpoint"):
        props = endpoint.get("Properties", {})
        service = str(props.get("ServiceName", {}).get("Fn::Sub", props.get("ServiceName"))).rsplit("}.", 1)[-1]
        found[service] = (name, props)
    for service in sorted(INTERFACE_ENDPOINTS):
        if service not in found:
            yield f"network: no {service} interface endpoint"
            continue
        name, props = found[service]
        if props.get("PrivateDnsEnabled") is not True:
            yield f"{name}: private DNS is off, so traffic leaves through NAT"
        if props.get("SubnetIds") != [{"Ref": "PrivateSubnet1"}, {"Ref": "PrivateSubnet2"}]:
            yield f"{name}: not in both private subnets"
    if "s3" not in found:
        yield "network: no S3 gateway endpoint"
    elif found["s3"][1].get("RouteTableIds") != [{"Ref": "PrivateRouteTable1"}, {"Ref": "PrivateRouteTable2"}]:
        yield f"{found['s3'][0]}: not on both private route tables"


# ---- 15-17: the load balancer --------------------------------------------------------------------


@check(15, "load balancer hardening")
def load_balancer_drops_bad_headers_and_logs_to_a_tls_only_bucket(env: Environment) -> Iterator[Finding]:
    where = "alb/LoadBalancer"
    attributes = {a["Key"]: a["Value"] for a in env.props("alb", "LoadBalancer").get("LoadBalancerAttributes", [])}
    expected = {
        "routing.http.drop_invalid_header_fields.enabled": "true",
        "access_logs.s3.enabled": "true",
        "deletion_protection.enabled": "true" if env.name == "prod" else "false",
    }
    for key, value in expected.items():
        if attributes.get(key) != value:
            yield f"{where}: {key} is {attributes.get(key)}, not {value}"
    if attributes.get("routing.http.desync_mitigation_mode") not in ("defensive", "strictest"):
        yield f"{where}: desync mitigation below defensive"
    if attributes.get("access_logs.s3.bucket") != {"Ref": "AccessLogBucket"}:
        yield f"{where}: access logs do not go to AccessLogBucket"
    buckets = {(name.split("/")[0], name.split("/")[1]) for name, _ in env.resources("AWS::S3::Bucket")}
    policies = {
        (name.split("/")[0], (body.get("Properties", {}).get("Bucket") or {}).get("Ref")): body.get("Properties", {})
        for name, body in env.resources("AWS::S3::BucketPolicy")
    }
    for stack, bucket in sorted(buckets):
        props = env.props(stack, bucket)
        if not props.get("PublicAccessBlockConfiguration") or not all(props["PublicAccessBlockConfiguration"].values()):
            yield f"{stack}/{bucket}: public access is not blocked"
        if not props.get("BucketEncryption"):
            yield f"{stack}/{bucket}: no default encryption"
        document = policies.get((stack, bucket), {}).get("PolicyDocument", {})
        tls_only = {"Bool": {"aws:SecureTransport": "false"}}
        if not any(
            s.get("Effect") == "Deny" and s.get("Principal") == "*" and s.get("Condition") == tls_only
            for s in document.get("Statement", [])
        ):
            yield f"{stack}/{bucket}: accepts requests without TLS"


@check(16, "TLS 1.3 and HSTS, nothing on port 80", ("prod",))
def prod_serves_tls_1_3_with_hsts_and_nothing_on_port_80(env: Environment) -> Iterator[Finding]:
    https = env.props("alb", "HttpsListener")
    if not str(https.get("SslPolicy", "")).startswith("ELBSecurityPolicy-TLS13-"):
        yield "alb/HttpsListener: not a TLS 1.3 policy"
    attributes = {a.get("Key"): str(a.get("Value")) for a in https.get("ListenerAttributes", [])}
    hsts = attributes.get("routing.http.response.strict_transport_security.header_value", "")
    age = re.search(r"max-age=(\d+)", hsts)
    if not age or int(age[1]) < 31536000:
        yield "alb/HttpsListener: no Strict-Transport-Security of a year or more"
    for name, listener in env.resources("AWS::ElasticLoadBalancingV2::Listener"):
        protocol = listener.get("Properties", {}).get("Protocol")
        if protocol != "HTTPS":
            yield f"{name}: a {protocol} listener, where a client's key travels in cleartext"
    for name, rule in env.resources("AWS::ElasticLoadBalancingV2::ListenerRule"):
        if rule.get("Properties", {}).get("ListenerArn") != {"Ref": "HttpsListener"}:
            yield f"{name}: routes on a listener other than HTTPS"
    for ingress in env.props("network", "AlbSecurityGroup").get("SecurityGroupIngress", []):
        if ingress.get("FromPort") != 443:
            yield f"network/AlbSecurityGroup: opens port {ingress.get('FromPort')} to clients"


@check(17, "WAF", ("prod",))
def prod_waf_blocks_with_its_rules_and_logs_without_api_keys(env: Environment) -> Iterator[Finding]:
    acl = env.props("alb", "WebAcl")
    rules = {rule.get("Name"): rule for rule in acl.get("Rules", [])}
    rate = rules.get("rate-limit-per-ip", {})
    if "RateBasedStatement" not in rate.get("Statement", {}) or "Block" not in rate.get("Action", {}):
        yield "alb/WebAcl: rate-limit-per-ip does not block"
    managed = {}
    for rule in acl.get("Rules", []):
        statement = rule.get("Statement", {}).get("ManagedRuleGroupStatement")
        if statement:
            managed[statement.get("Name")] = (rule, statement)
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        if group not in managed:
            yield f"alb/WebAcl: no {group}"
            continue
        rule, statement = managed[group]
        if rule.get("OverrideAction") != {"None": {}}:
            yield f"alb/WebAcl: {rule.get('Name')} is overridden to {rule.get('OverrideAction')}, so it blocks nothing"
        for override in statement.get("RuleActionOverrides", []):
            if override.get("Name") not in COUNTED_BODY_RULES or "Count" not in override.get("ActionToUse", {}):
                yield f"alb/WebAcl: {group} rule {override.get('Name')} no longer blocks"
    if "Block" not in rules.get("body-rules-outside-the-api", {}).get("Action", {}):
        yield "alb/WebAcl: body rules are not blocked outside the API"
    if any(rule.get("VisibilityConfig", {}).get("CloudWatchMetricsEnabled") is not True for rule in rules.values()):
        yield "alb/WebAcl: a rule without CloudWatch metrics"
    if env.props("alb", "WebAclAssociation").get("WebACLArn") != {"Fn::GetAtt": ["WebAcl", "Arn"]}:
        yield "alb/WebAclAssociation: not the WebAcl"
    logging = env.props("alb", "WafLogging")
    redacted = {f.get("SingleHeader", {}).get("Name") for f in logging.get("RedactedFields", [])}
    if not redacted >= API_KEY_HEADERS:
        yield f"alb/WafLogging: does not redact {sorted(API_KEY_HEADERS - redacted)}"


# ---- 18-22: tasks, images and functions -------------------------------------------------------------


@check(18, "task hardening")
def task_runs_awsvpc_unprivileged_as_a_non_root_user_logging_to_cloudwatch(env: Environment) -> Iterator[Finding]:
    for name, task in env.resources("AWS::ECS::TaskDefinition"):
        props = task.get("Properties", {})
        if props.get("NetworkMode") != "awsvpc" or props.get("RequiresCompatibilities") != ["FARGATE"]:
            yield f"{name}: not awsvpc on Fargate"
    for name, container in _containers(env):
        if container.get("Privileged", False) is not False:
            yield f"{name}: privileged"
        if container.get("User") != "65534:65534":
            yield f"{name}: runs as {container.get('User', 'the image user')}, not 65534:65534"
        if container.get("LogConfiguration", {}).get("LogDriver") != "awslogs":
            yield f"{name}: does not log with awslogs"
        added = container.get("LinuxParameters", {}).get("Capabilities", {}).get("Add")
        if added:
            yield f"{name}: adds Linux capabilities {added}"
    if not re.search(r"^USER 65534:65534\s*$", (env.project / "image/Dockerfile").read_text(), re.MULTILINE):
        yield "image/Dockerfile: the image does not drop root"


@check(19, "safe rollouts")
def service_rolls_back_failed_deploys_on_the_latest_platform_in_two_azs(env: Environment) -> Iterator[Finding]:
    service = env.props("litellm", "Service")
    where = "litellm/Service"
    if service.get("PlatformVersion") != "LATEST":
        yield f"{where}: PlatformVersion is not LATEST"
    configuration = get(service, "DeploymentConfiguration", where=where)
    if configuration.get("DeploymentCircuitBreaker") != {"Enable": True, "Rollback": True}:
        yield f"{where}: no rollback circuit breaker"
    if (configuration.get("MinimumHealthyPercent"), configuration.get("MaximumPercent")) != (100, 200):
        yield f"{where}: not a 100/200 rolling deploy"
    (container,) = get(env.props("litellm", "TaskDefinition"), "ContainerDefinitions", where="litellm/TaskDefinition")
    start = int(get(container, "HealthCheck", "StartPeriod", where="litellm/TaskDefinition"))
    if int(service.get("HealthCheckGracePeriodSeconds", 0)) < start:
        yield f"{where}: the grace period is shorter than LiteLLM's start"
    subnets = get(service, "NetworkConfiguration", "AwsvpcConfiguration", "Subnets", where=where)
    if len(as_list(subnets)) < 2:
        yield f"{where}: fewer than two subnets"


@check(20, "Container Insights", ("prod",))
def prod_cluster_has_container_insights(env: Environment) -> Iterator[Finding]:
    settings = {s.get("Name"): s.get("Value") for s in env.props("litellm", "Cluster").get("ClusterSettings", [])}
    if settings.get("containerInsights") not in ("enabled", "enhanced"):
        yield "litellm/Cluster: Container Insights off"


@check(21, "ECR repository")
def repository_scans_keeps_tags_immutable_encrypts_and_expires_images(env: Environment) -> Iterator[Finding]:
    where = "security/Repository"
    props = env.props("security", "Repository")
    if props.get("ImageScanningConfiguration", {}).get("ScanOnPush") is not True:
        yield f"{where}: no scan on push"
    if props.get("ImageTagMutability") != "IMMUTABLE":
        yield f"{where}: tags are mutable"
    if props.get("EncryptionConfiguration", {}).get("EncryptionType") != "KMS":
        yield f"{where}: not encrypted with KMS"
    policy = json.dumps(props.get("LifecyclePolicy", {}).get("LifecyclePolicyText", ""))
    if "untagged" not in policy or "imageCountMoreThan" not in policy:
        yield f"{where}: no lifecycle policy expiring untagged and old images"


@check(22, "rotation functions")
def rotation_functions_run_in_the_vpc_with_no_layers_and_a_scoped_permission(env: Environment) -> Iterator[Finding]:
    functions = [(n, f) for n, f in env.resources("AWS::Lambda::Function") if n.startswith("database/")]
    if len(functions) != 2:
        yield f"database: {len(functions)} rotation functions, not 2"
    for name, function in functions:
        props = function.get("Properties", {})
        vpc = props.get("VpcConfig", {})
        if not (vpc.get("SubnetIds") and vpc.get("SecurityGroupIds")):
            yield f"{name}: not in the VPC"
        # Lambda keeps 10 executions unreserved, so on a new account (limit 10) any reservation fails the launch.
        if "ReservedConcurrentExecutions" in props:
            yield f"{name}: a reserved concurrency a new account refuses"
        if props.get("Runtime") not in SUPPORTED_PYTHON_RUNTIMES:
            yield f"{name}: runtime {props.get('Runtime')} is not supported"
        if "Layers" in props:
            yield f"{name}: has layers"
    for name, permission in env.resources("AWS::Lambda::Permission"):
        props = permission.get("Properties", {})
        if props.get("Principal") == "secretsmanager.amazonaws.com" and not (
            props.get("SourceArn") and props.get("SourceAccount")
        ):
            yield f"{name}: no SourceArn and SourceAccount"


# ---- 23-27: IAM, logs, alarms, protection, rotation code --------------------------------------------

# Managed policies a role may carry, with why: nothing broader than what a function needs.
ALLOWED_MANAGED_POLICIES: dict[str, str] = {}


def _wildcard_name(resource: Any) -> bool:
    """True when an ARN's resource name is all wildcard (``secret:*``, ``foundation-model/*``), not a suffix."""
    text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else str(resource)
    if not isinstance(text, str) or not text.startswith("arn:"):
        return False
    parts = re.sub(r"\$\{[^}]*\}", "X", text).split(":", 5)
    resource_part = parts[5] if len(parts) == 6 else ""
    name = re.split(r"[:/]", resource_part, maxsplit=1)[-1]
    return not re.sub(r"[*?.:/_-]", "", name)


@check(23, "least-privilege IAM")
def roles_grant_no_wildcards_beyond_what_iam_requires(env: Environment) -> Iterator[Finding]:
    for name, role in env.resources("AWS::IAM::Role"):
        props = role.get("Properties", {})
        for arn in props.get("ManagedPolicyArns", []):
            if json.dumps(arn) not in {json.dumps(a) for a in ALLOWED_MANAGED_POLICIES}:
                yield f"{name}: managed policy {json.dumps(arn)} is not on the allowed list"
        for policy in props.get("Policies", []):
            for statement in get(policy, "PolicyDocument", "Statement", where=name):
                if statement.get("Effect") != "Allow":
                    continue
                actions = as_list(statement.get("Action", []))
                resources = as_list(statement.get("Resource", []))
                if any(a == "*" or str(a).endswith(":*") for a in actions):
                    yield f"{name}: wildcard actions {actions}"
                if "*" in resources and not set(actions) <= UNSCOPABLE_ACTIONS:
                    yield f"{name}: {sorted(set(actions) - UNSCOPABLE_ACTIONS)} on *"
                for resource in resources:
                    if _wildcard_name(resource) and not set(actions) <= ACCOUNT_WIDE_ACTIONS:
                        yield f"{name}: {actions} on every resource of a kind ({json.dumps(resource)})"
                if "iam:PassRole" in actions and "*" in resources:
                    yield f"{name}: unscoped iam:PassRole"


@check(24, "log groups")
def every_log_group_has_retention_and_a_customer_managed_key(env: Environment) -> Iterator[Finding]:
    customer_managed = ({"Fn::GetAtt": ["KmsKey", "Arn"]}, {"Fn::GetAtt": ["FlowLogKey", "Arn"]})
    for name, group in env.resources("AWS::Logs::LogGroup"):
        props = group.get("Properties", {})
        if int(props.get("RetentionInDays") or 0) <= 0:
            yield f"{name}: kept forever"
        key = props.get("KmsKeyId")
        if key not in customer_managed and not str(key).startswith("arn:aws:kms:"):
            yield f"{name}: not encrypted with a customer managed key"


@check(25, "alarms notify")
def every_alarm_and_the_rotation_failure_rule_notify_the_alarm_topic(env: Environment) -> Iterator[Finding]:
    topic = EXAMPLE_OUTPUTS["AlarmTopicArn"]
    for name, alarm in env.resources("AWS::CloudWatch::Alarm"):
        actions = json.dumps(alarm.get("Properties", {}).get("AlarmActions", []))
        if topic not in actions and "AlarmTopic" not in actions:
            yield f"{name}: notifies nobody"
    rule = env.props("database", "RotationFailureRule")
    if topic not in json.dumps(rule.get("Targets", [])):
        yield "database/RotationFailureRule: does not notify the alarm topic"
    events = json.dumps(rule.get("EventPattern", {}))
    for event in ("RotationFailed", "RotationAbandoned", "TestRotationFailed"):
        if event not in events:
            yield f"database/RotationFailureRule: misses {event}"


@check(26, "prod stacks protected", ("prod",))
def prod_stacks_are_protected_by_the_launch_and_the_policy_covers_every_stateful_type(
    env: Environment,
) -> Iterator[Finding]:
    from tools.replacement_guard import STATEFUL_TYPES

    policy = json.loads((env.project / "config/stack-policies/protect-stateful.json").read_text())
    denies = [s for s in policy.get("Statement", []) if s.get("Effect") == "Deny"]
    if not denies or set(denies[0].get("Action", [])) != {"Update:Replace", "Update:Delete"}:
        yield "config/stack-policies/protect-stateful.json: does not deny Update:Replace and Update:Delete"
    else:
        covered = set(denies[0].get("Condition", {}).get("StringEquals", {}).get("ResourceType", []))
        if not set(STATEFUL_TYPES) <= covered:
            yield f"config/stack-policies/protect-stateful.json: misses {sorted(set(STATEFUL_TYPES) - covered)}"
    for stack in env.stacks:
        config = (env.project / f"config/prod/{stack}.yaml").read_text()
        if "!protect_stack config/stack-policies/protect-stateful.json" not in config:
            yield f"config/prod/{stack}.yaml: no !protect_stack after launch"


@check(27, "rotation steps idempotent")
def master_key_create_secret_run_twice_stages_one_key(env: Environment) -> Iterator[Finding]:
    """createSecret, invoked again for the same token (Secrets Manager retries), keeps the staged key.

    The database function's steps are proven against a real PostgreSQL in the
    integration suite; this is the master-key function, run under moto here.
    """
    sources = [
        env.project / "lambdas/master_key_rotation/handler.py",
        *sorted((env.project / "lambdas/common").rglob("*.py")),
    ]
    key = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()
    if key not in _PROBED:  # both environments run the same code: probe it once
        _PROBED[key] = list(_create_secret_twice(env.project))
    yield from _PROBED[key]


_PROBED: dict[str, list[Finding]] = {}


def _create_secret_twice(project: Path) -> Iterator[Finding]:
    import boto3
    from moto import mock_aws

    where = "lambdas/master_key_rotation/handler.py"
    sys.path.insert(0, str(project / "lambdas/common"))
    try:
        spec = importlib.util.spec_from_file_location("master_key_rotation_under_check", project / where)
        assert spec and spec.loader
        handler = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(handler)
        with mock_aws():
            client = boto3.client("secretsmanager", region_name="us-east-1")
            current = {"LITELLM_MASTER_KEY": "sk-" + "c" * 40, "LITELLM_SALT_KEY": "s" * 48}
            arn = client.create_secret(Name="probe/master-key", SecretString=json.dumps(current))["ARN"]
            token = "11111111-2222-3333-4444-555555555555"
            handler.create_secret(client, arn, token)
            first = client.get_secret_value(SecretId=arn, VersionId=token)["SecretString"]
            try:
                handler.create_secret(client, arn, token)
            except Exception as error:  # any refusal of a retry is the finding
                yield f"{where}: createSecret retried for the same token fails ({type(error).__name__})"
                return
            second = client.get_secret_value(SecretId=arn, VersionId=token)["SecretString"]
            if first != second:
                yield f"{where}: createSecret retried for the same token stages a different key"
    finally:
        sys.path.remove(str(project / "lambdas/common"))
        for module in [m for m in sys.modules if m == "llmgw_common" or m.startswith("llmgw_common.")]:
            del sys.modules[module]


# ---- 28-: what a gateway holding every provider key of a company faces ------------------------------


def _bedrock_statements(env: Environment) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, role in env.resources("AWS::IAM::Role"):
        for policy in role.get("Properties", {}).get("Policies", []):
            for statement in policy.get("PolicyDocument", {}).get("Statement", []):
                if any(str(a).startswith("bedrock:") for a in as_list(statement.get("Action", []))):
                    yield name, statement


BEDROCK_PROFILE_CONDITION = "arn:${AWS::Partition}:bedrock:${BedrockRegion}:${AWS::AccountId}:inference-profile/"


def _through_this_regions_profiles(statement: dict[str, Any]) -> bool:
    """True when the statement applies only to calls made through an inference profile of BedrockRegion."""
    for operator in ("StringLike", "StringEquals", "ArnLike", "ArnEquals"):
        value = statement.get("Condition", {}).get(operator, {}).get("bedrock:InferenceProfileArn")
        text = value.get("Fn::Sub", "") if isinstance(value, dict) else str(value or "")
        if text.startswith(BEDROCK_PROFILE_CONDITION):
            return True
    return False


@check(28, "Bedrock scoped to the configured models")
def bedrock_is_invoked_only_for_the_configured_families_in_the_bedrock_region(env: Environment) -> Iterator[Finding]:
    for name, statement in _bedrock_statements(env):
        through_profiles = _through_this_regions_profiles(statement)
        for resource in as_list(statement.get("Resource", [])):
            text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else str(resource)
            model = re.search(r"(foundation-model|inference-profile)/(.*)$", text)
            if text == "*" or not model or not re.search(r"[a-z]{3,}\.\*$", model[2]):
                yield f"{name}: Bedrock on {json.dumps(resource)}, not a configured model family"
            elif re.sub(r"\$\{AWS::(\w+)\}", r"<\1>", text).split(":")[3:4] != ["${BedrockRegion}"] and not (
                through_profiles
            ):
                yield f"{name}: Bedrock outside BedrockRegion for {json.dumps(resource)}, not through its profiles"


@check(29, "ECS Exec off")
def no_shell_into_a_running_task(env: Environment) -> Iterator[Finding]:
    for name, service in env.resources("AWS::ECS::Service"):
        if str(service.get("Properties", {}).get("EnableExecuteCommand", False)).lower() == "true":
            yield f"{name}: ECS Exec is on: anyone with ecs:ExecuteCommand reads the task's keys"
    for name, role in env.resources("AWS::IAM::Role"):
        if "ssmmessages:" in json.dumps(role.get("Properties", {}).get("Policies", [])):
            yield f"{name}: grants ssmmessages, the channel ECS Exec needs"


@check(30, "WAF logs hold no key", ("prod",))
def waf_logs_redact_every_key_header_and_the_query_string(env: Environment) -> Iterator[Finding]:
    fields = env.props("alb", "WafLogging").get("RedactedFields", [])
    redacted = {f.get("SingleHeader", {}).get("Name") for f in fields if "SingleHeader" in f}
    for header in sorted(API_KEY_HEADERS - redacted):
        yield f"alb/WafLogging: header {header} is logged in the clear"
    if not any("QueryString" in f for f in fields):
        yield "alb/WafLogging: the query string is logged in the clear (a key pasted into a URL)"


KMS_DATA_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncrypt", "kms:Encrypt", "kms:*")
SECRETS_MANAGER_VIA = {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}


@check(31, "keys decrypt only through Secrets Manager")
def every_grant_of_kms_decrypt_is_limited_to_secrets_manager(env: Environment) -> Iterator[Finding]:
    for name, role in env.resources("AWS::IAM::Role"):
        for policy in role.get("Properties", {}).get("Policies", []):
            for statement in policy.get("PolicyDocument", {}).get("Statement", []):
                actions = [str(a) for a in as_list(statement.get("Action", []))]
                if statement.get("Effect") != "Allow" or not any(a.startswith(KMS_DATA_ACTIONS) for a in actions):
                    continue
                # Exactly Secrets Manager in this region: a list naming another service too would let it in.
                via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
                if via != SECRETS_MANAGER_VIA and via != [SECRETS_MANAGER_VIA]:
                    yield f"{name}: {actions} not limited by kms:ViaService to Secrets Manager alone"


@check(32, "prod keeps its flow logs", ("prod",))
def prod_keeps_its_flow_logs_and_their_key_on_delete(env: Environment) -> Iterator[Finding]:
    # The DNS query log (item 42) is the same kind of record, where prod has one.
    query_log = ("DnsQueryLogGroup",) if "DnsQueryLogGroup" in env.stacks["network"].get("Resources", {}) else ()
    for logical_id in ("FlowLogGroup", "FlowLogKey", *query_log):
        resource = env.resource("network", logical_id)
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            if resource.get(policy) != "Retain":
                yield f"network/{logical_id}: {policy} is {resource.get(policy)}, not Retain"


@check(33, "alarms on refused keys and WAF blocks")
def refused_requests_and_waf_blocks_page_the_alarm_topic(env: Environment) -> Iterator[Finding]:
    wanted = {("AWS/ApplicationELB", "HTTPCode_Target_4XX_Count"): "litellm"}
    if env.name == "prod":
        wanted[("AWS/WAFV2", "BlockedRequests")] = "alb"
    found = {}
    for name, alarm in env.resources("AWS::CloudWatch::Alarm"):
        props = alarm.get("Properties", {})
        metric = props.get("MetricName")
        found[(props.get("Namespace"), metric if isinstance(metric, str) else json.dumps(metric))] = (name, props)
    for (namespace, metric), stack in wanted.items():
        if (namespace, metric) not in found:
            yield f"{stack}: no alarm on {namespace} {metric}"
            continue
        name, props = found[(namespace, metric)]
        if "AlarmTopic" not in json.dumps(props.get("AlarmActions", [])) and EXAMPLE_OUTPUTS["AlarmTopicArn"] not in (
            json.dumps(props.get("AlarmActions", []))
        ):
            yield f"{name}: pages nobody"
    if env.name == "prod" and ("AWS/WAFV2", "BlockedRequests") in found:
        name, props = found[("AWS/WAFV2", "BlockedRequests")]
        dimensions = {d.get("Name"): d.get("Value") for d in props.get("Dimensions", [])}
        acl = env.props("alb", "WebAcl").get("Name")
        if dimensions.get("WebACL") != acl or dimensions.get("Rule") != "ALL":
            yield f"{name}: watches {dimensions.get('WebACL')}/{dimensions.get('Rule')}, not every rule of {acl}"


def _listener_rules(env: Environment) -> list[tuple[int, str, dict[str, Any]]]:
    """(priority, name, properties) of every listener rule, lowest priority first, as the ALB applies them."""
    return sorted(
        ((int(r.get("Properties", {}).get("Priority", 0)), n, r.get("Properties", {}))
         for n, r in env.resources("AWS::ElasticLoadBalancingV2::ListenerRule")),
        key=lambda rule: rule[0],
    )  # fmt: skip


@check(34, "keys in URLs refused")
def a_key_in_the_query_string_is_refused_before_any_other_rule(env: Environment) -> Iterator[Finding]:
    rules = _listener_rules(env)
    if not rules:
        yield "alb: no listener rules"
        return
    _, name, first = rules[0]
    conditions = json.dumps(first.get("Conditions", []))
    actions = first.get("Actions", [])
    if '"query-string"' not in conditions or '"Key": "key"' not in conditions:
        yield f"{name}: the first rule does not match a key in the query string (?key=)"
    elif [a.get("Type") for a in actions] != ["fixed-response"] or not str(
        actions[0].get("FixedResponseConfig", {}).get("StatusCode", "")
    ).startswith("4"):
        yield f"{name}: a key in the query string is not refused with a 4xx"


THIS_ACCOUNT = {"Ref": "AWS::AccountId"}
# AWS's own bucket that ECR's image layers come from, through a URL ECR's account signs.
ECR_LAYER_BUCKET = {"Fn::Sub": "arn:${AWS::Partition}:s3:::prod-${AWS::Region}-starport-layer-bucket/*"}


def _endpoint_statement_finding(statement: dict[str, Any]) -> str | None:
    """Why one endpoint-policy statement lets more than this account's principals reach its resources."""
    if statement.get("Effect") != "Allow":
        return None
    if {"NotAction", "NotResource", "NotPrincipal"} & set(statement):
        return f"statement {statement.get('Sid')} uses a Not* element"
    equals = statement.get("Condition", {}).get("StringEquals", {})
    actions = {str(a) for a in as_list(statement.get("Action", []))}
    if equals.get("aws:PrincipalAccount") == THIS_ACCOUNT and equals.get("aws:ResourceAccount") == THIS_ACCOUNT:
        return None
    if equals.get("aws:PrincipalAccount") == THIS_ACCOUNT and actions <= UNSCOPABLE_ACTIONS:
        return None  # no resource to name: this account's principals only
    if actions == {"s3:GetObject"} and as_list(statement.get("Resource")) == [ECR_LAYER_BUCKET]:
        return None
    return f"statement {statement.get('Sid')} allows {sorted(actions)} beyond this account's principals and resources"


@check(35, "endpoints reach only this account")
def every_vpc_endpoint_admits_only_this_accounts_principals_and_resources(env: Environment) -> Iterator[Finding]:
    endpoints = list(env.resources("AWS::EC2::VPCEndpoint"))
    if not endpoints:
        yield "network: no VPC endpoints"
    for name, endpoint in endpoints:
        policy = endpoint.get("Properties", {}).get("PolicyDocument")
        if not isinstance(policy, dict):
            yield f"{name}: no endpoint policy, so any principal reaches any account's resources through it"
            continue
        for statement in as_list(policy.get("Statement", [])):
            finding = _endpoint_statement_finding(statement)
            if finding:
                yield f"{name}: {finding}"


# Each rotation function's group, by the database parameter that carries it, and what it may reach.
ROTATION_GROUPS = {
    "MasterKeyRotation": ("MasterKeyRotationSecurityGroupId", "MasterKeyRotationSecurityGroup"),
    "DbRotation": ("LambdaSecurityGroupId", "LambdaSecurityGroup"),
}


@check(36, "rotation functions reach only what they need")
def each_rotation_function_reaches_aws_only_through_the_endpoints_and_only_its_own_database(
    env: Environment,
) -> Iterator[Finding]:
    endpoints = any(True for _ in env.resources("AWS::EC2::VPCEndpoint") if _[1].get("Properties", {}).get(
        "VpcEndpointType") == "Interface")  # fmt: skip
    rules = [rule for _, rule, _ in _security_group_rules(env)]
    for function, (parameter, group) in ROTATION_GROUPS.items():
        groups = env.props("database", f"{function}Function").get("VpcConfig", {}).get("SecurityGroupIds", [])
        if groups not in ([{"Ref": parameter}], [EXAMPLE_OUTPUTS[parameter]]):
            yield f"database/{function}Function: in {json.dumps(groups)}, not its own group {parameter}"
        for owner, direction, port, peer in rules:
            if owner != group or direction != "egress" or peer == DENY_ALL_PLACEHOLDER:
                continue
            if endpoints and peer == "0.0.0.0/0":
                yield f"network/{group}: egress on {port} to 0.0.0.0/0 although the interface endpoints serve AWS"
            if function == "MasterKeyRotation" and peer == "RdsSecurityGroup":
                yield f"network/{group}: the master key function may reach the database"
    if endpoints:
        services = {
            str(props.get("ServiceName", {}).get("Fn::Sub", props.get("ServiceName"))).rsplit(".", 1)[-1]
            for _, e in env.resources("AWS::EC2::VPCEndpoint")
            for props in [e.get("Properties", {})]
        }
        for service in ("secretsmanager", "rds", "ecs"):
            if service not in services:
                yield f"network: no {service} endpoint, which the rotation functions can reach AWS through"


def _launched_with(env: Environment, stack: str, changes: dict[str, str]) -> dict[str, str]:
    """The stack's parameter values with ``changes``, checked as ``!check_parameters`` checks a launch.

    Raises:
        Missing: no template to probe.
        ParameterError: the template's constraints or Rules refuse them.
    """
    from llmgw.parameters import check_parameters

    template, values = env.templates.get(stack), env.parameters.get(stack)
    if template is None or values is None:
        raise Missing(f"{stack}: no template to probe")
    return check_parameters(template, {**values, **changes})


PUBLIC_RANGES = ("0.0.0.0/0", "::/0")


@check(37, "no cleartext from the internet")
def plain_http_is_open_only_to_the_configured_clients_never_to_the_internet(env: Environment) -> Iterator[Finding]:
    from llmgw.parameters import ParameterError

    for name, group in env.resources("AWS::EC2::SecurityGroup"):
        for rule in group.get("Properties", {}).get("SecurityGroupIngress", []):
            peer = rule.get("CidrIp", rule.get("CidrIpv6"))
            if rule.get("FromPort") == 80 and peer in PUBLIC_RANGES:
                yield f"{name}: port 80 is open to {peer}, so keys cross the internet in cleartext"
    # The template's own rule must refuse it too, whatever an environment passes.
    try:
        _launched_with(env, "network", {"Environment": "dev", "AllowPlainHttp": "true", "ClientCidr": PUBLIC_RANGES[0]})
    except ParameterError:
        return
    yield "network: nothing refuses ClientCidr 0.0.0.0/0 with AllowPlainHttp true"


# LiteLLM 1.106's ways into the admin UI: its pages, every login, SSO, invitations. The load balancer
# must refuse each from outside AdminUiCidr before any rule forwards it.
ADMIN_UI_ROUTES = (
    "/ui/", "/ui/login", "/login", "/v2/login", "/v3/login/exchange", "/fallback/login", "/sso/key/generate",
    "/sso/callback", "/sso/saml/login", "/onboarding/get_token", "/onboarding/claim_token",
)  # fmt: skip


def _alb_pattern_matches(pattern: str, path: str) -> bool:
    expression = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(expression, path) is not None


def _condition_values(rule: dict[str, Any], field_name: str) -> list[str] | None:
    for condition in rule.get("Conditions", []):
        if condition.get("Field") == field_name:
            config = condition.get("PathPatternConfig" if field_name == "path-pattern" else "SourceIpConfig", {})
            return [str(v) for v in config.get("Values", condition.get("Values", []))]
    return None


@check(38, "admin UI only from the admins' range", ("prod",))
def the_admin_ui_and_every_login_answer_only_the_admin_range(env: Environment) -> Iterator[Finding]:
    from llmgw.parameters import ParameterError

    rules = _listener_rules(env)
    for route in ADMIN_UI_ROUTES:
        for _, name, rule in rules:
            paths = _condition_values(rule, "path-pattern")
            if paths is not None and not any(_alb_pattern_matches(p, route) for p in paths):
                continue
            if _condition_values(rule, "query-string") is not None or any(
                c.get("Field") not in ("path-pattern", "source-ip") for c in rule.get("Conditions", [])
            ):
                continue  # matches only some requests (the key-in-URL refusal)
            sources = _condition_values(rule, "source-ip")
            action = (rule.get("Actions") or [{}])[0]
            if sources is not None:
                if set(sources) & set(PUBLIC_RANGES):
                    yield f"{name}: forwards {route} from {sources}, which is everyone"
                continue  # from the admins' range only
            if action.get("Type") == "fixed-response" and str(
                action.get("FixedResponseConfig", {}).get("StatusCode", "")
            ).startswith("4"):
                break  # refused
            yield f"{name}: forwards {route} from anywhere"
            break
    try:
        _launched_with(env, "alb", {"AdminUiCidr": PUBLIC_RANGES[0]})
    except ParameterError:
        return
    yield "alb: nothing refuses AdminUiCidr 0.0.0.0/0 in prod"


EXAMPLE_ADMIN_UI_CIDR = EXAMPLE_VARIABLES_BY_ENV["prod"]["admin_ui_cidr"]


def _escaped(route: str) -> str:
    """``route`` as a client could send it past a path match that does not decode: its first letter escaped."""
    head, rest = route[:1], route[1:]
    return head + f"%{ord(rest[0]):02X}" + rest[1:] if rest else route


def _waf_transform(text: str, transformations: list[dict[str, Any]]) -> str:
    from urllib.parse import unquote

    for step in sorted(transformations, key=lambda t: int(t.get("Priority", 0))):
        kind = step.get("Type")
        text = unquote(text) if kind == "URL_DECODE" else text.lower() if kind == "LOWERCASE" else text
    return text


def _waf_path_matches(statement: dict[str, Any], path: str, outside: str) -> bool:
    """Whether a web ACL statement matches a request for ``path`` from ``outside`` (no IP set holds it)."""
    if "AndStatement" in statement:
        return all(_waf_path_matches(s, path, outside) for s in statement["AndStatement"].get("Statements", []))
    if "OrStatement" in statement:
        return any(_waf_path_matches(s, path, outside) for s in statement["OrStatement"].get("Statements", []))
    if "NotStatement" in statement:
        return not _waf_path_matches(statement["NotStatement"].get("Statement", {}), path, outside)
    if "IPSetReferenceStatement" in statement:
        return False
    match = statement.get("ByteMatchStatement")
    if match is None or "UriPath" not in match.get("FieldToMatch", {}):
        return False
    value = _waf_transform(path, match.get("TextTransformations", []))
    wanted, where = str(match.get("SearchString")), match.get("PositionalConstraint")
    return {"STARTS_WITH": value.startswith, "ENDS_WITH": value.endswith, "EXACTLY": value.__eq__,
            "CONTAINS": value.__contains__}.get(str(where), lambda _: False)(wanted)  # fmt: skip


@check(38, "admin UI only from the admins' range", ("prod",))
def the_waf_refuses_the_admin_ui_escaped_or_in_capitals_from_outside_the_range(env: Environment) -> Iterator[Finding]:
    """The listener matches paths as sent; the gateway decodes them. WAF must decode, then refuse."""
    acl = env.props("alb", "WebAcl")
    blocking = [r for r in acl.get("Rules", []) if isinstance(r, dict) and "Block" in r.get("Action", {})]
    for route in ADMIN_UI_ROUTES:
        for variant in (_escaped(route), route.upper()):
            if not any(_waf_path_matches(r.get("Statement", {}), variant, "203.0.113.7") for r in blocking):
                yield f"alb/WebAcl: {variant} (the gateway reads {route}) from outside AdminUiCidr is not blocked"
    for name, ip_set in env.resources("AWS::WAFv2::IPSet"):
        if ip_set.get("Properties", {}).get("Addresses") not in ([{"Ref": "AdminUiCidr"}], [EXAMPLE_ADMIN_UI_CIDR]):
            yield f"{name}: does not hold exactly AdminUiCidr"
    if "IPSetReferenceStatement" not in json.dumps(blocking):
        yield "alb/WebAcl: the admin-UI rule exempts no one, or everyone: no IP set of AdminUiCidr"


# Each rotation function's role path (database stack), which the secrets' policies name.
ROTATION_ROLE_PATHS = {"MasterKeyRotationRole": "master-key-rotation", "DbRotationRole": "db-rotation"}
# Roles that exist only where their option is on: the UI password's optional schedule (item 41).
OPTIONAL_ROTATION_ROLE_PATHS = {"UiPasswordRotationRole": "ui-password-rotation"}


@check(39, "each secret read only by its readers")
def every_secret_denies_reads_to_all_but_its_readers_the_deployer_and_the_operators(
    env: Environment,
) -> Iterator[Finding]:
    secrets = [name.split("/", 1)[1] for name, _ in env.resources("AWS::SecretsManager::Secret")]
    by_arn = {EXAMPLE_OUTPUTS.get(f"{logical}Arn"): logical for logical in secrets}
    policies: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, policy in env.resources("AWS::SecretsManager::ResourcePolicy"):
        props = policy.get("Properties", {})
        target = props.get("SecretId")
        logical = target.get("Ref") if isinstance(target, dict) else by_arn.get(target)
        policies[str(logical)] = (name, props)
    for role, path in ROTATION_ROLE_PATHS.items():
        given = env.props("database", role).get("Path")
        if given != {"Fn::Sub": f"/${{ProjectCode}}/${{Environment}}/{path}/"}:
            yield f"database/{role}: path {json.dumps(given)}, not /<project>/<env>/{path}/, which the policies name"
    for role, path in OPTIONAL_ROTATION_ROLE_PATHS.items():
        for name, body in env.resources("AWS::IAM::Role"):
            given = body.get("Properties", {}).get("Path")
            if name.endswith(f"/{role}") and given != {"Fn::Sub": f"/${{ProjectCode}}/${{Environment}}/{path}/"}:
                yield f"{name}: path {json.dumps(given)}, not /<project>/<env>/{path}/, which the policies name"
    for logical in secrets:
        if logical not in policies:
            yield f"security/{logical}: no resource policy, so any principal IAM lets read it does"
            continue
        name, props = policies[logical]
        if str(props.get("BlockPublicPolicy")).lower() != "true":
            yield f"{name}: BlockPublicPolicy is not true"
        document = props.get("ResourcePolicy", {})
        document = json.loads(document) if isinstance(document, str) else document
        denies = [
            st for st in as_list(document.get("Statement", []))
            if st.get("Effect") == "Deny" and st.get("Principal") == "*"
            and "secretsmanager:GetSecretValue" in as_list(st.get("Action"))
        ]  # fmt: skip
        if not denies:
            yield f"{name}: no Deny of GetSecretValue to every other principal"
            continue
        condition = denies[0].get("Condition", {})
        readers = [r if isinstance(r, str) else json.dumps(r)
                   for r in as_list(condition.get("ArnNotLike", {}).get("aws:PrincipalArn", []))]  # fmt: skip
        if set(condition) - {"ArnNotLike", "StringNotLike"} or not readers:
            yield f"{name}: the Deny's exceptions are not exactly its readers' ARNs and the deployer"
        for reader in readers:
            # A rotation function's role is named by the path the database stack gives it, and only that.
            path = re.search(r"role/\$\{ProjectCode\}/\$\{Environment\}/([a-z-]+)/\*", reader)
            if path and path[1] in {*ROTATION_ROLE_PATHS.values(), *OPTIONAL_ROTATION_ROLE_PATHS.values()}:
                continue
            if "*" in reader or ":root" in reader:
                yield f"{name}: {reader} lets a whole account or pattern read it"
        deployer = str(condition.get("StringNotLike", {}).get("aws:userid", ""))
        if not re.fullmatch(r"[^*]{12,}(:\*)?", deployer):
            yield f"{name}: the deployer's aws:userid {deployer!r} is not one principal's"
        if not any("TaskExecutionRole" in r for r in readers):  # the stand-in ARN or the GetAtt
            yield f"{name}: the tasks' execution role may not read it, so no task would start"


@check(40, "refused secret reads page the alarm topic")
def a_refused_read_of_a_secret_pages_the_alarm_topic_where_a_trail_exists(env: Environment) -> Iterator[Finding]:
    """With a trail's log group given, as an account that has one launches: filter, metric, alarm, topic."""
    from llmgw.parameters import ParameterError
    from llmgw.specialise import resolve_template

    try:
        given = _launched_with(env, "security", {"CloudTrailLogGroupName": "org-trail"})
    except ParameterError as err:
        yield f"security: a trail's log group is refused: {err}"
        return
    resources = resolve_template(env.templates["security"], given).get("Resources", {})
    filters = [r.get("Properties", {}) for r in resources.values() if r.get("Type") == "AWS::Logs::MetricFilter"]
    found = [f for f in filters if f.get("LogGroupName") == "org-trail"]
    if not found:
        yield "security: with CloudTrailLogGroupName set, no metric filter reads the trail"
        return
    pattern = json.dumps(found[0].get("FilterPattern"))
    for needed in ("GetSecretValue", "AccessDenied", "${Environment}-${ProjectCode}/"):
        if needed not in pattern:
            yield f"security: the trail's filter does not match {needed}"
    metric = (found[0].get("MetricTransformations") or [{}])[0]
    alarms = [r.get("Properties", {}) for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"
              and r.get("Properties", {}).get("MetricName") == metric.get("MetricName")
              and r.get("Properties", {}).get("Namespace") == metric.get("MetricNamespace")]  # fmt: skip
    if not alarms:
        yield "security: no alarm on the refused-read metric"
    elif "AlarmTopic" not in json.dumps(alarms[0].get("AlarmActions", [])) or float(alarms[0].get("Threshold", 0)) > 1:
        yield "security: the refused-read alarm does not page the alarm topic at the first refusal"


@check(41, "the UI password's age is watched")
def the_ui_passwords_age_is_published_daily_and_pages_past_its_limit(env: Environment) -> Iterator[Finding]:
    secret = EXAMPLE_OUTPUTS["UiPasswordSecretArn"]
    functions = {
        name.split("/", 1)[1]: props
        for name, f in env.resources("AWS::Lambda::Function")
        for props in [f.get("Properties", {})]
        if props.get("Environment", {}).get("Variables", {}).get("SECRET_ARN") == secret
    }
    if not functions:
        yield "litellm: no function publishes the UI password's age"
        return
    (logical, function), *_ = functions.items()
    metric = function["Environment"]["Variables"].get("METRIC_NAME")
    scheduled = [
        props for _, rule in env.resources("AWS::Events::Rule") for props in [rule.get("Properties", {})]
        if logical in json.dumps(props.get("Targets", []))
    ]  # fmt: skip
    if not any(
        str(p.get("ScheduleExpression")) in ("rate(1 day)", "rate(12 hours)", "rate(1 hour)") for p in scheduled
    ):
        yield f"litellm/{logical}: not run at least once a day"
    role = env.resource("litellm", str(function.get("Role", {}).get("Fn::GetAtt", [""])[0]))
    if "GetSecretValue" in json.dumps(role.get("Properties", {}).get("Policies", [])):
        yield f"litellm/{logical}: its role may read the password itself, where the versions' dates suffice"
    alarms = [
        (n, props) for n, a in env.resources("AWS::CloudWatch::Alarm") for props in [a.get("Properties", {})]
        if props.get("Namespace") == "LiteLLMGateway" and props.get("MetricName") == metric
    ]  # fmt: skip
    if not alarms:
        yield f"litellm: no alarm on {json.dumps(metric)}"
        return
    name, alarm = alarms[0]
    if alarm.get("TreatMissingData") != "breaching":
        yield f"{name}: a day without a data point (the check broken) does not page"
    if "AlarmTopic" not in json.dumps(alarm.get("AlarmActions", [])) and EXAMPLE_OUTPUTS["AlarmTopicArn"] not in (
        json.dumps(alarm.get("AlarmActions", []))
    ):
        yield f"{name}: pages nobody"


@check(41, "the UI password's age is watched")
def the_ui_passwords_optional_schedule_rotates_it_and_redeploys(env: Environment) -> Iterator[Finding]:
    """With ``UiPasswordRotationDays`` set, as a launch with it would deploy: schedule, redeploy, readers, alarm."""
    from llmgw.parameters import ParameterError
    from llmgw.specialise import resolve_template

    secret = EXAMPLE_OUTPUTS["UiPasswordSecretArn"]
    try:
        given = _launched_with(env, "litellm", {"UiPasswordRotationDays": "30"})
    except ParameterError as err:
        yield f"litellm: UiPasswordRotationDays 30 is refused: {err}"
        return
    resources = resolve_template(env.templates["litellm"], given).get("Resources", {})
    schedules = [r.get("Properties", {}) for r in resources.values()
                 if r.get("Type") == "AWS::SecretsManager::RotationSchedule"
                 and r.get("Properties", {}).get("SecretId") == secret]  # fmt: skip
    if not schedules:
        yield "litellm: with UiPasswordRotationDays 30, nothing rotates the UI password"
        return
    schedule = schedules[0]
    if str(schedule.get("RotationRules", {}).get("AutomaticallyAfterDays")) != "30":
        yield "litellm: the UI password's schedule does not follow UiPasswordRotationDays"
    if str(schedule.get("RotateImmediatelyOnUpdate")).lower() != "false":
        yield "litellm: turning the UI password's schedule on rotates it at once, under the operator who knows it"
    function_id = str((schedule.get("RotationLambdaARN") or {}).get("Fn::GetAtt", [""])[0])
    function = resources.get(function_id, {}).get("Properties", {})
    if "ECS_SERVICE" not in function.get("Environment", {}).get("Variables", {}):
        yield f"litellm/{function_id}: redeploys nothing, so tasks keep logging in with the old password"
    role = resources.get(str((function.get("Role") or {}).get("Fn::GetAtt", [""])[0]), {}).get("Properties", {})
    if "ecs:UpdateService" not in json.dumps(role.get("Policies", [])):
        yield f"litellm/{function_id}: its role may not redeploy the service"
    path = OPTIONAL_ROTATION_ROLE_PATHS["UiPasswordRotationRole"]
    if role.get("Path") != {"Fn::Sub": f"/${{ProjectCode}}/${{Environment}}/{path}/"}:
        yield f"litellm/{function_id}: its role is not on the path {path}, which the secret's policy lets read it"
    dimensions = [
        [d.get("Value") for d in r.get("Properties", {}).get("Dimensions", [])]
        for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"
    ]  # fmt: skip
    alarmed = [values for values in dimensions if {"Ref": function_id} in values]
    if not alarmed:
        yield f"litellm/{function_id}: a failed rotation pages nobody"


# The host each of LiteLLM's provider prefixes calls (image/config.yaml's `model: <provider>/...`). A model
# of a provider not here fails item 42 until its host is added here and to ProviderDomains.
PROVIDER_HOSTS = {
    "openai": "api.openai.com",
    "anthropic": "api.anthropic.com",
    "bedrock": "bedrock-runtime.us-east-1.amazonaws.com",
}
# Names the VPC itself resolves: the endpoints and APIs, an image layer's bucket, the database, the cache.
AWS_NAMES = (
    "secretsmanager.us-east-1.amazonaws.com", "api.ecr.us-east-1.amazonaws.com", "logs.us-east-1.amazonaws.com",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com", "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com",
    "ecs.us-east-1.amazonaws.com", "rds.us-east-1.amazonaws.com",
    "dev-litellm-db.c9akciq32.us-east-1.rds.amazonaws.com", "master.dev-litellm.abc123.use1.cache.amazonaws.com",
    "ip-10-0-10-5.ec2.internal", "5.10.0.10.in-addr.arpa",
)  # fmt: skip
# Names nothing in the VPC needs: where a stolen key or prompt would go, AWS-hosted ones included
# (any account's bucket, API or instance resolves under amazonaws.com).
OUTSIDE_NAMES = (
    "exfiltrate.example.net", "raw.githubusercontent.com", "openai.com.attacker.example",
    "attacker-bucket.s3.us-east-1.amazonaws.com", "abc123.execute-api.us-east-1.amazonaws.com",
    "ec2-203-0-113-7.compute-1.amazonaws.com",
)  # fmt: skip


def _domain_matches(spec: str, name: str) -> bool:
    """DNS Firewall's match: ``*`` is every name, ``*.d`` every subdomain of d, else the name itself."""
    spec, name = spec.lower().rstrip("."), name.lower().rstrip(".")
    if spec == "*":
        return True
    return name.endswith(spec[1:]) if spec.startswith("*.") else name == spec


def _domain_specs(domains: Any, values: dict[str, str]) -> list[str]:
    """A domain list's entries as they deploy in the example account and region."""
    known = {"AWS::Region": "us-east-1", "AWS::URLSuffix": "amazonaws.com", "AWS::AccountId": "123456789012", **values}
    specs = []
    for entry in as_list(domains):
        if isinstance(entry, dict) and isinstance(entry.get("Fn::Sub"), str):
            entry = re.sub(r"\$\{([^}]+)\}", lambda m: str(known.get(m[1], m[0])), entry["Fn::Sub"])
        specs.append(str(entry))
    return specs


def _dns_answer(resources: dict[str, Any], name: str, values: dict[str, str]) -> tuple[str, str]:
    """The first rule of the VPC's rule groups that matches ``name``: (action, block response), or ("", "")."""
    groups = sorted(
        (int(a.get("Properties", {}).get("Priority", 0)), a.get("Properties", {}).get("FirewallRuleGroupId", {}))
        for a in resources.values()
        if a.get("Type") == "AWS::Route53Resolver::FirewallRuleGroupAssociation"
        and a.get("Properties", {}).get("VpcId") == {"Ref": "Vpc"}
    )  # fmt: skip
    for _, group in groups:
        rules = resources.get(group.get("Ref", "") if isinstance(group, dict) else "", {}).get("Properties", {})
        for rule in sorted(rules.get("FirewallRules", []), key=lambda r: int(r.get("Priority", 0))):
            listed = resources.get((rule.get("FirewallDomainListId") or {}).get("Ref", ""), {})
            specs = _domain_specs(listed.get("Properties", {}).get("Domains", []), values)
            if any(_domain_matches(spec, name) for spec in specs):
                return str(rule.get("Action")), str(rule.get("BlockResponse", ""))
    return "", ""


def _provider_hosts(project: Path) -> Iterator[tuple[str, str]]:
    import yaml

    config = yaml.safe_load((project / "image/config.yaml").read_text())
    for model in config.get("model_list", []):
        provider = str(model.get("litellm_params", {}).get("model", "")).split("/", 1)[0]
        yield provider, PROVIDER_HOSTS.get(provider, "")


@check(42, "egress by name only to the providers and AWS")
def the_vpc_resolves_only_the_providers_and_aws_and_logs_every_other_name(env: Environment) -> Iterator[Finding]:
    """Both modes, as a launch with them would deploy, and prod's own setting: on."""
    from llmgw.parameters import ParameterError
    from llmgw.specialise import resolve_template

    if env.name == "prod" and env.parameters.get("network", {}).get("EgressDomainFilter", "off") == "off":
        yield "network: prod's EgressDomainFilter is off, so its tasks may resolve any name"
    providers = list(_provider_hosts(env.project))
    for provider, host in providers:
        if not host:
            yield f"image/config.yaml: models of {provider!r} call a host the allow-list does not know (PROVIDER_HOSTS)"
    for mode, outside in (("alert", "ALERT"), ("block", "BLOCK")):
        try:
            given = _launched_with(env, "network", {"EgressDomainFilter": mode})
        except ParameterError as err:
            yield f"network: EgressDomainFilter {mode} is refused: {err}"
            continue
        resources = resolve_template(env.templates["network"], given).get("Resources", {})
        for needed in [host for _, host in providers if host] + list(AWS_NAMES):
            action, _ = _dns_answer(resources, needed, given)
            if action != "ALLOW":
                yield f"network: with EgressDomainFilter {mode}, {needed} is not allowed ({action or 'no rule'})"
        for name in OUTSIDE_NAMES:
            action, response = _dns_answer(resources, name, given)
            if action != outside or (outside == "BLOCK" and response not in ("NODATA", "NXDOMAIN")):
                yield f"network: with EgressDomainFilter {mode}, {name} gets {action or 'no rule'}, not {outside}"
        logged = [
            r.get("Properties", {}) for r in resources.values()
            if r.get("Type") == "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation"
            and r.get("Properties", {}).get("ResourceId") == {"Ref": "Vpc"}
        ]  # fmt: skip
        if not logged:
            yield f"network: with EgressDomainFilter {mode}, no query log on the VPC records what it answered"


# ---- the gate --------------------------------------------------------------------------------------


@dataclass
class Report:
    findings: list[str] = field(default_factory=list)
    checks_run: int = 0


def environment(env: str, project: Path = ROOT, stacks: tuple[str, ...] | None = None) -> Environment:
    """``env`` of the project at ``project``, specialised as it deploys."""
    from llmgw.parameters import check_parameters
    from llmgw.specialise import resolve_template
    from tools.render import render_environment

    result = Environment(env, {}, project)
    for name, rendered in render_environment(env, project=project).items():
        stack = name.split("/", 1)[1]
        if stacks is not None and stack not in stacks:
            continue
        values = check_parameters(rendered.template, rendered.example_parameters())
        result.stacks[stack] = resolve_template(rendered.template, values)
        result.parameters[stack] = values
        result.templates[stack] = rendered.template
    return result


def run_checks(env: Environment, checks: list[Check] | None = None) -> Report:
    report = Report()
    for item_check in checks if checks is not None else CHECKS:
        if env.name in item_check.environments:
            report.checks_run += 1
            report.findings += item_check.run(env)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("environments", nargs="*", default=list(ENVIRONMENTS))
    args = parser.parse_args(argv)
    failed = False
    for env in args.environments:
        report = run_checks(environment(env))
        for finding in report.findings:
            print(finding)
        failed = failed or bool(report.findings)
        print(f"checklist {env}: {report.checks_run} checks, {len(report.findings)} findings")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
