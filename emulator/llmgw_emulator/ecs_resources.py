"""ECS in the emulator: clusters keep what their template sets, and a new account lacks ECS's service-linked role.

ECS acts through ``AWSServiceRoleForECS``. On an account that has never used
ECS the role does not exist; CreateCluster makes it, but a cluster created
with capacity providers in that same call fails, because the new role is not
yet usable. The role then exists, so a retry works, and creating it first
(``aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com``)
always does.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.core.exceptions import JsonRESTError
from moto.ecs.models import EC2ContainerServiceBackend, ecs_backends

from . import account

__all__ = ["Cluster", "install"]

ROLE_NAME = "AWSServiceRoleForECS"
_INSTALLED = False


class ServiceLinkedRoleNotReadyError(JsonRESTError):
    code = 400

    def __init__(self) -> None:
        super().__init__(
            "InvalidParameterException",
            "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
        )


def _role_exists(account_id: str) -> bool:
    from moto.iam.models import iam_backends

    try:
        iam_backends[account_id]["aws"].get_role(ROLE_NAME)
    except Exception:
        return False
    return True


def _ensure_role(account_id: str) -> bool:
    """Create the service-linked role if absent, as CreateCluster does; True if it existed already."""
    from moto.iam.models import iam_backends

    if account.current().ecs_service_linked_role_exists or _role_exists(account_id):
        return True
    iam_backends[account_id]["aws"].create_service_linked_role(
        "ecs.amazonaws.com", "Role to enable Amazon ECS to manage your cluster.", ""
    )
    return False


def _camel(items: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys

    return remap_nested_keys(items, pascal_to_camelcase) if items is not None else None


class Cluster(CloudFormationModel):
    """AWS::ECS::Cluster with its settings, capacity providers and default strategy.

    moto's own model creates a cluster with only a name. Returns moto's own
    cluster object, so Ref (the name) and GetAtt Arn behave as before.
    """

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-cluster.html
        return "AWS::ECS::Cluster"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ClusterName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

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
        strategy = [
            {k: int(v) if k in ("Weight", "Base") else v for k, v in s.items()}
            for s in p.get("DefaultCapacityProviderStrategy", [])
        ]
        return ecs_backends[account_id][region_name].create_cluster(
            cluster_name=p.get("ClusterName", resource_name),
            tags=[{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags", [])] or None,
            cluster_settings=_camel(p.get("ClusterSettings")),
            capacity_providers=p.get("CapacityProviders"),
            default_capacity_provider_strategy=_camel(strategy) if strategy else None,
        )

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
        backend = ecs_backends[account_id][region_name]
        if p.get("ClusterName", original_resource.name) != original_resource.name:
            backend.delete_cluster(original_resource.arn)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        original_resource.settings = _camel(p.get("ClusterSettings")) or original_resource.settings
        original_resource.capacity_providers = p.get("CapacityProviders")
        strategy = p.get("DefaultCapacityProviderStrategy")
        original_resource.default_capacity_provider_strategy = _camel(strategy) if strategy else None
        return original_resource


def install() -> None:
    """Make CreateCluster need ECS's service-linked role as a new account does. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    import inspect

    original = EC2ContainerServiceBackend.create_cluster
    signature = inspect.signature(original)

    def create_cluster(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(self, *args, **kwargs)
        existed = _ensure_role(self.account_id)
        if not existed and call.arguments.get("capacity_providers"):
            raise ServiceLinkedRoleNotReadyError()
        return original(*call.args, **call.kwargs)

    EC2ContainerServiceBackend.create_cluster = create_cluster  # type: ignore[method-assign]
    _INSTALLED = True
