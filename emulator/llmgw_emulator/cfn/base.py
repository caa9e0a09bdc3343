"""What the emulator's CloudFormation models share: tags, flags, and replacement on update.

moto builds its type map from ``CloudFormationModel.__subclasses__()``, which lists direct subclasses
only, so a shared base here is a mixin: a model names it *and* ``CloudFormationModel`` among its bases.
"""

from __future__ import annotations

from typing import Any, ClassVar


def tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": t["Value"]} for t in properties.get("Tags", [])]


def flag(value: Any) -> bool:
    return str(value).lower() == "true"


class ReplacedOnUpdate:
    """A resource every one of whose properties requires replacement, or that has no update API.

    CloudFormation replaces such a resource: it creates the new one, points what refers to it at the
    new one, and deletes the old one in the cleanup phase. A resource that stands on the same parent
    as its replacement (an association, a rule, a subscription) cannot exist twice, so it is deleted
    first unless ``create_before_delete`` says the two can coexist (a certificate).
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html
    """

    create_before_delete: ClassVar[bool] = False

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        create = cls.create_from_cloudformation_json  # type: ignore[attr-defined]
        if cls.create_before_delete:
            replacement = create(new_resource_name, cloudformation_json, account_id, region_name)
            original_resource.delete(account_id, region_name)
            return replacement
        original_resource.delete(account_id, region_name)
        return create(new_resource_name, cloudformation_json, account_id, region_name)
