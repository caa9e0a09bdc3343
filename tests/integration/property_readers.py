"""Each resource type's properties, read back through its service's API and put in CloudFormation's shape.

``READERS[type](aws, resource)`` returns ``{property: value}`` for what the
service exposes. ``NOT_EXPOSED`` names what no AWS API returns, and why,
with the test that covers its effect instead. A type or property in neither
fails the enumeration test, so a new one cannot slip by.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import unquote

from tests.integration.deployed_properties import ANY, DeployedResource


class Aws:
    def __init__(self, client: Callable[[str], Any]) -> None:
        self._client = cache(client)

    def __getattr__(self, service: str) -> Any:
        return self._client(service.replace("_", "-"))


def _tags(items: list[dict[str, str]] | None, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{"Key": t[key], "Value": t[value]} for t in items or [] if not t[key].startswith("aws:")]


def _pascal(node: Any, keep: frozenset[str] = frozenset()) -> Any:
    """camelCase API keys to CloudFormation's PascalCase; the values of ``keep`` keys are left as they are."""
    if isinstance(node, list):
        return [_pascal(item, keep) for item in node]
    if not isinstance(node, dict):
        return node
    return {key[0].upper() + key[1:]: (value if key in keep else _pascal(value, keep)) for key, value in node.items()}


# ---- EC2 -----------------------------------------------------------------------


