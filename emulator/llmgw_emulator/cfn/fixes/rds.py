"""AWS::RDS::DBInstance, replacing moto's model: a real PostgreSQL behind it (rds_postgres.py)."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.rds.models import rds_backends

from ..base import flag


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
                "manage_master_user_password": flag(p.get("ManageMasterUserPassword", False)),
                "master_user_secret_kms_key_id": p.get("MasterUserSecret", {}).get("KmsKeyId"),
                "allocated_storage": number("AllocatedStorage"),
                "max_allocated_storage": number("MaxAllocatedStorage"),
                "storage_type": p.get("StorageType"),
                "storage_encrypted": flag(p.get("StorageEncrypted", False)),
                "kms_key_id": p.get("KmsKeyId"),
                "db_subnet_group_name": p.get("DBSubnetGroupName"),
                "vpc_security_group_ids": list(p.get("VPCSecurityGroups", [])),
                "db_parameter_group_name": p.get("DBParameterGroupName"),
                "publicly_accessible": flag(p.get("PubliclyAccessible", False)),
                "multi_az": flag(p.get("MultiAZ", False)),
                "deletion_protection": flag(p.get("DeletionProtection", False)),
                "backup_retention_period": number("BackupRetentionPeriod") or 1,
                "preferred_backup_window": p.get("PreferredBackupWindow", "13:14-13:44"),
                "preferred_maintenance_window": p.get("PreferredMaintenanceWindow", "wed:06:38-wed:07:08").lower(),
                "copy_tags_to_snapshot": flag(p.get("CopyTagsToSnapshot", False)),
                "auto_minor_version_upgrade": flag(p.get("AutoMinorVersionUpgrade", True)),
                # RDS's default for new instances since 2024 (moto's is a made-up "rds-ca-default").
                # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL-certificate-rotation.html
                "ca_certificate_identifier": p.get("CACertificateIdentifier", "rds-ca-rsa2048-g1"),
                "enable_cloudwatch_logs_exports": p.get("EnableCloudwatchLogsExports"),
                "tags": p.get("Tags", []),
            }
        )
        # moto's model has no Performance Insights; its API serialiser reads these names.
        instance.performance_insights_enabled = flag(p.get("EnablePerformanceInsights", False))
        if instance.performance_insights_enabled:
            instance.performance_insights_kms_key_id = p.get("PerformanceInsightsKMSKeyId")
            instance.performance_insights_retention_period = int(p.get("PerformanceInsightsRetentionPeriod", 7))
        return instance
