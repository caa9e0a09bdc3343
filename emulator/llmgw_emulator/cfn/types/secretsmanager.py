"""Secrets Manager's CloudFormation types, which moto 5.2 lacks: Secret, SecretTargetAttachment, ResourcePolicy."""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.rds.models import rds_backends
from moto.secretsmanager.models import secretsmanager_backends

from ..base import flag, tags


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
                exclude_numbers=flag(generate.get("ExcludeNumbers", False)),
                exclude_punctuation=flag(generate.get("ExcludePunctuation", False)),
                exclude_uppercase=flag(generate.get("ExcludeUppercase", False)),
                exclude_lowercase=flag(generate.get("ExcludeLowercase", False)),
                include_space=flag(generate.get("IncludeSpace", False)),
                require_each_included_type=flag(generate.get("RequireEachIncludedType", True)),
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
                tags=tags(properties),
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
        if flag(properties.get("BlockPublicPolicy", False)):
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
