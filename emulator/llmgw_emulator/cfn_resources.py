"""CloudFormation resource types that moto 5.2 lacks, backed by moto's own service backends.

moto's CloudFormation engine skips a type it has no model for, and silently
drops every output that refers to it. Each class here adds one type with the
same surface moto's own models have (``cloudformation_type``,
``create_/update_/delete_from_cloudformation_json``, ``has_cfn_attr``,
``get_cfn_attribute``), so each could be offered upstream as it is.

The classes register themselves by subclassing ``CloudFormationModel``
directly: moto builds its type map from ``CloudFormationModel.__subclasses__()``
on first use, so this module must be imported before the first stack
operation. A later subclass for a type wins over an earlier one, which is how
``SecurityGroup`` below corrects moto's handling of inline egress rules.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

from moto.acm.models import acm_backends
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.ecs.models import ecs_backends
from moto.rds.models import rds_backends
from moto.route53.models import route53_backends
from moto.s3.models import s3_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.sns.models import sns_backends
from moto.wafv2.models import wafv2_backends

from . import cfn_engine, ecs_scheduler

__all__ = [
    "BucketPolicy",
    "Certificate",
    "DBInstance",
    "LoggingConfiguration",
    "MetricAlarm",
    "ScalableTarget",
    "ScalingPolicy",
    "Secret",
    "SecretResourcePolicy",
    "SecretTargetAttachment",
    "SecurityGroup",
    "SecurityGroupEgress",
    "SecurityGroupIngress",
    "Service",
    "SubnetRouteTableAssociation",
    "Subscription",
    "TaskDefinition",
    "TopicPolicy",
    "WebACL",
    "WebACLAssociation",
]


def _tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": t["Value"]} for t in properties.get("Tags", [])]


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


# ---- Secrets Manager -----------------------------------------------------------


class Secret(CloudFormationModel):
    """AWS::SecretsManager::Secret, including GenerateSecretString.

    Deleting it deletes the secret at once, without a recovery window, as
    CloudFormation does.
    """

    def __init__(self, account_id: str, region_name: str, arn: str, name: str, properties: dict[str, Any]):
        self.account_id = account_id
        self.region_name = region_name
        self.arn = arn
        self.name = name
        self.properties = properties

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-secretsmanager-secret.html
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Id":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _secret_string(backend: Any, properties: dict[str, Any]) -> str | None:
        generate = properties.get("GenerateSecretString")
        if not generate:
            return properties.get("SecretString")
        password = json.loads(
            backend.get_random_password(
                password_length=int(generate.get("PasswordLength", 32)),
                exclude_characters=generate.get("ExcludeCharacters", ""),
                exclude_numbers=_flag(generate.get("ExcludeNumbers", False)),
                exclude_punctuation=_flag(generate.get("ExcludePunctuation", False)),
                exclude_uppercase=_flag(generate.get("ExcludeUppercase", False)),
                exclude_lowercase=_flag(generate.get("ExcludeLowercase", False)),
                include_space=_flag(generate.get("IncludeSpace", False)),
                require_each_included_type=_flag(generate.get("RequireEachIncludedType", True)),
            )
        )["RandomPassword"]
        if "SecretStringTemplate" not in generate:
            return password
        document = json.loads(generate["SecretStringTemplate"])
        document[generate["GenerateStringKey"]] = password
        return json.dumps(document)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Secret:
        properties = cloudformation_json["Properties"]
        backend = secretsmanager_backends[account_id][region_name]
        name = properties.get("Name", resource_name)
        arn = json.loads(
            backend.create_secret(
                name=name,
                secret_string=cls._secret_string(backend, properties),
                secret_binary=None,
                description=properties.get("Description"),
                tags=_tags(properties),
                kms_key_id=properties.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=properties.get("ReplicaRegions", []),
                force_overwrite=False,
            )
        )["ARN"]
        return cls(account_id, region_name, arn, name, properties)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Secret,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Secret:
        properties = cloudformation_json["Properties"]
        old = original_resource.properties
        if properties.get("Name", original_resource.name) != original_resource.name:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        backend = secretsmanager_backends[account_id][region_name]
        # Like CloudFormation, write a new value only when the template's value
        # changed, so values set later by people or rotation survive updates.
        value_changed = any(properties.get(k) != old.get(k) for k in ("SecretString", "GenerateSecretString"))
        backend.update_secret(
            secret_id=original_resource.arn,
            # SDKs fill the idempotency token in; moto refuses an update without one.
            client_request_token=str(uuid.uuid4()) if value_changed else None,
            secret_string=cls._secret_string(backend, properties) if value_changed else None,
            kms_key_id=properties.get("KmsKeyId"),
            description=properties.get("Description"),
        )
        original_resource.properties = properties
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        secretsmanager_backends[account_id][region_name].delete_secret(
            secret_id=self.arn, recovery_window_in_days=None, force_delete_without_recovery=True
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        secretsmanager_backends[account_id][region_name].delete_secret(
            secret_id=resource_name, recovery_window_in_days=None, force_delete_without_recovery=True
        )


class SecretTargetAttachment(CloudFormationModel):
    """AWS::SecretsManager::SecretTargetAttachment for RDS DB instances.

    Adds ``engine``, ``host``, ``port`` and ``dbInstanceIdentifier`` to the
    secret's JSON as a new AWSCURRENT version, keeping every other key.
    """

    def __init__(self, secret_arn: str, target_id: str):
        self.secret_arn = secret_arn
        self.target_id = target_id

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-secretsmanager-secrettargetattachment.html
        return "AWS::SecretsManager::SecretTargetAttachment"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.secret_arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SecretTargetAttachment:
        properties = cloudformation_json["Properties"]
        if properties["TargetType"] != "AWS::RDS::DBInstance":
            raise NotImplementedError(f"SecretTargetAttachment TargetType {properties['TargetType']}")
        (instance,) = rds_backends[account_id][region_name].describe_db_instances(properties["TargetId"])
        backend = secretsmanager_backends[account_id][region_name]
        secret = backend.get_secret_value(properties["SecretId"], None, "AWSCURRENT")
        document = json.loads(secret["SecretString"])
        document.update(
            engine=instance.engine,
            host=instance.address,
            port=int(instance.port),
            dbInstanceIdentifier=instance.db_instance_identifier,
        )
        backend.put_secret_value(
            secret_id=properties["SecretId"],
            secret_string=json.dumps(document),
            secret_binary=None,
            client_request_token=None,
            version_stages=["AWSCURRENT"],
        )
        return cls(secret["ARN"], properties["TargetId"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: SecretTargetAttachment,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SecretTargetAttachment:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Detaching leaves the secret's value as it is, as on AWS."""


