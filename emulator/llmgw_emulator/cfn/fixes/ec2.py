"""EC2 types moto models wrongly: SecurityGroup (inline egress replaces the default), its ingress rules,
and SubnetRouteTableAssociation."""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends

from ..base import ReplacedOnUpdate


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


class _SecurityGroupRule(ReplacedOnUpdate):
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


class SubnetRouteTableAssociation(ReplacedOnUpdate, CloudFormationModel):
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

    def delete(self, account_id: str, region_name: str) -> None:
        ec2 = ec2_backends[account_id][region_name]
        if self.route_table_id in ec2.route_tables:  # else it went with its table
            ec2.disassociate_route_table(self.association_id)