def _vpc(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (vpc,) = aws.ec2.describe_vpcs(VpcIds=[r.physical_id])["Vpcs"]
    attribute = lambda name: aws.ec2.describe_vpc_attribute(VpcId=r.physical_id, Attribute=name)  # noqa: E731
    return {
        "CidrBlock": vpc["CidrBlock"],
        "EnableDnsSupport": attribute("enableDnsSupport")["EnableDnsSupport"]["Value"],
        "EnableDnsHostnames": attribute("enableDnsHostnames")["EnableDnsHostnames"]["Value"],
        "Tags": _tags(vpc.get("Tags")),
    }


def _subnet(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (subnet,) = aws.ec2.describe_subnets(SubnetIds=[r.physical_id])["Subnets"]
    return {
        "AvailabilityZone": subnet["AvailabilityZone"],
        "CidrBlock": subnet["CidrBlock"],
        "MapPublicIpOnLaunch": subnet["MapPublicIpOnLaunch"],
        "VpcId": subnet["VpcId"],
        "Tags": _tags(subnet.get("Tags")),
    }


def _internet_gateway(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (gateway,) = aws.ec2.describe_internet_gateways(InternetGatewayIds=[r.physical_id])["InternetGateways"]
    return {"Tags": _tags(gateway.get("Tags"))}


def _gateway_attachment(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    gateway_id = r.properties["InternetGatewayId"]
    (gateway,) = aws.ec2.describe_internet_gateways(InternetGatewayIds=[gateway_id])["InternetGateways"]
    (attachment,) = gateway["Attachments"]
    return {"InternetGatewayId": gateway_id, "VpcId": attachment["VpcId"]}


def _eip(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    addresses = aws.ec2.describe_addresses()["Addresses"]
    (address,) = [a for a in addresses if r.physical_id in (a.get("PublicIp"), a.get("AllocationId"))]
    return {"Domain": address["Domain"], "Tags": _tags(address.get("Tags"))}


def _nat_gateway(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (gateway,) = aws.ec2.describe_nat_gateways(NatGatewayIds=[r.physical_id])["NatGateways"]
    return {
        "AllocationId": gateway["NatGatewayAddresses"][0]["AllocationId"],
        "SubnetId": gateway["SubnetId"],
        "Tags": _tags(gateway.get("Tags")),
    }


def _route_table(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (table,) = aws.ec2.describe_route_tables(RouteTableIds=[r.physical_id])["RouteTables"]
    return {"VpcId": table["VpcId"], "Tags": _tags(table.get("Tags"))}


def _route(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    table_id = r.properties["RouteTableId"]
    (table,) = aws.ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"]
    (route,) = [x for x in table["Routes"] if x.get("DestinationCidrBlock") == r.properties["DestinationCidrBlock"]]
    found = {"RouteTableId": table_id, "DestinationCidrBlock": route["DestinationCidrBlock"]}
    for key in ("GatewayId", "NatGatewayId"):
        if route.get(key):
            found[key] = route[key]
    return found


def _route_table_association(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    tables = aws.ec2.describe_route_tables(RouteTableIds=[r.properties["RouteTableId"]])["RouteTables"]
    (association,) = [a for a in tables[0]["Associations"] if a.get("SubnetId") == r.properties["SubnetId"]]
    return {"RouteTableId": association["RouteTableId"], "SubnetId": association["SubnetId"]}


def _rules(permissions: list[dict[str, Any]], peer_key: str) -> list[dict[str, Any]]:
    """EC2's grouped permissions as CloudFormation's one-peer-per-rule list."""
    rules = []
    for permission in permissions:
        base = {"IpProtocol": permission["IpProtocol"]}
        if permission["IpProtocol"] != "-1":
            base.update(FromPort=permission.get("FromPort"), ToPort=permission.get("ToPort"))
        for ip_range in permission.get("IpRanges", []):
            rules.append({**base, "CidrIp": ip_range["CidrIp"], "Description": ip_range.get("Description", "")})
        for pair in permission.get("UserIdGroupPairs", []):
            rules.append({**base, peer_key: pair["GroupId"], "Description": pair.get("Description", "")})
    return rules


def _security_group(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (group,) = aws.ec2.describe_security_groups(GroupIds=[r.physical_id])["SecurityGroups"]
    found = {
        "GroupDescription": group["Description"],
        "VpcId": group["VpcId"],
        "Tags": _tags(group.get("Tags")),
        "SecurityGroupIngress": _rules(group["IpPermissions"], "SourceSecurityGroupId"),
        "SecurityGroupEgress": _rules(group["IpPermissionsEgress"], "DestinationSecurityGroupId"),
    }
    # Standalone rule resources add to the group's lists: keep the inline ones the template names.
    for key in ("SecurityGroupIngress", "SecurityGroupEgress"):
        wanted = r.properties.get(key, [])
        found[key] = [rule for rule in found[key] if any(_same_rule(w, rule) for w in wanted)] or found[key]
    return found


def _same_rule(wanted: dict[str, Any], rule: dict[str, Any]) -> bool:
    from tests.integration.deployed_properties import mismatches

    return not mismatches(wanted, rule)


def _standalone_rule(direction: str, peer_key: str) -> Callable[[Aws, DeployedResource], dict[str, Any]]:
    def read(aws: Aws, r: DeployedResource) -> dict[str, Any]:
        (group,) = aws.ec2.describe_security_groups(GroupIds=[r.properties["GroupId"]])["SecurityGroups"]
        rules = _rules(group["IpPermissions" if direction == "in" else "IpPermissionsEgress"], peer_key)
        wanted = {k: v for k, v in r.properties.items() if k != "GroupId"}
        matching = [rule for rule in rules if _same_rule(wanted, rule)]
        return {"GroupId": group["GroupId"], **(matching[0] if matching else {})}

    return read


def _vpc_endpoint(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (endpoint,) = aws.ec2.describe_vpc_endpoints(VpcEndpointIds=[r.physical_id])["VpcEndpoints"]
    found = {
        "ServiceName": endpoint["ServiceName"],
        "VpcEndpointType": endpoint["VpcEndpointType"],
        "VpcId": endpoint["VpcId"],
        "PrivateDnsEnabled": endpoint.get("PrivateDnsEnabled"),
    }
    if endpoint.get("RouteTableIds"):
        found["RouteTableIds"] = endpoint["RouteTableIds"]
    if endpoint.get("SubnetIds"):
        found["SubnetIds"] = endpoint["SubnetIds"]
    if endpoint.get("Groups"):
        found["SecurityGroupIds"] = [g["GroupId"] for g in endpoint["Groups"]]
    if endpoint.get("PolicyDocument"):
        found["PolicyDocument"] = json.loads(endpoint["PolicyDocument"])
    return found


def _flow_log(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (flow_log,) = aws.ec2.describe_flow_logs(FlowLogIds=[r.physical_id])["FlowLogs"]
    found = {
        "ResourceId": flow_log["ResourceId"],
        "TrafficType": flow_log["TrafficType"],
        "LogDestinationType": flow_log["LogDestinationType"],
        "LogGroupName": flow_log.get("LogGroupName"),
        "DeliverLogsPermissionArn": flow_log.get("DeliverLogsPermissionArn"),
    }
    # The API names the resource, not its kind; vpc- IDs are VPCs.
    found["ResourceType"] = {"vpc": "VPC", "subnet": "Subnet", "eni": "NetworkInterface"}[
        flow_log["ResourceId"].split("-")[0]
    ]
    return found


# ---- IAM, KMS, Secrets Manager, SNS, Logs -------------------------------------------


def _role(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    role = aws.iam.get_role(RoleName=r.physical_id)["Role"]
    document = role["AssumeRolePolicyDocument"]
    policies = []
    for name in aws.iam.list_role_policies(RoleName=r.physical_id)["PolicyNames"]:
        body = aws.iam.get_role_policy(RoleName=r.physical_id, PolicyName=name)["PolicyDocument"]
        policies.append(
            {"PolicyName": name, "PolicyDocument": json.loads(unquote(body)) if isinstance(body, str) else body}
        )
    found = {
        "AssumeRolePolicyDocument": json.loads(unquote(document)) if isinstance(document, str) else document,
        "Description": role.get("Description"),
        "Policies": policies,
    }
    if role.get("Path", "/") != "/":
        found["Path"] = role["Path"]
    return found


def _kms_key(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    key = aws.kms.describe_key(KeyId=r.physical_id)["KeyMetadata"]
    return {
        "Description": key["Description"],
        "EnableKeyRotation": aws.kms.get_key_rotation_status(KeyId=r.physical_id)["KeyRotationEnabled"],
        "KeyPolicy": json.loads(aws.kms.get_key_policy(KeyId=r.physical_id, PolicyName="default")["Policy"]),
    }


def _kms_alias(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (alias,) = [a for a in aws.kms.list_aliases()["Aliases"] if a["AliasName"] == r.physical_id]
    return {"AliasName": alias["AliasName"], "TargetKeyId": alias["TargetKeyId"]}


def _oldest_value(aws: Aws, secret_id: str) -> str:
    versions = aws.secretsmanager.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=True)["Versions"]
    first = min(versions, key=lambda v: v["CreatedDate"])
    return aws.secretsmanager.get_secret_value(SecretId=secret_id, VersionId=first["VersionId"])["SecretString"]


def _secret(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    described = aws.secretsmanager.describe_secret(SecretId=r.physical_id)
    found = {"Name": described["Name"], "Description": described.get("Description"),
             "KmsKeyId": described.get("KmsKeyId")}  # fmt: skip
    # The value CloudFormation wrote is the secret's first version; hooks and rotations add later ones.
    value = _oldest_value(aws, r.physical_id)
    if "SecretString" in r.properties:
        found["SecretString"] = value
    if "GenerateSecretString" in r.properties:
        found["GenerateSecretString"] = _generated_shape(r.properties["GenerateSecretString"], value)
    return found


def _generated_shape(wanted: dict[str, Any], value: str) -> dict[str, Any]:
    """The GenerateSecretString settings the value bears out; a broken one comes back different."""
    document = json.loads(value)
    generated = str(document.pop(wanted["GenerateStringKey"], ""))
    template = json.loads(wanted["SecretStringTemplate"])
    found = {
        "SecretStringTemplate": wanted["SecretStringTemplate"] if document == template else json.dumps(document),
        "GenerateStringKey": wanted["GenerateStringKey"] if generated else None,
        "PasswordLength": len(generated),
    }
    if "ExcludeCharacters" in wanted:
        found["ExcludeCharacters"] = (
            wanted["ExcludeCharacters"]
            if not set(generated) & set(wanted["ExcludeCharacters"])
            else "excluded characters present"
        )
    if "ExcludePunctuation" in wanted:
        found["ExcludePunctuation"] = generated.isalnum()
    return found


def _target_attachment(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    value = json.loads(aws.secretsmanager.get_secret_value(SecretId=r.properties["SecretId"])["SecretString"])
    (instance,) = aws.rds.describe_db_instances(DBInstanceIdentifier=value["dbInstanceIdentifier"])["DBInstances"]
    return {
        "SecretId": aws.secretsmanager.describe_secret(SecretId=r.properties["SecretId"])["ARN"],
        "TargetId": instance["DBInstanceIdentifier"] if value["host"] == instance["Endpoint"]["Address"] else None,
        "TargetType": "AWS::RDS::DBInstance" if value.get("engine") == instance["Engine"] else None,
    }


def _secret_resource_policy(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    answer = aws.secretsmanager.get_resource_policy(SecretId=r.properties["SecretId"])
    return {"SecretId": answer["ARN"], "ResourcePolicy": json.loads(answer["ResourcePolicy"])}


def _rotation_schedule(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    described = aws.secretsmanager.describe_secret(SecretId=r.properties["SecretId"])
    return {
        "SecretId": described["ARN"] if described.get("RotationEnabled") else None,
        "RotationLambdaARN": described.get("RotationLambdaARN"),
        "RotationRules": {"AutomaticallyAfterDays": described.get("RotationRules", {}).get("AutomaticallyAfterDays")},
    }


def _topic(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    attributes = aws.sns.get_topic_attributes(TopicArn=r.physical_id)["Attributes"]
    return {
        "TopicName": r.physical_id.rsplit(":", 1)[1],
        "DisplayName": attributes.get("DisplayName"),
        "KmsMasterKeyId": attributes.get("KmsMasterKeyId"),
    }


def _subscription(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    subscriptions = aws.sns.list_subscriptions_by_topic(TopicArn=r.properties["TopicArn"])["Subscriptions"]
    (subscription,) = [s for s in subscriptions if s["Endpoint"] == r.properties["Endpoint"]]
    return {key: subscription[key] for key in ("TopicArn", "Protocol", "Endpoint")}


def _topic_policy(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (topic,) = r.properties["Topics"]
    policy = aws.sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
    return {"Topics": [topic], "PolicyDocument": json.loads(policy)}


def _events_rule(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    name = r.physical_id.split("/")[-1].split("|")[0]
    rule = aws.events.describe_rule(Name=name)
    targets = aws.events.list_targets_by_rule(Rule=name)["Targets"]
    found = {
        "Name": rule["Name"],
        "Description": rule.get("Description"),
        "State": rule.get("State"),
        "Targets": [{"Id": t["Id"], "Arn": t["Arn"]} for t in targets],
    }
    if "EventPattern" in rule:
        found["EventPattern"] = json.loads(rule["EventPattern"])
    if "ScheduleExpression" in rule:
        found["ScheduleExpression"] = rule["ScheduleExpression"]
    return found


def _firewall_domain_list(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    listed = aws.route53resolver.get_firewall_domain_list(FirewallDomainListId=r.physical_id)["FirewallDomainList"]
    domains = aws.route53resolver.list_firewall_domains(FirewallDomainListId=r.physical_id)["Domains"]
    return {"Name": listed["Name"], "Domains": domains}


def _firewall_rule_group(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    group = aws.route53resolver.get_firewall_rule_group(FirewallRuleGroupId=r.physical_id)["FirewallRuleGroup"]
    rules = aws.route53resolver.list_firewall_rules(FirewallRuleGroupId=r.physical_id)["FirewallRules"]
    keys = ("Priority", "FirewallDomainListId", "Action", "BlockResponse", "FirewallDomainRedirectionAction")
    return {"Name": group["Name"], "FirewallRules": [{k: rule[k] for k in keys if k in rule} for rule in rules]}


def _firewall_association(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    found = aws.route53resolver.list_firewall_rule_group_associations()["FirewallRuleGroupAssociations"]
    (association,) = [a for a in found if a["Id"] == r.physical_id]
    return {k: association[k] for k in ("Name", "FirewallRuleGroupId", "VpcId", "Priority")}


def _query_log_config(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    config = aws.route53resolver.get_resolver_query_log_config(ResolverQueryLogConfigId=r.physical_id)
    return {k: config["ResolverQueryLogConfig"][k] for k in ("Name", "DestinationArn")}


def _query_log_association(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    answer = aws.route53resolver.get_resolver_query_log_config_association(
        ResolverQueryLogConfigAssociationId=r.physical_id
    )
    association = answer["ResolverQueryLogConfigAssociation"]
    return {k: association[k] for k in ("ResolverQueryLogConfigId", "ResourceId")}


def _log_group(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (group,) = [
        g for g in aws.logs.describe_log_groups(logGroupNamePrefix=r.physical_id)["logGroups"]
        if g["logGroupName"] == r.physical_id
    ]  # fmt: skip
    return {"LogGroupName": group["logGroupName"], "RetentionInDays": group.get("retentionInDays"),
            "KmsKeyId": group.get("kmsKeyId")}  # fmt: skip


# ---- ECR, ECS, Application Auto Scaling, CloudWatch ------------------------------------


def _repository(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (repository,) = aws.ecr.describe_repositories(repositoryNames=[r.physical_id])["repositories"]
    policy = aws.ecr.get_lifecycle_policy(repositoryName=r.physical_id)["lifecyclePolicyText"]
    wanted = r.properties["LifecyclePolicy"]["LifecyclePolicyText"]
    same = isinstance(wanted, str) and json.loads(policy) == json.loads(wanted)
    return {
        "RepositoryName": repository["repositoryName"],
        "ImageTagMutability": repository["imageTagMutability"],
        "ImageScanningConfiguration": _pascal(repository["imageScanningConfiguration"]),
        "EncryptionConfiguration": {
            "EncryptionType": repository["encryptionConfiguration"]["encryptionType"],
            "KmsKey": repository["encryptionConfiguration"].get("kmsKey"),
        },
        "LifecyclePolicy": {"LifecyclePolicyText": wanted if same else policy},
    }


def _cluster(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (cluster,) = aws.ecs.describe_clusters(clusters=[r.physical_id], include=["SETTINGS"])["clusters"]
    return {
        "ClusterName": cluster["clusterName"],
        "ClusterSettings": _pascal(cluster.get("settings")),
        "CapacityProviders": cluster.get("capacityProviders"),
        "DefaultCapacityProviderStrategy": _pascal(cluster.get("defaultCapacityProviderStrategy")),
    }


# Keys whose values are maps of the user's own names, left as they are.
_USER_MAPS = frozenset({"options", "dockerLabels", "Options"})


def _task_definition(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    task = aws.ecs.describe_task_definition(taskDefinition=r.physical_id)["taskDefinition"]
    return {
        "Family": task["family"],
        "Cpu": task.get("cpu"),
        "Memory": task.get("memory"),
        "NetworkMode": task.get("networkMode"),
        "RequiresCompatibilities": task.get("requiresCompatibilities"),
        "RuntimePlatform": _pascal(task.get("runtimePlatform")),
        "ExecutionRoleArn": task.get("executionRoleArn"),
        "TaskRoleArn": task.get("taskRoleArn"),
        "ContainerDefinitions": _pascal(task["containerDefinitions"], keep=_USER_MAPS),
    }


def _service(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    cluster = r.properties["Cluster"]
    (service,) = aws.ecs.describe_services(cluster=cluster, services=[r.physical_id])["services"]
    found = {
        "ServiceName": service["serviceName"],
        "Cluster": service["clusterArn"].split("/")[-1],
        "TaskDefinition": service["taskDefinition"],
        "DesiredCount": service["desiredCount"],
        "PlatformVersion": service.get("platformVersion"),
        "PropagateTags": service.get("propagateTags"),
        "EnableECSManagedTags": service.get("enableECSManagedTags"),
        "HealthCheckGracePeriodSeconds": service.get("healthCheckGracePeriodSeconds"),
        "CapacityProviderStrategy": _pascal(service.get("capacityProviderStrategy")),
        "DeploymentConfiguration": _pascal(service.get("deploymentConfiguration")),
        "LoadBalancers": _pascal(service.get("loadBalancers")),
        "NetworkConfiguration": {
            "AwsvpcConfiguration": _pascal(service.get("networkConfiguration", {}).get("awsvpcConfiguration"))
        },
    }
    return found


def _scalable_target(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    resource_id, dimension, namespace = r.physical_id.split("|")
    (target,) = aws.application_autoscaling.describe_scalable_targets(
        ServiceNamespace=namespace, ResourceIds=[resource_id], ScalableDimension=dimension
    )["ScalableTargets"]
    return {key: target[key] for key in ("ServiceNamespace", "ScalableDimension", "ResourceId", "MinCapacity",
                                         "MaxCapacity")}  # fmt: skip


def _scaling_policy(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    policies = aws.application_autoscaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    (policy,) = [p for p in policies if p["PolicyARN"] == r.physical_id]
    return {
        "PolicyName": policy["PolicyName"],
        "PolicyType": policy["PolicyType"],
        "ScalingTargetId": f"{policy['ResourceId']}|{policy['ScalableDimension']}|{policy['ServiceNamespace']}",
        "TargetTrackingScalingPolicyConfiguration": policy.get("TargetTrackingScalingPolicyConfiguration"),
    }


def _alarm(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (alarm,) = aws.cloudwatch.describe_alarms(AlarmNames=[r.physical_id])["MetricAlarms"]
    keys = (
        "AlarmName",
        "AlarmDescription",
        "AlarmActions",
        "OKActions",
        "ComparisonOperator",
        "Dimensions",
        "EvaluationPeriods",
        "MetricName",
        "Namespace",
        "Period",
        "Statistic",
        "Threshold",
        "TreatMissingData",
    )
    return {key: alarm.get(key) for key in keys}  # fmt: skip


# ---- Lambda -----------------------------------------------------------------------------


def _function(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    function = aws.lambda_.get_function(FunctionName=r.physical_id)
    configuration = function["Configuration"]
    code = r.properties["Code"]
    uploaded = aws.s3.get_object(Bucket=code["S3Bucket"], Key=code["S3Key"])["Body"].read()
    import base64

    digest = base64.b64encode(hashlib.sha256(uploaded).digest()).decode()
    return {
        "FunctionName": configuration["FunctionName"],
        "Description": configuration.get("Description"),
        "Runtime": configuration["Runtime"],
        "Handler": configuration["Handler"],
        "Role": configuration["Role"],
        "Timeout": configuration["Timeout"],
        "MemorySize": configuration["MemorySize"],
        "Architectures": configuration.get("Architectures"),
        "KmsKeyArn": configuration.get("KMSKeyArn"),
        "LoggingConfig": {"LogGroup": configuration.get("LoggingConfig", {}).get("LogGroup")},
        "Environment": configuration.get("Environment"),
        "VpcConfig": {key: configuration.get("VpcConfig", {}).get(key) for key in ("SubnetIds", "SecurityGroupIds")},
        "ReservedConcurrentExecutions": function.get("Concurrency", {}).get("ReservedConcurrentExecutions"),
        # The API returns the code's SHA-256, not where it came from: the same bytes mean the same code.
        "Code": code if configuration["CodeSha256"] == digest else {"CodeSha256": configuration["CodeSha256"]},
    }


def _permission(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    policy = json.loads(aws.lambda_.get_policy(FunctionName=r.properties["FunctionName"])["Policy"])
    source = r.properties.get("SourceArn")
    # A SourceArn this reader cannot know (a rule's GetAtt) is matched by the principal alone.
    (statement,) = [
        s for s in policy["Statement"]
        if s.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn") == source
        or (source is ANY and s["Principal"].get("Service") == r.properties["Principal"])
    ]  # fmt: skip
    condition = statement.get("Condition", {})
    return {
        "FunctionName": r.properties["FunctionName"] if statement["Resource"].endswith(
            f":function:{r.properties['FunctionName']}") else statement["Resource"],
        "Action": statement["Action"],
        "Principal": statement["Principal"]["Service"],
        "SourceArn": condition.get("ArnLike", {}).get("AWS:SourceArn"),
        "SourceAccount": condition.get("StringEquals", {}).get("AWS:SourceAccount"),
    }  # fmt: skip


# ---- RDS ----------------------------------------------------------------------------------


def _db_instance(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (db,) = aws.rds.describe_db_instances(DBInstanceIdentifier=r.physical_id)["DBInstances"]
    found = {
        "DBInstanceIdentifier": db["DBInstanceIdentifier"],
        "Engine": db["Engine"],
        # A major-only request (15) gets a minor of that major; report the request when that holds.
        "EngineVersion": r.properties["EngineVersion"]
        if db["EngineVersion"].split(".")[0] == str(r.properties["EngineVersion"]).split(".")[0]
        and "." not in str(r.properties["EngineVersion"])
        else db["EngineVersion"],
        "DBInstanceClass": db["DBInstanceClass"],
        "CACertificateIdentifier": db["CACertificateIdentifier"],
        "DBName": db.get("DBName"),
        "Port": db["Endpoint"]["Port"],
        "MasterUsername": db["MasterUsername"],
        "ManageMasterUserPassword": "MasterUserSecret" in db,
        "MasterUserSecret": {"KmsKeyId": db.get("MasterUserSecret", {}).get("KmsKeyId")},
        "DBSubnetGroupName": db["DBSubnetGroup"]["DBSubnetGroupName"],
        "VPCSecurityGroups": [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]],
        "DBParameterGroupName": db["DBParameterGroups"][0]["DBParameterGroupName"],
        "PubliclyAccessible": db["PubliclyAccessible"],
        "MultiAZ": db["MultiAZ"],
        "StorageType": db["StorageType"],
        "AllocatedStorage": db["AllocatedStorage"],
        "MaxAllocatedStorage": db.get("MaxAllocatedStorage"),
        "StorageEncrypted": db["StorageEncrypted"],
        "KmsKeyId": db.get("KmsKeyId"),
        "DeletionProtection": db["DeletionProtection"],
        "BackupRetentionPeriod": db["BackupRetentionPeriod"],
        "PreferredBackupWindow": db["PreferredBackupWindow"],
        "PreferredMaintenanceWindow": db["PreferredMaintenanceWindow"],
        "CopyTagsToSnapshot": db["CopyTagsToSnapshot"],
        "AutoMinorVersionUpgrade": db["AutoMinorVersionUpgrade"],
        "EnableCloudwatchLogsExports": db.get("EnabledCloudwatchLogsExports"),
        "EnablePerformanceInsights": db.get("PerformanceInsightsEnabled"),
    }
    if db.get("PerformanceInsightsEnabled"):
        found["PerformanceInsightsKMSKeyId"] = db.get("PerformanceInsightsKMSKeyId")
        found["PerformanceInsightsRetentionPeriod"] = db.get("PerformanceInsightsRetentionPeriod")
    return found


def _db_parameter_group(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (group,) = aws.rds.describe_db_parameter_groups(DBParameterGroupName=r.physical_id)["DBParameterGroups"]
    parameters = aws.rds.describe_db_parameters(DBParameterGroupName=r.physical_id, Source="user")["Parameters"]
    return {
        "Description": group["Description"],
        "Family": group["DBParameterGroupFamily"],
        "Parameters": {p["ParameterName"]: p.get("ParameterValue") for p in parameters},
    }


def _db_subnet_group(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (group,) = aws.rds.describe_db_subnet_groups(DBSubnetGroupName=r.physical_id)["DBSubnetGroups"]
    return {
        "DBSubnetGroupDescription": group["DBSubnetGroupDescription"],
        "SubnetIds": [s["SubnetIdentifier"] for s in group["Subnets"]],
    }


# ---- ElastiCache ----------------------------------------------------------------------------


def _cache_subnet_group(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (group,) = aws.elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=r.physical_id)["CacheSubnetGroups"]
    return {
        "CacheSubnetGroupName": group["CacheSubnetGroupName"],
        "Description": group["CacheSubnetGroupDescription"],
        "SubnetIds": [s["SubnetIdentifier"] for s in group["Subnets"]],
    }


def _replication_group(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    """The group's own description, and what ElastiCache reports per member cluster (the same for each)."""
    (group,) = aws.elasticache.describe_replication_groups(ReplicationGroupId=r.physical_id)["ReplicationGroups"]
    clusters = [
        aws.elasticache.describe_cache_clusters(CacheClusterId=member)["CacheClusters"][0]
        for member in group["MemberClusters"]
    ]
    per_cluster = {
        "SecurityGroupIds": {tuple(g["SecurityGroupId"] for g in c.get("SecurityGroups", [])) for c in clusters},
        "CacheSubnetGroupName": {c.get("CacheSubnetGroupName") for c in clusters},
        "EngineVersion": {c.get("EngineVersion") for c in clusters},
        "PreferredMaintenanceWindow": {c.get("PreferredMaintenanceWindow") for c in clusters},
    }
    one = {name: values.pop() if len(values) == 1 else sorted(values) for name, values in per_cluster.items()}
    (node_group,) = group["NodeGroups"]
    return {
        "ReplicationGroupId": group["ReplicationGroupId"],
        "ReplicationGroupDescription": group["Description"],
        "Engine": group.get("Engine"),
        "CacheNodeType": group["CacheNodeType"],
        "NumCacheClusters": len(group["MemberClusters"]),
        "MultiAZEnabled": group["MultiAZ"] == "enabled",
        "AutomaticFailoverEnabled": group["AutomaticFailover"] == "enabled",
        "Port": node_group["PrimaryEndpoint"]["Port"],
        "TransitEncryptionEnabled": group["TransitEncryptionEnabled"],
        "AtRestEncryptionEnabled": group["AtRestEncryptionEnabled"],
        "KmsKeyId": group.get("KmsKeyId"),
        "SnapshotRetentionLimit": group.get("SnapshotRetentionLimit", 0),
        "AutoMinorVersionUpgrade": group.get("AutoMinorVersionUpgrade"),
        **{**one, "SecurityGroupIds": list(one["SecurityGroupIds"])},
    }


# ---- Elastic Load Balancing, ACM, Route 53, WAF, S3 -----------------------------------------


def _attributes(items: list[dict[str, str]]) -> dict[str, str]:
    return {a["Key"]: a["Value"] for a in items}


def _load_balancer(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (balancer,) = aws.elbv2.describe_load_balancers(LoadBalancerArns=[r.physical_id])["LoadBalancers"]
    attributes = _attributes(aws.elbv2.describe_load_balancer_attributes(LoadBalancerArn=r.physical_id)["Attributes"])
    wanted = _attributes(r.properties.get("LoadBalancerAttributes", []))
    return {
        "Name": balancer["LoadBalancerName"],
        "Scheme": balancer["Scheme"],
        "Type": balancer["Type"],
        "IpAddressType": balancer["IpAddressType"],
        "SecurityGroups": balancer.get("SecurityGroups"),
        "Subnets": [zone["SubnetId"] for zone in balancer["AvailabilityZones"]],
        "LoadBalancerAttributes": [{"Key": k, "Value": attributes.get(k)} for k in wanted],
    }


def _target_group(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (group,) = aws.elbv2.describe_target_groups(TargetGroupArns=[r.physical_id])["TargetGroups"]
    attributes = _attributes(aws.elbv2.describe_target_group_attributes(TargetGroupArn=r.physical_id)["Attributes"])
    wanted = _attributes(r.properties.get("TargetGroupAttributes", []))
    keys = ("Port", "Protocol", "VpcId", "TargetType", "HealthCheckEnabled", "HealthCheckPath",
            "HealthCheckProtocol", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds",
            "HealthyThresholdCount", "UnhealthyThresholdCount", "Matcher")  # fmt: skip
    return {
        "Name": group["TargetGroupName"],
        **{key: group.get(key) for key in keys},
        "TargetGroupAttributes": [{"Key": k, "Value": attributes.get(k)} for k in wanted],
    }


def _listener(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (listener,) = aws.elbv2.describe_listeners(ListenerArns=[r.physical_id])["Listeners"]
    found = {key: listener.get(key) for key in ("LoadBalancerArn", "Port", "Protocol", "DefaultActions")}
    if "SslPolicy" in r.properties:
        found["SslPolicy"] = listener.get("SslPolicy")
    if "Certificates" in r.properties:
        found["Certificates"] = listener.get("Certificates")
    if "ListenerAttributes" in r.properties:
        attributes = aws.elbv2.describe_listener_attributes(ListenerArn=r.physical_id)["Attributes"]
        wanted = {a["Key"] for a in r.properties["ListenerAttributes"]}
        found["ListenerAttributes"] = [a for a in attributes if a["Key"] in wanted]
    return found


def _listener_rule(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    (rule,) = aws.elbv2.describe_rules(RuleArns=[r.physical_id])["Rules"]
    return {
        "ListenerArn": r.properties["ListenerArn"],
        "Priority": rule["Priority"],
        "Actions": rule["Actions"],
        "Conditions": rule["Conditions"],
    }


def _certificate(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    described = aws.acm.describe_certificate(CertificateArn=r.physical_id)["Certificate"]
    options = []
    for option in described["DomainValidationOptions"]:
        record = option["ResourceRecord"]
        zones = [z for z in r.properties.get("DomainValidationOptions", []) if z["DomainName"] == option["DomainName"]]
        zone = zones[0]["HostedZoneId"] if zones else None
        written = zone and any(
            s["Name"].rstrip(".") == record["Name"].rstrip(".")
            for s in aws.route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        )
        options.append({"DomainName": option["DomainName"], "HostedZoneId": zone if written else None})
    return {
        "DomainName": described["DomainName"],
        "ValidationMethod": described["DomainValidationOptions"][0].get("ValidationMethod"),
        "DomainValidationOptions": options,
    }


def _record_set(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    zone = r.properties["HostedZoneId"]
    records = aws.route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    name = r.properties["Name"].rstrip(".")
    (record,) = [x for x in records if x["Name"].rstrip(".") == name and x["Type"] == r.properties["Type"]]
    alias = record["AliasTarget"]
    return {
        "HostedZoneId": zone,
        "Name": r.properties["Name"] if record["Name"].rstrip(".") == name else record["Name"],
        "Type": record["Type"],
        "AliasTarget": {
            "DNSName": alias["DNSName"],
            "HostedZoneId": alias["HostedZoneId"],
            "EvaluateTargetHealth": alias.get("EvaluateTargetHealth"),
        },
    }


def _ip_set(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    name, set_id, scope = r.physical_id.split("|")
    found = aws.wafv2.get_ip_set(Name=name, Id=set_id, Scope=scope)["IPSet"]
    return {key: found.get(key) for key in ("Name", "Description", "IPAddressVersion", "Addresses")} | {"Scope": scope}


def _web_acl(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    name, acl_id, scope = r.physical_id.split("|")
    acl = aws.wafv2.get_web_acl(Name=name, Id=acl_id, Scope=scope)["WebACL"]
    found = {key: acl.get(key) for key in ("Name", "DefaultAction", "Rules", "VisibilityConfig")}
    return _text(found) | {"Scope": scope}


def _text(node: Any) -> Any:
    """WAF's answer as the template wrote it: blobs (a SearchString) as text, an IP set reference's ARN as Arn."""
    if isinstance(node, bytes):
        return node.decode()
    if isinstance(node, list):
        return [_text(item) for item in node]
    if isinstance(node, dict):
        return {("Arn" if key == "ARN" else key): _text(value) for key, value in node.items()}
    return node


def _web_acl_association(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    acl = aws.wafv2.get_web_acl_for_resource(ResourceArn=r.properties["ResourceArn"])["WebACL"]
    return {"ResourceArn": r.properties["ResourceArn"], "WebACLArn": acl["ARN"]}


def _waf_logging(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    configuration = aws.wafv2.get_logging_configuration(ResourceArn=r.physical_id)["LoggingConfiguration"]
    return {key: configuration.get(key) for key in ("ResourceArn", "LogDestinationConfigs", "RedactedFields",
                                                     "LoggingFilter")}  # fmt: skip


def _bucket(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    s3, bucket = aws.s3, r.physical_id
    found: dict[str, Any] = {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": rule["ApplyServerSideEncryptionByDefault"],
                    "BucketKeyEnabled": rule.get("BucketKeyEnabled", False),
                }
                for rule in s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            ]
        },
        "PublicAccessBlockConfiguration": s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
        "OwnershipControls": s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"],
        "VersioningConfiguration": {"Status": s3.get_bucket_versioning(Bucket=bucket).get("Status")},
        "LifecycleConfiguration": {
            "Rules": [
                _cfn_lifecycle_rule(rule) for rule in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
            ]
        },
    }
    return {key: value for key, value in found.items() if key in r.properties}


def _cfn_lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    converted = {"Id": rule.get("ID"), "Status": rule["Status"]}
    if "Expiration" in rule:
        converted["ExpirationInDays"] = rule["Expiration"]["Days"]
    for key in ("NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"):
        if key in rule:
            converted[key] = rule[key]
    return converted


def _bucket_policy(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    policy = json.loads(aws.s3.get_bucket_policy(Bucket=r.properties["Bucket"])["Policy"])
    return {"Bucket": r.properties["Bucket"], "PolicyDocument": policy}


# ---- Custom resources ------------------------------------------------------------


def _migration(aws: Aws, r: DeployedResource) -> dict[str, Any]:
    """Custom::DatabaseMigration: what its function ran, as ECS, EC2 and CloudWatch Logs report it."""
    (stack,) = aws.cloudformation.describe_stacks(StackName=r.stack)["Stacks"]
    functions = [
        f for f in aws.lambda_.list_functions()["Functions"]
        if any(stack["StackId"] in e["message"] for e in _log_events(aws, f.get("LoggingConfig", {}).get("LogGroup")))
    ]  # fmt: skip
    cluster = str(r.properties["Cluster"])
    arns = aws.ecs.list_tasks(cluster=cluster, startedBy="cloudformation-migration", desiredStatus="STOPPED")[
        "taskArns"
    ]
    tasks = aws.ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
    task = tasks[-1]  # the latest run
    details = {d["name"]: d["value"] for a in task["attachments"] for d in a["details"]}
    (interface,) = aws.ec2.describe_network_interfaces(NetworkInterfaceIds=[details["networkInterfaceId"]])[
        "NetworkInterfaces"
    ]
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    streams = [
        (group["logGroupName"], stream["logStreamName"])
        for group in aws.logs.describe_log_groups()["logGroups"]
        for stream in aws.logs.describe_log_streams(logGroupName=group["logGroupName"])["logStreams"]
        if stream["logStreamName"].endswith(f"/migrate/{task_id}")
    ]
    ((group, stream),) = streams
    return {
        "ServiceToken": functions[0]["FunctionArn"] if len(functions) == 1 else None,
        "Cluster": task["clusterArn"].rsplit("/", 1)[-1],
        "TaskDefinition": task["taskDefinitionArn"],
        "SecurityGroups": [g["GroupId"] for g in interface["Groups"]],
        "LogGroup": group,
        "LogStreamPrefix": stream.split("/", 1)[0],
        # Passed to each run as the migrate container's environment override.
        "AllowOlderImage": next(
            (
                e["value"]
                for o in task.get("overrides", {}).get("containerOverrides", [])
                if o.get("name") == "migrate"
                for e in o.get("environment", [])
                if e["name"] == "ALLOW_OLDER_IMAGE"
            ),
            None,
        ),
    }


def _log_events(aws: Aws, group: str | None) -> list[dict[str, Any]]:
    if not group:
        return []
    return [
        e
        for stream in aws.logs.describe_log_streams(logGroupName=group)["logStreams"]
        for e in aws.logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]
    ]


READERS: dict[str, Callable[[Aws, DeployedResource], dict[str, Any]]] = {
    "AWS::ApplicationAutoScaling::ScalableTarget": _scalable_target,
    "AWS::ApplicationAutoScaling::ScalingPolicy": _scaling_policy,
    "AWS::CertificateManager::Certificate": _certificate,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::EC2::EIP": _eip,
    "AWS::EC2::FlowLog": _flow_log,
    "AWS::EC2::InternetGateway": _internet_gateway,
    "AWS::EC2::NatGateway": _nat_gateway,
    "AWS::EC2::Route": _route,
    "AWS::EC2::RouteTable": _route_table,
    "AWS::EC2::SecurityGroup": _security_group,
    "AWS::EC2::SecurityGroupEgress": _standalone_rule("out", "DestinationSecurityGroupId"),
    "AWS::EC2::SecurityGroupIngress": _standalone_rule("in", "SourceSecurityGroupId"),
    "AWS::EC2::Subnet": _subnet,
    "AWS::EC2::SubnetRouteTableAssociation": _route_table_association,
    "AWS::EC2::VPC": _vpc,
    "AWS::EC2::VPCEndpoint": _vpc_endpoint,
    "AWS::EC2::VPCGatewayAttachment": _gateway_attachment,
    "AWS::ECR::Repository": _repository,
    "AWS::ECS::Cluster": _cluster,
    "AWS::ECS::Service": _service,
    "AWS::ECS::TaskDefinition": _task_definition,
    "AWS::ElasticLoadBalancingV2::Listener": _listener,
    "AWS::ElasticLoadBalancingV2::ListenerRule": _listener_rule,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _target_group,
    "AWS::IAM::Role": _role,
    "AWS::KMS::Alias": _kms_alias,
    "AWS::KMS::Key": _kms_key,
    "AWS::Lambda::Function": _function,
    "AWS::Lambda::Permission": _permission,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::ElastiCache::ReplicationGroup": _replication_group,
    "AWS::ElastiCache::SubnetGroup": _cache_subnet_group,
    "AWS::RDS::DBInstance": _db_instance,
    "AWS::RDS::DBParameterGroup": _db_parameter_group,
    "AWS::RDS::DBSubnetGroup": _db_subnet_group,
    "AWS::Route53::RecordSet": _record_set,
    "AWS::S3::Bucket": _bucket,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::SNS::Subscription": _subscription,
    "AWS::Route53Resolver::FirewallDomainList": _firewall_domain_list,
    "AWS::Route53Resolver::FirewallRuleGroup": _firewall_rule_group,
    "AWS::Route53Resolver::FirewallRuleGroupAssociation": _firewall_association,
    "AWS::Route53Resolver::ResolverQueryLoggingConfig": _query_log_config,
    "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation": _query_log_association,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::TopicPolicy": _topic_policy,
    "AWS::Events::Rule": _events_rule,
    "AWS::SecretsManager::RotationSchedule": _rotation_schedule,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::SecretsManager::SecretTargetAttachment": _target_attachment,
    "AWS::SecretsManager::ResourcePolicy": _secret_resource_policy,
    "AWS::WAFv2::IPSet": _ip_set,
    "AWS::WAFv2::LoggingConfiguration": _waf_logging,
    "AWS::WAFv2::WebACL": _web_acl,
    "AWS::WAFv2::WebACLAssociation": _web_acl_association,
    "Custom::DatabaseMigration": _migration,
}

# (type, property) -> why no API returns it, and where its effect is tested instead.
NOT_EXPOSED: dict[tuple[str, str], str] = {
    ("AWS::ElastiCache::ReplicationGroup", "AuthToken"): "no API returns the token, only AuthTokenEnabled; "
    "test_launch_prod__cache_answers_only_tls_clients_with_the_token_from_secrets_manager connects with it",
    (
        "AWS::ECR::Repository",
        "EmptyOnDelete",
    ): "a CloudFormation delete behaviour; test_delete_dev__… finds no images left",
    ("AWS::KMS::Key", "PendingWindowInDays"): "DescribeKey shows it only once deletion is scheduled; "
    "test_delete_prod__… keeps the key",
    ("AWS::SecretsManager::ResourcePolicy", "BlockPublicPolicy"): "a setting of the call, not stored; "
    "test_secret_resource_policy__block_public_policy_refuses_an_allow_to_everyone checks it",
    ("AWS::SecretsManager::RotationSchedule", "RotateImmediatelyOnUpdate"): "a setting of the call, not stored; "
    "test_launch_dev__creating_the_schedules_ran_both_functions_as_secrets_manager_does sees its effect",
    ("Custom::DatabaseMigration", "ServiceTimeout"): "CloudFormation's own wait for the answer; "
    "test_migration__serving_tasks_never_migrate_and_the_service_waits_for_the_one_migration holds it",
    ("Custom::DatabaseMigration", "Skip"): "the function's decision to run nothing; a task that ran means false, "
    "and test_delete_and_skip__run_nothing covers true",
    ("Custom::DatabaseMigration", "Subnets"): "RunTask places the task in one of them and ECS names only that one; "
    "test_launch_dev__one_migration_task_applies_litellms_schema_before_the_first_serving_task_starts checks it",
}