def _grants_everyone(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    everyone = principal == "*" or (
        isinstance(principal, dict) and "*" in (principal.get("AWS"), [principal.get("AWS")])
    )
    return statement.get("Effect") == "Allow" and everyone and not statement.get("Condition")


class SecretResourcePolicy(CloudFormationModel):
    """AWS::SecretsManager::ResourcePolicy: the secret's policy, as GetResourcePolicy returns it.

    Stored, not evaluated: GetSecretValue here answers whoever asks (README, what the rehearsal
    cannot show). ``BlockPublicPolicy`` refuses a policy that allows everyone, as Secrets Manager's
    PutResourcePolicy does, for the one shape it can tell without IAM's analysis: an unconditional
    Allow to ``*``.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-resourcepolicy.html
    """

    def __init__(self, secret_arn: str):
        self.secret_arn = secret_arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::ResourcePolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.secret_arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.secret_arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SecretResourcePolicy:
        properties = cloudformation_json["Properties"]
        policy = properties["ResourcePolicy"]
        document = json.loads(policy) if isinstance(policy, str) else policy
        if _flag(properties.get("BlockPublicPolicy", False)):
            for statement in document.get("Statement", []):
                if _grants_everyone(statement):
                    raise ValueError(
                        f"{resource_name}: PutResourcePolicy refused (BlockPublicPolicy): statement "
                        f"{statement.get('Sid', '')!r} allows everyone"
                    )
        backend = secretsmanager_backends[account_id][region_name]
        arn, _ = backend.put_resource_policy(properties["SecretId"], json.dumps(document))
        return cls(arn)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: SecretResourcePolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SecretResourcePolicy:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Deleting the resource removes the secret's policy, and only that."""
        from moto.secretsmanager.exceptions import SecretNotFoundException

        with contextlib.suppress(SecretNotFoundException):  # the secret went first: nothing holds the policy
            secretsmanager_backends[account_id][region_name].delete_resource_policy(self.secret_arn)


# ---- RDS -------------------------------------------------------------------------


class DBInstance(CloudFormationModel):
    """AWS::RDS::DBInstance with the properties moto's own model drops or misreads.

    moto's model reads ``VpcSecurityGroupIds`` (the API's name) instead of
    ``VPCSecurityGroups``, ignores ``DeletionProtection``, storage autoscaling
    and log exports, and takes the string "false" for true. With
    ``ManageMasterUserPassword`` moto's RDS keeps the master password in a
    secret of its own, as RDS does. Returns moto's own instance object, whose
    ``delete`` respects deletion protection.
    """

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-rds-dbinstance.html
        return "AWS::RDS::DBInstance"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "DBInstanceIdentifier"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Endpoint.Address", "Endpoint.Port", "DBInstanceArn", "MasterUserSecret.SecretArn")

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        p = cloudformation_json["Properties"]

        def number(key: str) -> int | None:
            return int(p[key]) if key in p else None

        instance = rds_backends[account_id][region_name].create_db_instance(
            {
                "db_instance_identifier": resource_name.lower(),
                "db_instance_class": p["DBInstanceClass"],
                "engine": p["Engine"],
                "engine_version": p.get("EngineVersion"),
                "db_name": p.get("DBName"),
                "port": number("Port"),
                "master_username": p.get("MasterUsername"),
                "master_user_password": p.get("MasterUserPassword"),
                "manage_master_user_password": _flag(p.get("ManageMasterUserPassword", False)),
                "master_user_secret_kms_key_id": p.get("MasterUserSecret", {}).get("KmsKeyId"),
                "allocated_storage": number("AllocatedStorage"),
                "max_allocated_storage": number("MaxAllocatedStorage"),
                "storage_type": p.get("StorageType"),
                "storage_encrypted": _flag(p.get("StorageEncrypted", False)),
                "kms_key_id": p.get("KmsKeyId"),
                "db_subnet_group_name": p.get("DBSubnetGroupName"),
                "vpc_security_group_ids": list(p.get("VPCSecurityGroups", [])),
                "db_parameter_group_name": p.get("DBParameterGroupName"),
                "publicly_accessible": _flag(p.get("PubliclyAccessible", False)),
                "multi_az": _flag(p.get("MultiAZ", False)),
                "deletion_protection": _flag(p.get("DeletionProtection", False)),
                "backup_retention_period": number("BackupRetentionPeriod") or 1,
                "preferred_backup_window": p.get("PreferredBackupWindow", "13:14-13:44"),
                "preferred_maintenance_window": p.get("PreferredMaintenanceWindow", "wed:06:38-wed:07:08").lower(),
                "copy_tags_to_snapshot": _flag(p.get("CopyTagsToSnapshot", False)),
                "auto_minor_version_upgrade": _flag(p.get("AutoMinorVersionUpgrade", True)),
                # RDS's default for new instances since 2024 (moto's is a made-up "rds-ca-default").
                # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL-certificate-rotation.html
                "ca_certificate_identifier": p.get("CACertificateIdentifier", "rds-ca-rsa2048-g1"),
                "enable_cloudwatch_logs_exports": p.get("EnableCloudwatchLogsExports"),
                "tags": p.get("Tags", []),
            }
        )
        # moto's model has no Performance Insights; its API serialiser reads these names.
        instance.performance_insights_enabled = _flag(p.get("EnablePerformanceInsights", False))
        if instance.performance_insights_enabled:
            instance.performance_insights_kms_key_id = p.get("PerformanceInsightsKMSKeyId")
            instance.performance_insights_retention_period = int(p.get("PerformanceInsightsRetentionPeriod", 7))
        return instance


# ---- CloudWatch and Application Auto Scaling ------------------------------------


class MetricAlarm(CloudFormationModel):
    """AWS::CloudWatch::Alarm for single-metric alarms."""

    def __init__(self, name: str, arn: str):
        self.name = name
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> MetricAlarm:
        p = cloudformation_json["Properties"]
        if "Metrics" in p:
            raise NotImplementedError("CloudWatch::Alarm with Metrics (metric math)")
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=p.get("AlarmName", resource_name),
            namespace=p["Namespace"],
            metric_name=p["MetricName"],
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p["Period"]),
            threshold=float(p["Threshold"]),
            statistic=p.get("Statistic"),
            extended_statistic=p.get("ExtendedStatistic"),
            description=p.get("AlarmDescription"),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])],
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []),
            datapoints_to_alarm=p.get("DatapointsToAlarm"),
            unit=p.get("Unit"),
            actions_enabled=_flag(p.get("ActionsEnabled", True)),
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(alarm.name, alarm.alarm_arn)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: MetricAlarm,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> MetricAlarm:
        new_name = cloudformation_json["Properties"].get("AlarmName", original_resource.name)
        if new_name != original_resource.name:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


