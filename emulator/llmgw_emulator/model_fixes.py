"""Fixes to CloudFormation support in moto 5.2's existing models, each small enough to send upstream.

Each function repairs one model so that a template which works on AWS
works the same way here; :func:`install` applies them all, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["install"]

_INSTALLED = False


def _wrap_cfn_create(
    model: Any,
    *,
    properties: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    after: Callable[[Any, dict[str, Any], str, str], None] | None = None,
) -> None:
    """Keep moto's own create for ``model``, rewriting its properties first or finishing the object after.

    ``properties`` gets a copy of the resource's Properties and returns what
    moto should see; ``after`` gets the created object, the Properties, the
    account and the region.
    """
    original = model.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        if properties is not None:
            given = dict(cloudformation_json.get("Properties", {}))
            cloudformation_json = {**cloudformation_json, "Properties": properties(given)}
        created = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        if after is not None:
            after(created, cloudformation_json.get("Properties", {}), account_id, region_name)
        return created

    model.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def _ref_of_rds_groups_is_their_name() -> None:
    # Without physical_resource_id, !Ref hands the model object to DBInstance.
    from moto.rds.models import DBParameterGroup, DBSubnetGroup

    DBParameterGroup.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]
    DBSubnetGroup.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]


def _adjacent_rds_windows_do_not_overlap() -> None:
    # AWS accepts a backup window that ends when the maintenance window
    # starts (03:00-04:00 with sun:04:00-sun:05:00); moto counts an overlap
    # of zero seconds as an overlap.
    from moto.rds import utils

    original = utils.get_overlap_between_two_date_ranges

    def get_overlap_between_two_date_ranges(*args: Any) -> int:
        overlap = original(*args)
        return -1 if overlap == 0 else overlap

    utils.get_overlap_between_two_date_ranges = get_overlap_between_two_date_ranges


def _db_instance_attributes() -> None:
    from moto.rds.models import DBInstance

    original = DBInstance.get_cfn_attribute

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "MasterUserSecret.SecretArn":
            return self.master_user_secret.secret_arn
        if attribute_name == "DBInstanceArn":
            return self.arn
        return original(self, attribute_name)

    DBInstance.get_cfn_attribute = get_cfn_attribute


def _stack_resources_are_the_created_ones() -> None:
    """DescribeStackResources listed a resource whose Condition is false as an entry with no ID or type."""
    from moto.awslambda.models import Permission
    from moto.cloudformation.models import Stack

    # The resources created so far: reading the map's values would create the missing ones, which
    # re-ran a rolled-back stack's failed resources on a DescribeStackResources.
    Stack.stack_resources = property(  # type: ignore[assignment]
        lambda self: [
            r for r in self.resource_map._parsed_resources.values() if getattr(r, "logical_resource_id", None)
        ]
    )

    # A model without a physical ID at all; AWS gives each one.
    Permission.physical_resource_id = property(lambda self: self.logical_resource_id)  # type: ignore[attr-defined]


def _nested_stack_outputs() -> None:
    """``!GetAtt Child.Outputs.Name`` reads a nested stack's output, as taskcat's entrypoint does."""
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.cloudformation.models import Stack

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name.startswith("Outputs."):
            key = attribute_name.removeprefix("Outputs.")
            for output in self.outputs or []:
                if output["OutputKey"] == key:
                    return output["OutputValue"]
        raise UnformattedGetAttTemplateException()

    Stack.get_cfn_attribute = get_cfn_attribute


def _load_balancer_attributes() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.elbv2.models import FakeLoadBalancer

    original = FakeLoadBalancer.get_cfn_attribute

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerFullName":
            return self.arn.split(":loadbalancer/", 1)[1]  # app/NAME/ID
        if attribute_name == "CanonicalHostedZoneID":
            return self.canonical_hosted_zone_id
        if attribute_name == "SecurityGroups":
            return list(self.security_groups)
        try:
            return original(self, attribute_name)
        except NotImplementedError:
            raise UnformattedGetAttTemplateException() from None

    FakeLoadBalancer.get_cfn_attribute = get_cfn_attribute

    # moto's create ignores LoadBalancerAttributes; AWS applies them, and
    # refuses access logging to a bucket that does not exist.
    def apply_attributes(balancer: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        from moto.elbv2.models import elbv2_backends
        from moto.s3.models import s3_backends

        attributes = {
            a["Key"]: str(a["Value"]).lower() if isinstance(a["Value"], bool) else str(a["Value"])
            for a in properties.get("LoadBalancerAttributes", [])
        }
        if attributes.get("access_logs.s3.enabled") == "true":
            bucket = attributes.get("access_logs.s3.bucket", "")
            if bucket not in s3_backends[account_id]["global"].buckets:
                raise ValueError(f"Access Denied for bucket: {bucket}. Please check S3bucket permission")
        if attributes:
            elbv2_backends[account_id][region_name].modify_load_balancer_attributes(balancer.arn, attributes)

    _wrap_cfn_create(FakeLoadBalancer, after=apply_attributes)

    # moto deletes a load balancer whatever its deletion protection says.
    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.models import ELBv2Backend

    original_delete = ELBv2Backend.delete_load_balancer

    def delete_load_balancer(self: Any, arn: str) -> None:
        balancer = self.load_balancers.get(arn)
        if balancer is not None and balancer.attrs.get("deletion_protection.enabled") == "true":
            raise ELBClientError(
                "OperationNotPermitted",
                f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled",
            )
        original_delete(self, arn)

    ELBv2Backend.delete_load_balancer = delete_load_balancer


def _listener_attributes() -> None:
    """moto's create ignores a listener's ListenerAttributes; AWS applies them, and refuses unknown keys."""
    from moto.elbv2.models import FakeListener, elbv2_backends

    from .elb_listeners import RESPONSE_HEADER_ATTRIBUTES

    def apply_attributes(listener: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        attributes = [
            {"Key": str(a["Key"]), "Value": str(a["Value"])} for a in properties.get("ListenerAttributes", [])
        ]
        for attribute in attributes:
            if attribute["Key"] not in RESPONSE_HEADER_ATTRIBUTES:
                raise ValueError(
                    f"the emulator does not model the listener attribute {attribute['Key']}; "
                    f"it models {', '.join(sorted(RESPONSE_HEADER_ATTRIBUTES))}"
                )
        if attributes:
            elbv2_backends[account_id][region_name].modify_listener_attributes(listener.arn, attributes)

    _wrap_cfn_create(FakeListener, after=apply_attributes)


def _target_group_attributes() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.elbv2.models import FakeTargetGroup

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        values = {
            "TargetGroupArn": self.arn,
            "TargetGroupName": self.name,
            "TargetGroupFullName": self.arn.split(":", 5)[5],  # targetgroup/NAME/ID
            "LoadBalancerArns": list(self.load_balancer_arns),
        }
        if attribute_name in values:
            return values[attribute_name]
        raise UnformattedGetAttTemplateException()

    FakeTargetGroup.get_cfn_attribute = get_cfn_attribute
    FakeTargetGroup.has_cfn_attr = classmethod(  # type: ignore[assignment]
        lambda cls, attr: attr in ("TargetGroupArn", "TargetGroupName", "TargetGroupFullName", "LoadBalancerArns")
    )


def _bucket_properties() -> None:
    """moto's bucket create applies only encryption and tags; AWS also applies these."""
    from moto.s3.models import FakeBucket, s3_backends

    def apply_properties(bucket: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = s3_backends[account_id]["global"]
        if "PublicAccessBlockConfiguration" in properties:
            block = {key: str(value).lower() for key, value in properties["PublicAccessBlockConfiguration"].items()}
            backend.put_public_access_block(bucket.name, block)
        if "VersioningConfiguration" in properties:
            backend.put_bucket_versioning(bucket.name, properties["VersioningConfiguration"]["Status"])

    _wrap_cfn_create(FakeBucket, after=apply_properties)


def _log_group_kms_key() -> None:
    """moto reads a log group's key as ``kmsKeyId`` (the API's spelling); CloudFormation says ``KmsKeyId``."""
    from moto.logs.models import LogGroup

    def api_spelling(properties: dict[str, Any]) -> dict[str, Any]:
        if "KmsKeyId" in properties:
            properties["kmsKeyId"] = properties.pop("KmsKeyId")
        return properties

    _wrap_cfn_create(LogGroup, properties=api_spelling)


def _kms_key_policy_is_text() -> None:
    """moto keeps a CloudFormation key's KeyPolicy as a dict, then fails (500) to parse it on DescribeKey."""
    import json

    from moto.kms.models import Key

    def policy_as_text(key: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        if isinstance(key.policy, dict):
            key.policy = json.dumps(key.policy)

    _wrap_cfn_create(Key, after=policy_as_text)


def _conditional_bucket_policy_statements_are_not_enforced() -> None:
    """moto enforces a bucket policy's ``Principal: *`` statements but ignores their Conditions.

    A TLS-only policy (Deny unless aws:SecureTransport) would then deny every
    request, and the emulator speaks plain HTTP anyway. Only statements
    without a Condition are enforced; the policy is still stored and returned.
    """
    import json

    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy)
        statements = document.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        document["Statement"] = [statement for statement in statements if "Condition" not in statement]
        if not document["Statement"]:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission


def _service_linked_roles() -> None:
    """Name service-linked roles as IAM does (AWSServiceRoleForECS, not moto's AWSServiceRoleForecs),
    and refuse an existing one with IAM's InvalidInput, not EntityAlreadyExists.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html
    """
    from moto.iam import models
    from moto.iam.exceptions import EntityAlreadyExists, InvalidInput

    models.SERVICE_NAME_CONVERSION.update({"ecs": "ECS", "rds": "RDS", "elasticloadbalancing": "ElasticLoadBalancing"})
    original = models.IAMBackend.create_service_linked_role

    def create_service_linked_role(self: Any, service_name: str, description: str, suffix: str) -> Any:
        try:
            return original(self, service_name, description, suffix)
        except EntityAlreadyExists as err:
            name = getattr(err, "message", str(err)).split("Role with name ")[-1].split(" already exists")[0]
            raise InvalidInput(
                f"Service role name {name} has been taken in this account, please try a different suffix."
            ) from None

    models.IAMBackend.create_service_linked_role = create_service_linked_role


def _moving_awscurrent_moves_the_current_value() -> None:
    """UpdateSecretVersionStage moves AWSCURRENT's label but moto keeps serving the old version.

    moto answers GetSecretValue without a stage, and every later
    PutSecretValue, from its own record of the current version, which only
    PutSecretValue updates. After a rotation's finishSecret the old value
    came back, and the next put left two versions labelled AWSCURRENT.
    """
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend.update_secret_version_stage

    def update_secret_version_stage(
        self: Any, secret_id: str, version_stage: str, remove_from_version_id: str, move_to_version_id: str
    ) -> tuple[str, str]:
        result = original(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            secret = self.secrets[secret_id]
            version = secret.versions[move_to_version_id]
            secret.set_default_version_id(move_to_version_id)
            secret.secret_string = version.get("secret_string")
            secret.secret_binary = version.get("secret_binary")
        return result

    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage


def _ec2_properties_moto_drops() -> None:
    """Tags on gateways, addresses and route tables, and a VPC's DNS attributes, which moto's models ignore."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.elastic_ip_addresses import ElasticAddress
    from moto.ec2.models.internet_gateways import InternetGateway
    from moto.ec2.models.nat_gateways import NatGateway
    from moto.ec2.models.route_tables import RouteTable
    from moto.ec2.models.vpcs import VPC

    def tag(resource_id: Callable[[Any], str]) -> Callable[[Any, dict[str, Any], str, str], None]:
        def apply(created: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
            tags = {t["Key"]: t["Value"] for t in properties.get("Tags", [])}
            if tags:
                ec2_backends[account_id][region_name].create_tags([resource_id(created)], tags)

        return apply

    for model, resource_id in (
        (ElasticAddress, lambda a: a.allocation_id),
        (InternetGateway, lambda g: g.id),
        (NatGateway, lambda g: g.id),
        (RouteTable, lambda t: t.id),
    ):
        _wrap_cfn_create(model, after=tag(resource_id))

    def dns(vpc: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        for key, attribute in (
            ("EnableDnsSupport", "enable_dns_support"),
            ("EnableDnsHostnames", "enable_dns_hostnames"),
        ):
            if key in properties:
                backend.modify_vpc_attribute(vpc.id, attribute, str(properties[key]).lower() == "true")

    _wrap_cfn_create(VPC, after=dns)


def _properties_other_models_drop() -> None:
    """An ECR lifecycle policy, target group attributes, a bucket's ownership and lifecycle rules."""
    from moto.ecr.models import Repository, ecr_backends
    from moto.elbv2.models import FakeTargetGroup, elbv2_backends
    from moto.s3.models import FakeBucket, s3_backends

    def lifecycle_policy(repository: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        text = (properties.get("LifecyclePolicy") or {}).get("LifecyclePolicyText")
        if text:
            ecr_backends[account_id][region_name].put_lifecycle_policy(repository.registry_id, repository.name, text)

    def target_group_attributes(group: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        attributes = {a["Key"]: str(a["Value"]).lower() if isinstance(a["Value"], bool) else str(a["Value"])
                      for a in properties.get("TargetGroupAttributes", [])}  # fmt: skip
        if attributes:
            elbv2_backends[account_id][region_name].modify_target_group_attributes(group.arn, attributes)

    def bucket_rules(bucket: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = s3_backends[account_id]["global"]
        encryption = properties.get("BucketEncryption")
        if encryption:
            # moto's conversion keeps the algorithm and key but drops BucketKeyEnabled.
            from moto.s3.cloud_formation import cfn_to_api_encryption

            converted = cfn_to_api_encryption(encryption)
            enabled = encryption["ServerSideEncryptionConfiguration"][0].get("BucketKeyEnabled", False)
            converted["Rule"]["BucketKeyEnabled"] = str(enabled).lower()
            backend.put_bucket_encryption(bucket.name, converted)
        ownership = properties.get("OwnershipControls")
        if ownership:
            # moto keeps the rule's ObjectOwnership value itself
            backend.put_bucket_ownership_controls(bucket.name, ownership["Rules"][0]["ObjectOwnership"])
        lifecycle = properties.get("LifecycleConfiguration")
        if lifecycle:
            backend.put_bucket_lifecycle_configuration(bucket.name, [_lifecycle_rule(r) for r in lifecycle["Rules"]])

    def api_shapes(properties: dict[str, Any]) -> dict[str, Any]:
        # moto's model keeps these as given, so CloudFormation's PascalCase reached the API's camelCase fields.
        from moto.core.utils import pascal_to_camelcase, remap_nested_keys

        for key in ("EncryptionConfiguration", "ImageScanningConfiguration"):
            if key in properties:
                properties[key] = remap_nested_keys(properties[key], pascal_to_camelcase)
        scan = properties.get("ImageScanningConfiguration")
        if scan and "scanOnPush" in scan:
            scan["scanOnPush"] = str(scan["scanOnPush"]).lower() == "true"
        return properties

    _wrap_cfn_create(Repository, properties=api_shapes, after=lifecycle_policy)
    _wrap_cfn_create(FakeTargetGroup, after=target_group_attributes)
    _wrap_cfn_create(FakeBucket, after=bucket_rules)


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the shape moto's PutBucketLifecycleConfiguration takes."""
    converted: dict[str, Any] = {
        "ID": rule.get("Id"),
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "NoncurrentVersionExpiration" in rule:
        converted["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        converted["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }
    unknown = set(rule) - {"Id", "Status", "Prefix", "ExpirationInDays", "NoncurrentVersionExpiration",
                           "AbortIncompleteMultipartUpload"}  # fmt: skip
    if unknown:
        raise NotImplementedError(f"S3 lifecycle rule settings the emulator does not model: {sorted(unknown)}")
    return converted


def _role_policies_are_json_and_validated() -> None:
    """moto stored a role's inline policies as Python's repr of a dict, and checked none of them.

    IAM keeps policy JSON and refuses a malformed one (MalformedPolicyDocument), as a launch would.
    """
    import json

    from moto.iam.models import Role
    from moto.iam.policy_validation import IAMPolicyDocumentValidator

    def as_json(properties: dict[str, Any]) -> dict[str, Any]:
        policies = []
        for policy in properties.get("Policies", []):
            document = policy["PolicyDocument"]
            text = document if isinstance(document, str) else json.dumps(document)
            IAMPolicyDocumentValidator(text).validate()
            policies.append({**policy, "PolicyDocument": text})
        return {**properties, "Policies": policies}

    _wrap_cfn_create(Role, properties=as_json)


def _vpc_endpoint_policies_are_json() -> None:
    """moto stored an endpoint's PolicyDocument from a template as Python's repr of a dict.

    EC2 keeps the policy as JSON text (DescribeVpcEndpoints returns it so) and evaluates it on every
    request through the endpoint; the emulator stores it and evaluates nothing (README: what the
    rehearsal cannot show).
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-vpcendpoint.html
    """
    import json

    from moto.ec2.models.vpcs import VPCEndPoint

    def as_json(properties: dict[str, Any]) -> dict[str, Any]:
        document = properties.get("PolicyDocument")
        if document is None or isinstance(document, str):
            return properties
        return {**properties, "PolicyDocument": json.dumps(document)}

    _wrap_cfn_create(VPCEndPoint, properties=as_json)


def _eventbridge_delivers_to_sns_topics() -> None:
    """An EventBridge rule with an SNS target publishes the event's JSON to the topic, as EventBridge does.

    moto raised NotImplementedError for the target, failing the PutEvents of whatever sent the event.
    The topic policy that lets events.amazonaws.com publish is stored but not evaluated here.
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions
    """
    import json

    from moto.events.models import Rule
    from moto.sns.models import sns_backends
    from moto.utilities.arns import parse_arn

    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        sns = [t for t in self.targets if parse_arn(t["Arn"]).service == "sns"]
        others = [t for t in self.targets if t not in sns]
        if sns and self.event_pattern.matches_event(original_event):
            for target in sns:
                arn = parse_arn(target["Arn"])
                sns_backends[arn.account][arn.region].publish(
                    message=json.dumps(original_event, default=str), arn=target["Arn"]
                )
        if others:
            self.targets, kept = others, self.targets
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = kept

    Rule.send_to_targets = send_to_targets


def _scheduled_rules_match_no_events() -> None:
    """A rule with a ScheduleExpression and no EventPattern is not matched by events on its bus.

    moto's empty pattern matched every event, so a scheduled rule's Lambda target (which moto does
    not deliver to) failed the PutEvents of whatever sent an event to the default bus: a rotation's
    CloudTrail event, for one. PutRule: "Rules with EventPatterns are triggered when a matching
    event is observed. Rules with ScheduleExpressions self-trigger based on the given schedule."
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
    """
    from moto.events.models import Rule

    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if self.scheduled_expression and not self.event_pattern.dump():
            return
        original(self, original_event, transform_input)

    Rule.send_to_targets = send_to_targets


def _deletes_that_moto_skips() -> None:
    """Give each model a stack delete that really deletes.

    moto treats a model without ``delete`` as deleted and moves on, so a
    stack delete "succeeds" while VPC endpoints, NAT gateways, routes and ECS
    services live on, and the VPC itself then cannot go.
    """
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.elastic_ip_addresses import ElasticAddress
    from moto.ec2.models.flow_logs import FlowLogs
    from moto.ec2.models.internet_gateways import InternetGateway
    from moto.ec2.models.nat_gateways import NatGateway
    from moto.ec2.models.route_tables import Route, RouteTable
    from moto.ec2.models.vpcs import VPCEndPoint
    from moto.ec2.models.vpn_gateway import VPCGatewayAttachment
    from moto.ecs.models import Cluster, Service, TaskDefinition, ecs_backends
    from moto.elbv2.models import FakeListener, FakeListenerRule, FakeTargetGroup, elbv2_backends

    def ec2(account_id: str, region_name: str) -> Any:
        return ec2_backends[account_id][region_name]

    def delete_nat_gateway(self: Any, account_id: str, region_name: str) -> None:
        backend = ec2(account_id, region_name)
        backend.delete_nat_gateway(self.id)
        backend.nat_gateways.pop(self.id, None)
        # The gateway's interface would otherwise keep its subnet alive.
        backend.enis.pop(self._eni.id, None)

    def delete_vpc_endpoint(self: Any, account_id: str, region_name: str) -> None:
        backend = ec2(account_id, region_name)
        # A gateway endpoint removes its routes; tables already gone have none.
        self.route_table_ids = [t for t in self.route_table_ids or [] if t in backend.route_tables]
        backend.delete_vpc_endpoints([self.id])

    def delete_route(self: Any, account_id: str, region_name: str) -> None:
        backend = ec2(account_id, region_name)
        if self.route_table.id in backend.route_tables:  # else it went with its table
            backend.delete_route(self.route_table.id, self.destination_cidr_block)

    def delete_attachment(self: Any, account_id: str, region_name: str) -> None:
        backend = ec2(account_id, region_name)
        if self.gateway_id in backend.internet_gateways:
            backend.detach_internet_gateway(self.gateway_id, self.vpc_id)

    def delete_service(self: Any, account_id: str, region_name: str) -> None:
        from . import ecs_scheduler

        service = ecs_backends[account_id][region_name].delete_service(self.cluster_name, self.name, force=True)
        # CloudFormation waits until the service is INACTIVE: its tasks have stopped.
        ecs_scheduler.wait_until_drained(service.arn)

    deletes = {
        ElasticAddress: lambda self, a, r: ec2(a, r).release_address(allocation_id=self.allocation_id),
        FlowLogs: lambda self, a, r: ec2(a, r).delete_flow_logs([self.id]),
        InternetGateway: lambda self, a, r: ec2(a, r).delete_internet_gateway(self.id),
        NatGateway: delete_nat_gateway,
        Route: delete_route,
        RouteTable: lambda self, a, r: ec2(a, r).delete_route_table(self.id),
        VPCEndPoint: delete_vpc_endpoint,
        VPCGatewayAttachment: delete_attachment,
        Cluster: lambda self, a, r: ecs_backends[a][r].delete_cluster(self.name),
        Service: delete_service,
        TaskDefinition: lambda self, a, r: ecs_backends[a][r].deregister_task_definition(self.arn),
        FakeListener: lambda self, a, r: elbv2_backends[a][r].delete_listener(self.arn),
        FakeListenerRule: lambda self, a, r: elbv2_backends[a][r].delete_rule(self.arn),
        FakeTargetGroup: lambda self, a, r: elbv2_backends[a][r].delete_target_group(self.arn),
    }
    for model, delete in deletes.items():
        if "delete" not in vars(model):
            model.delete = delete  # type: ignore[attr-defined]


def install() -> None:
    """Apply every fix above. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    _ref_of_rds_groups_is_their_name()
    _adjacent_rds_windows_do_not_overlap()
    _db_instance_attributes()
    _nested_stack_outputs()
    _stack_resources_are_the_created_ones()
    _load_balancer_attributes()
    _listener_attributes()
    _target_group_attributes()
    _bucket_properties()
    _log_group_kms_key()
    _kms_key_policy_is_text()
    _conditional_bucket_policy_statements_are_not_enforced()
    _moving_awscurrent_moves_the_current_value()
    _service_linked_roles()
    _ec2_properties_moto_drops()
    _properties_other_models_drop()
    _role_policies_are_json_and_validated()
    _vpc_endpoint_policies_are_json()
    _eventbridge_delivers_to_sns_topics()
    _scheduled_rules_match_no_events()
    _deletes_that_moto_skips()
    _INSTALLED = True