class ScalableTarget(CloudFormationModel):
    """AWS::ApplicationAutoScaling::ScalableTarget. Its Ref is ``resource|dimension|namespace``."""

    def __init__(self, namespace: str, resource_id: str, dimension: str):
        self.namespace = namespace
        self.resource_id = resource_id
        self.dimension = dimension

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-applicationautoscaling-scalabletarget.html
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return f"{self.resource_id}|{self.dimension}|{self.namespace}"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ScalableTarget:
        p = cloudformation_json["Properties"]
        minimum, maximum = int(p["MinCapacity"]), int(p["MaxCapacity"])
        if minimum > maximum:
            raise ValueError(f"MinCapacity {minimum} is greater than MaxCapacity {maximum}")
        target = applicationautoscaling_backends[account_id][region_name].register_scalable_target(
            namespace=p["ServiceNamespace"],
            r_id=p["ResourceId"],
            dimension=p["ScalableDimension"],
            min_capacity=minimum,
            max_capacity=maximum,
            role_arn=p.get("RoleARN", ""),
            suspended_state=p.get("SuspendedState", {}),
        )
        return cls(target.service_namespace, target.resource_id, target.scalable_dimension)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: ScalableTarget,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ScalableTarget:
        # register_scalable_target updates an existing target in place.
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        applicationautoscaling_backends[account_id][region_name].deregister_scalable_target(
            self.namespace, self.resource_id, self.dimension
        )


class ScalingPolicy(CloudFormationModel):
    """AWS::ApplicationAutoScaling::ScalingPolicy (target tracking and step scaling)."""

    def __init__(self, arn: str, name: str, namespace: str, resource_id: str, dimension: str):
        self.arn = arn
        self.name = name
        self.namespace = namespace
        self.resource_id = resource_id
        self.dimension = dimension

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-applicationautoscaling-scalingpolicy.html
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "PolicyName"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ScalingPolicy:
        p = cloudformation_json["Properties"]
        if "ScalingTargetId" in p:
            resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
        else:
            resource_id, dimension, namespace = p["ResourceId"], p["ScalableDimension"], p["ServiceNamespace"]
        body_key = {
            "TargetTrackingScaling": "TargetTrackingScalingPolicyConfiguration",
            "StepScaling": "StepScalingPolicyConfiguration",
        }[p["PolicyType"]]
        name = p.get("PolicyName", resource_name)
        policy = applicationautoscaling_backends[account_id][region_name].put_scaling_policy(
            policy_name=name,
            service_namespace=namespace,
            resource_id=resource_id,
            scalable_dimension=dimension,
            policy_body=p[body_key],
            policy_type=p["PolicyType"],
        )
        return cls(policy.policy_arn, name, namespace, resource_id, dimension)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: ScalingPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ScalingPolicy:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        applicationautoscaling_backends[account_id][region_name].delete_scaling_policy(
            self.name, self.namespace, self.resource_id, self.dimension
        )


# ---- EC2 security groups ---------------------------------------------------------


def _ip_permission(rule: dict[str, Any], peer_key: str) -> dict[str, Any]:
    """Turn a CloudFormation rule into the arguments of moto's authorize/revoke calls."""
    ip_ranges = [{"CidrIp": rule["CidrIp"], "Description": rule.get("Description", "")}] if "CidrIp" in rule else []
    groups = [{"GroupId": rule[peer_key], "Description": rule.get("Description", "")}] if peer_key in rule else []
    return {
        "ip_protocol": str(rule["IpProtocol"]),
        "from_port": rule.get("FromPort", -1),
        "to_port": rule.get("ToPort", -1),
        "ip_ranges": ip_ranges,
        "source_groups": groups,
    }


class SecurityGroup(CloudFormationModel):
    """AWS::EC2::SecurityGroup with inline ingress and egress applied as AWS does.

    moto's own model ignores ``SecurityGroupEgress`` and keeps the default
    allow-all egress rule. On AWS, an inline egress list replaces that
    default, which is how a template closes a group's outbound traffic. The
    object returned is moto's own security group, so Ref, GetAtt and the EC2
    API behave as before.
    """

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroup.html
        return "AWS::EC2::SecurityGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "GroupName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("GroupId", "VpcId")

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        p = cloudformation_json["Properties"]
        ec2 = ec2_backends[account_id][region_name]
        group = ec2.create_security_group(
            name=p.get("GroupName", resource_name),
            description=p["GroupDescription"],
            vpc_id=p.get("VpcId"),
            tags={t["Key"]: t["Value"] for t in p.get("Tags", [])},
        )
        for rule in p.get("SecurityGroupIngress", []):
            ec2.authorize_security_group_ingress(
                group_name_or_id=group.id, vpc_id=group.vpc_id, **_ip_permission(rule, "SourceSecurityGroupId")
            )
        if "SecurityGroupEgress" in p:
            for default in list(group.egress_rules):
                ec2.revoke_security_group_egress(
                    group_name_or_id=group.id,
                    ip_protocol=default.ip_protocol,
                    from_port=default.from_port,
                    to_port=default.to_port,
                    ip_ranges=[default.ip_range] if default.ip_range else [],
                    source_groups=[default.source_group] if default.source_group else [],
                    vpc_id=group.vpc_id,
                )
            for rule in p["SecurityGroupEgress"]:
                ec2.authorize_security_group_egress(
                    group_name_or_id=group.id, vpc_id=group.vpc_id, **_ip_permission(rule, "DestinationSecurityGroupId")
                )
        return group

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        ec2_backends[account_id][region_name].delete_security_group(group_id=original_resource.id)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        ec2_backends[account_id][region_name].delete_security_group(group_id=resource_name)


class _SecurityGroupRule:
    """A standalone security group rule; moto's ingress model dropped a peer group's Description.

    A mixin, not a CloudFormationModel: moto registers only direct subclasses of that as types.
    """

    direction = ""  # "ingress" or "egress"
    peer_key = ""

    def __init__(self, group_id: str, vpc_id: str | None, permission: dict[str, Any]):
        self.group_id = group_id
        self.vpc_id = vpc_id
        self.permission = permission

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        p = self.permission
        return f"{self.group_id}|{self.direction}|{p['ip_protocol']}|{p['from_port']}|{p['to_port']}"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def _call(cls, ec2: Any, action: str) -> Any:
        return getattr(ec2, f"{action}_security_group_{cls.direction}")

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _SecurityGroupRule:
        p = cloudformation_json["Properties"]
        ec2 = ec2_backends[account_id][region_name]
        (group,) = ec2.describe_security_groups(group_ids=[p["GroupId"]])
        permission = _ip_permission(p, cls.peer_key)
        cls._call(ec2, "authorize")(group_name_or_id=group.id, vpc_id=group.vpc_id, **permission)
        return cls(group.id, group.vpc_id, permission)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: _SecurityGroupRule,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> _SecurityGroupRule:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        ec2 = ec2_backends[account_id][region_name]
        if ec2.get_security_group_by_name_or_id(self.group_id, self.vpc_id) is not None:  # else gone with its group
            self._call(ec2, "revoke")(group_name_or_id=self.group_id, vpc_id=self.vpc_id, **self.permission)


class SecurityGroupIngress(_SecurityGroupRule, CloudFormationModel):
    """AWS::EC2::SecurityGroupIngress."""

    direction, peer_key = "ingress", "SourceSecurityGroupId"

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroupingress.html
        return "AWS::EC2::SecurityGroupIngress"


class SecurityGroupEgress(_SecurityGroupRule, CloudFormationModel):
    """AWS::EC2::SecurityGroupEgress."""

    direction, peer_key = "egress", "DestinationSecurityGroupId"

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroupegress.html
        return "AWS::EC2::SecurityGroupEgress"


class SubnetRouteTableAssociation(CloudFormationModel):
    """AWS::EC2::SubnetRouteTableAssociation through AssociateRouteTable, so DescribeRouteTables shows it.

    moto's own model kept the association where no API reads it.
    """

    def __init__(self, association_id: str, route_table_id: str, subnet_id: str):
        self.association_id = association_id
        self.route_table_id = route_table_id
        self.subnet_id = subnet_id

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-subnetroutetableassociation.html
        return "AWS::EC2::SubnetRouteTableAssociation"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.association_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Id":
            return self.association_id
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SubnetRouteTableAssociation:
        p = cloudformation_json["Properties"]
        ec2 = ec2_backends[account_id][region_name]
        association = ec2.associate_route_table(p["RouteTableId"], subnet_id=p["SubnetId"])
        return cls(association, p["RouteTableId"], p["SubnetId"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: SubnetRouteTableAssociation,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SubnetRouteTableAssociation:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        ec2 = ec2_backends[account_id][region_name]
        if self.route_table_id in ec2.route_tables:  # else it went with its table
            ec2.disassociate_route_table(self.association_id)


# ---- ECS ---------------------------------------------------------------------------


class TaskDefinition(CloudFormationModel):
    """AWS::ECS::TaskDefinition with its task-level settings.

    moto's own model keeps only the family, containers, volumes and memory,
    dropping the CPU size, network mode, Fargate compatibility and both IAM
    roles. Every change registers a new revision, as on AWS, and the replaced
    one is deregistered once the stack update completes; a rollback goes back
    to the revision it replaced rather than registering a copy. Returns moto's
    own task definition object.
    """

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-taskdefinition.html
        return "AWS::ECS::TaskDefinition"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "TaskDefinitionArn"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        from moto.core.utils import pascal_to_camelcase, remap_nested_keys

        p = cloudformation_json["Properties"]
        platform = p.get("RuntimePlatform")
        revision = ecs_backends[account_id][region_name].register_task_definition(
            family=p.get("Family", resource_name),
            container_definitions=remap_nested_keys(p.get("ContainerDefinitions", []), pascal_to_camelcase),
            volumes=remap_nested_keys(p.get("Volumes", []), pascal_to_camelcase),
            network_mode=p.get("NetworkMode"),
            tags=[{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags", [])],
            requires_compatibilities=p.get("RequiresCompatibilities"),
            cpu=str(p["Cpu"]) if "Cpu" in p else None,
            memory=str(p["Memory"]) if "Memory" in p else None,
            task_role_arn=p.get("TaskRoleArn"),
            execution_role_arn=p.get("ExecutionRoleArn"),
            runtime_platform=remap_nested_keys(platform, pascal_to_camelcase) if platform else None,
        )
        revision.llmgw_properties = json.dumps(p, sort_keys=True, default=str)
        return revision

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        backend = ecs_backends[account_id][region_name]
        wanted = json.dumps(cloudformation_json["Properties"], sort_keys=True, default=str)
        family = backend.task_definitions.get(original_resource.family, {})
        earlier = [
            r
            for r in family.values()
            if r is not original_resource and getattr(r, "llmgw_properties", None) == wanted and r.status == "ACTIVE"
        ]
        revision = (
            earlier[-1]
            if earlier
            else cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        )
        arn = original_resource.arn
        cfn_engine.defer_until_the_update_completes(lambda: backend.deregister_task_definition(arn))
        return revision


class Service(CloudFormationModel):
    """AWS::ECS::Service with its network configuration and load balancers.

    moto's own model drops ``NetworkConfiguration`` and ``LoadBalancers``, so
    a service could not be checked against its subnets, security groups and
    target group. moto's service model has no capacity-provider strategy;
    a strategy on FARGATE or FARGATE_SPOT becomes launch type FARGATE, which
    is what such tasks report on AWS. Returns moto's own service object.
    """

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-service.html
        return "AWS::ECS::Service"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ServiceName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Name", "ServiceArn")

    @staticmethod
    def _arguments(p: dict[str, Any]) -> dict[str, Any]:
        providers = {s["CapacityProvider"] for s in p.get("CapacityProviderStrategy", [])}
        fargate = providers and providers <= {"FARGATE", "FARGATE_SPOT"}
        awsvpc = p.get("NetworkConfiguration", {}).get("AwsvpcConfiguration")
        return {
            # Left out, it is 1 for a new service and unchanged on an update (the autoscaler's).
            # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-service.html
            "desired_count": int(p["DesiredCount"]) if "DesiredCount" in p else None,
            "task_definition_str": p.get("TaskDefinition"),
            "load_balancers": [
                {
                    "targetGroupArn": lb.get("TargetGroupArn"),
                    "containerName": lb.get("ContainerName"),
                    "containerPort": int(lb["ContainerPort"]),
                }
                for lb in p.get("LoadBalancers", [])
            ],
            "launch_type": p.get("LaunchType") or ("FARGATE" if fargate else None),  # moto needs one; reset below
            "platform_version": p.get("PlatformVersion"),
            "propagate_tags": p.get("PropagateTags", "NONE"),
            "tags": [{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags", [])],
            "network_configuration": {
                "awsvpcConfiguration": {
                    "subnets": list(awsvpc.get("Subnets", [])),
                    "securityGroups": list(awsvpc.get("SecurityGroups", [])),
                    "assignPublicIp": awsvpc.get("AssignPublicIp", "DISABLED"),
                }
            }
            if awsvpc
            else None,
            "role_arn": p.get("Role"),
        }

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        p = cloudformation_json["Properties"]
        cluster = p.get("Cluster", "default").split("/")[-1]
        arguments = cls._arguments(p)
        arguments["desired_count"] = 1 if arguments["desired_count"] is None else arguments["desired_count"]
        service = ecs_backends[account_id][region_name].create_service(
            cluster, p.get("ServiceName", resource_name), **arguments
        )
        cls._settings(service, p)
        # CloudFormation's handler returns once the service is stable, and fails when its
        # deployment's circuit breaker trips.
        ecs_scheduler.wait_for_deployment(service.arn)
        return service

    @staticmethod
    def _settings(service: Any, p: dict[str, Any]) -> Any:
        """What moto's service model lacks; its API serialiser reads these attribute names."""
        from moto.core.utils import pascal_to_camelcase, remap_nested_keys

        strategy = p.get("CapacityProviderStrategy")
        if strategy:
            service.capacity_provider_strategy = [
                {
                    "capacityProvider": s["CapacityProvider"],
                    "weight": int(s.get("Weight", 0)),
                    "base": int(s.get("Base", 0)),
                }
                for s in strategy
            ]
            service.launch_type = None  # a service with a strategy has no launch type on AWS
            for deployment in service.deployments:
                deployment.pop("launchType", None)
                deployment["capacityProviderStrategy"] = service.capacity_provider_strategy
        configuration = p.get("DeploymentConfiguration")
        if configuration:
            camel = remap_nested_keys(configuration, pascal_to_camelcase)
            for key in ("maximumPercent", "minimumHealthyPercent"):
                if key in camel:
                    camel[key] = int(camel[key])
            breaker = camel.get("deploymentCircuitBreaker")
            if breaker:
                camel["deploymentCircuitBreaker"] = {k: str(v).lower() == "true" for k, v in breaker.items()}
            service.deployment_configuration = camel
        if "HealthCheckGracePeriodSeconds" in p:
            service.health_check_grace_period_seconds = int(p["HealthCheckGracePeriodSeconds"])
        service.enable_ecs_managed_tags = str(p.get("EnableECSManagedTags", False)).lower() == "true"
        return service

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        p = cloudformation_json["Properties"]
        arguments = cls._arguments(p)
        service = ecs_backends[account_id][region_name].update_service(
            {
                "cluster": original_resource.cluster_name,
                "service": original_resource.name,
                "task_definition": arguments.pop("task_definition_str"),
                "desired_count": arguments.pop("desired_count"),
                "load_balancers": arguments["load_balancers"],
                "network_configuration": arguments["network_configuration"],
            }
        )
        cls._settings(service, p)
        ecs_scheduler.wait_for_deployment(service.arn)
        return service

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cluster = cloudformation_json["Properties"].get("Cluster", "default").split("/")[-1]
        backend = ecs_backends[account_id][region_name]
        service = backend.delete_service(cluster, resource_name.split("/")[-1], force=True)
        # CloudFormation waits for the service to drain: its tasks stop before the delete completes.
        ecs_scheduler.wait_until_drained(service.arn)


# ---- SNS -----------------------------------------------------------------------------


class TopicPolicy(CloudFormationModel):
    """AWS::SNS::TopicPolicy: the policy of each topic it names, readable as the topic's Policy attribute."""

    def __init__(self, topics: list[str]):
        self.topics = topics

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-topicpolicy.html
        return "AWS::SNS::TopicPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.topics)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> TopicPolicy:
        p = cloudformation_json["Properties"]
        backend = sns_backends[account_id][region_name]
        for topic in p["Topics"]:
            # moto's model keeps the API's Policy attribute as `policy`.
            backend.set_topic_attribute(topic, "policy", json.dumps(p["PolicyDocument"]))
        return cls(list(p["Topics"]))

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: TopicPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> TopicPolicy:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Deleting the policy leaves each topic with SNS's default policy, as on AWS."""
        backend = sns_backends[account_id][region_name]
        for arn in self.topics:
            topic = backend.topics.get(arn)
            if topic is not None:
                topic._policy_json = topic._create_default_topic_policy(region_name, account_id, topic.name)


class Subscription(CloudFormationModel):
    """AWS::SNS::Subscription. E-mail endpoints stay pending confirmation, as on AWS."""

    def __init__(self, arn: str):
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-subscription.html
        return "AWS::SNS::Subscription"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Subscription:
        p = cloudformation_json["Properties"]
        subscription = sns_backends[account_id][region_name].subscribe(p["TopicArn"], p["Endpoint"], p["Protocol"])
        return cls(subscription.arn)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Subscription,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Subscription:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        sns_backends[account_id][region_name].unsubscribe(self.arn)


# ---- S3 --------------------------------------------------------------------------


class BucketPolicy(CloudFormationModel):
    """AWS::S3::BucketPolicy. Its Ref is the bucket name, as on AWS."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-s3-bucketpolicy.html
        return "AWS::S3::BucketPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.bucket

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> BucketPolicy:
        p = cloudformation_json["Properties"]
        s3_backends[account_id]["global"].put_bucket_policy(p["Bucket"], json.dumps(p["PolicyDocument"]).encode())
        return cls(p["Bucket"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: BucketPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> BucketPolicy:
        if cloudformation_json["Properties"]["Bucket"] != original_resource.bucket:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = s3_backends[account_id]["global"]
        if self.bucket in backend.buckets:
            backend.delete_bucket_policy(self.bucket)


# ---- WAFv2 and ACM ---------------------------------------------------------------------


def _as_api_blobs(node: Any) -> Any:
    """Rules as the API carries them: a ByteMatchStatement's SearchString base64 (the template has the text).

    moto keeps what it is given and returns it as is, and SDKs decode the blob from base64.
    """
    import base64

    if isinstance(node, list):
        return [_as_api_blobs(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _as_api_blobs(value) for key, value in node.items()}
    if "ByteMatchStatement" in converted and isinstance(converted["ByteMatchStatement"].get("SearchString"), str):
        match = dict(converted["ByteMatchStatement"])
        match["SearchString"] = base64.b64encode(match["SearchString"].encode()).decode()
        converted["ByteMatchStatement"] = match
    # CloudFormation spells an IP set reference's ARN "Arn"; the API "ARN", and SDKs drop the other.
    # https://docs.aws.amazon.com/waf/latest/APIReference/API_IPSetReferenceStatement.html
    reference = converted.get("IPSetReferenceStatement")
    if isinstance(reference, dict) and "Arn" in reference:
        converted["IPSetReferenceStatement"] = {("ARN" if k == "Arn" else k): v for k, v in reference.items()}
    return converted


class WebACL(CloudFormationModel):
    """AWS::WAFv2::WebACL. Its Ref is ``name|id|scope``, as on AWS."""

    def __init__(self, acl: Any, scope: str):
        self.acl = acl
        self.scope = scope  # moto's web ACL does not keep its scope

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-wafv2-webacl.html
        return "AWS::WAFv2::WebACL"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.acl.name}|{self.acl.id}|{self.scope}"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Id", "LabelNamespace", "Capacity")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        values = {
            "Arn": self.acl.arn,
            "Id": self.acl.id,
            "LabelNamespace": self.acl.label_namespace,
            "Capacity": self.acl.capacity,
        }
        if attribute_name in values:
            return values[attribute_name]
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> WebACL:
        p = cloudformation_json["Properties"]
        _referenced_ip_sets_exist(p.get("Rules", []), account_id, region_name)
        acl = wafv2_backends[account_id][region_name].create_web_acl(
            name=p.get("Name", resource_name),
            visibility_config=p["VisibilityConfig"],
            default_action=p["DefaultAction"],
            scope=p["Scope"],
            description=p.get("Description", ""),
            tags=_tags(p),
            rules=_as_api_blobs(p.get("Rules", [])),
            association_config=p.get("AssociationConfig"),
            captcha_config=p.get("CaptchaConfig"),
            challenge_config=p.get("ChallengeConfig"),
            custom_response_bodies=p.get("CustomResponseBodies"),
            token_domains=p.get("TokenDomains"),
        )
        return cls(acl, p["Scope"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: WebACL,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> WebACL:
        p = cloudformation_json["Properties"]
        _referenced_ip_sets_exist(p.get("Rules", []), account_id, region_name)
        acl = original_resource.acl
        wafv2_backends[account_id][region_name].update_web_acl(
            name=acl.name,
            _id=acl.id,
            scope=original_resource.scope,
            default_action=p["DefaultAction"],
            rules=_as_api_blobs(p.get("Rules", [])),
            description=p.get("Description", ""),
            visibility_config=p["VisibilityConfig"],
            lock_token=acl.lock_token,
            custom_response_bodies=p.get("CustomResponseBodies"),
            captcha_config=p.get("CaptchaConfig"),
            challenge_config=p.get("ChallengeConfig"),
            token_domains=p.get("TokenDomains"),
            association_config=p.get("AssociationConfig"),
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        acl = self.acl
        wafv2_backends[account_id][region_name].delete_web_acl(acl.name, self.scope, acl.id, acl.lock_token)


class IPSet(CloudFormationModel):
    """AWS::WAFv2::IPSet, as WAF's own IP set. Its Ref is ``name|id|scope``, as on AWS."""

    def __init__(self, ip_set: Any, scope: str):
        self.ip_set = ip_set
        self.scope = scope

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-wafv2-ipset.html
        return "AWS::WAFv2::IPSet"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.ip_set.name}|{self.ip_set.ip_set_id}|{self.scope}"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Id")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.ip_set.arn
        if attribute_name == "Id":
            return self.ip_set.ip_set_id
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> IPSet:
        p = cloudformation_json["Properties"]
        ip_set = wafv2_backends[account_id][region_name].create_ip_set(
            name=p.get("Name", resource_name),
            scope=p["Scope"],
            description=p.get("Description", ""),
            ip_address_version=p["IPAddressVersion"],
            addresses=list(p["Addresses"]),
            tags=_tags(p),
        )
        return cls(ip_set, p["Scope"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: IPSet,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> IPSet:
        p = cloudformation_json["Properties"]
        original_resource.ip_set.update(p.get("Description"), list(p["Addresses"]))
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        ip_set = self.ip_set
        backend = wafv2_backends[account_id][region_name]
        backend.delete_ip_set(ip_set.name, self.scope, ip_set.ip_set_id, ip_set.lock_token)


def _referenced_ip_sets_exist(rules: Any, account_id: str, region_name: str) -> None:
    """CreateWebACL refuses a rule whose IPSetReferenceStatement names no IP set (WAFNonexistentItemException)."""
    if isinstance(rules, list):
        for item in rules:
            _referenced_ip_sets_exist(item, account_id, region_name)
    elif isinstance(rules, dict):
        reference = rules.get("IPSetReferenceStatement")
        if isinstance(reference, dict) and reference.get("Arn") not in wafv2_backends[account_id][region_name].ip_sets:
            raise ValueError(f"WAFNonexistentItemException: no IP set {reference.get('Arn')}")
        for value in rules.values():
            _referenced_ip_sets_exist(value, account_id, region_name)


class WebACLAssociation(CloudFormationModel):
    """AWS::WAFv2::WebACLAssociation between a web ACL and a regional resource such as an ALB."""

    def __init__(self, web_acl_arn: str, resource_arn: str):
        self.web_acl_arn = web_acl_arn
        self.resource_arn = resource_arn

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-wafv2-webaclassociation.html
        return "AWS::WAFv2::WebACLAssociation"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return f"{self.resource_arn}|{self.web_acl_arn}"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> WebACLAssociation:
        p = cloudformation_json["Properties"]
        wafv2_backends[account_id][region_name].associate_web_acl(p["WebACLArn"], p["ResourceArn"])
        return cls(p["WebACLArn"], p["ResourceArn"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: WebACLAssociation,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> WebACLAssociation:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        wafv2_backends[account_id][region_name].disassociate_web_acl(self.resource_arn)


class LoggingConfiguration(CloudFormationModel):
    """AWS::WAFv2::LoggingConfiguration: where a web ACL's logs go, and which fields are redacted."""

    def __init__(self, resource_arn: str):
        self.resource_arn = resource_arn

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-wafv2-loggingconfiguration.html
        return "AWS::WAFv2::LoggingConfiguration"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.resource_arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LoggingConfiguration:
        p = cloudformation_json["Properties"]
        destinations = p["LogDestinationConfigs"]
        for destination in destinations:
            # AWS refuses any destination whose name lacks this prefix.
            if not destination.split(":")[-1].split("/")[-1].startswith("aws-waf-logs-"):
                raise ValueError(f"WAF log destination {destination} must be named aws-waf-logs-*")
        wafv2_backends[account_id][region_name].put_logging_configuration(
            p["ResourceArn"], destinations, p.get("RedactedFields"), False, p.get("LoggingFilter") or {}
        )
        return cls(p["ResourceArn"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: LoggingConfiguration,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LoggingConfiguration:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        wafv2_backends[account_id][region_name].delete_logging_configuration(self.resource_arn)


class Certificate(CloudFormationModel):
    """AWS::CertificateManager::Certificate with DNS validation.

    With a ``HostedZoneId`` in ``DomainValidationOptions``, CloudFormation
    writes the validation CNAME into that zone and waits for issue. This does
    the same against moto's Route 53, and fails if the zone does not exist,
    which is where a real launch would stall.
    """

    def __init__(self, arn: str):
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-certificatemanager-certificate.html
        return "AWS::CertificateManager::Certificate"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Certificate:
        p = cloudformation_json["Properties"]
        acm = acm_backends[account_id][region_name]
        arn = acm.request_certificate(
            domain_name=p["DomainName"],
            idempotency_token=None,
            subject_alt_names=p.get("SubjectAlternativeNames", []),
            tags=_tags(p),
        )
        bundle = acm.get_certificate(arn)
        zones = {
            o["DomainName"]: o["HostedZoneId"] for o in p.get("DomainValidationOptions", []) if "HostedZoneId" in o
        }
        if p.get("ValidationMethod") == "DNS" and zones:
            route53 = route53_backends[account_id]["aws"]  # Route 53 is global: one backend per partition
            described = bundle.describe()["Certificate"]["DomainValidationOptions"]
            for option in described:
                zone_id = zones.get(option["DomainName"])
                if zone_id is None:
                    continue
                record = option["ResourceRecord"]
                route53.change_resource_record_sets(
                    zone_id,
                    [
                        {
                            "Action": "UPSERT",
                            "ResourceRecordSet": {
                                "Name": record["Name"],
                                "Type": record["Type"],
                                "TTL": 300,
                                "ResourceRecords": [{"Value": record["Value"]}],
                            },
                        }
                    ],
                )
            bundle.status = "ISSUED"
        return cls(arn)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Certificate,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Certificate:
        # Every certificate property forces replacement on AWS.
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        original_resource.delete(account_id, region_name)
        return replacement

    def delete(self, account_id: str, region_name: str) -> None:
        acm_backends[account_id][region_name].delete_certificate(self.arn)
