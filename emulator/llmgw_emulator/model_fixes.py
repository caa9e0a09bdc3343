"""Fixes to CloudFormation support in moto 5.2's existing models, each small enough to send upstream.

Each function repairs one model so that a template which works on AWS
works the same way here; :func:`install` applies them all, once.
"""

from __future__ import annotations

from typing import Any

__all__ = ["install"]

_INSTALLED = False


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
    from moto.ec2.models.security_groups import SecurityGroupIngress
    from moto.ec2.models.subnets import SubnetRouteTableAssociation
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

    def delete_association(self: Any, account_id: str, region_name: str) -> None:
        ec2(account_id, region_name).subnet_associations.pop(f"{self.route_table_id}:{self.subnet_id}", None)

    def delete_attachment(self: Any, account_id: str, region_name: str) -> None:
        backend = ec2(account_id, region_name)
        if self.gateway_id in backend.internet_gateways:
            backend.detach_internet_gateway(self.gateway_id, self.vpc_id)

    def revoke_ingress(self: Any, account_id: str, region_name: str) -> None:
        backend = ec2(account_id, region_name)
        group = backend.get_security_group_by_name_or_id(self.security_group.id, self.security_group.vpc_id)
        if group is None:
            return  # the group went first, taking its rules with it
        p = self.properties
        peer = {"GroupId": p["SourceSecurityGroupId"]} if "SourceSecurityGroupId" in p else None
        backend.revoke_security_group_ingress(
            group_name_or_id=group.id,
            ip_protocol=str(p["IpProtocol"]),
            from_port=p.get("FromPort"),
            to_port=p.get("ToPort"),
            ip_ranges=[{"CidrIp": p["CidrIp"]}] if "CidrIp" in p else [],
            source_groups=[peer] if peer else [],
            vpc_id=group.vpc_id,
        )

    deletes = {
        ElasticAddress: lambda self, a, r: ec2(a, r).release_address(allocation_id=self.allocation_id),
        FlowLogs: lambda self, a, r: ec2(a, r).delete_flow_logs([self.id]),
        InternetGateway: lambda self, a, r: ec2(a, r).delete_internet_gateway(self.id),
        NatGateway: delete_nat_gateway,
        Route: delete_route,
        RouteTable: lambda self, a, r: ec2(a, r).delete_route_table(self.id),
        SecurityGroupIngress: revoke_ingress,
        SubnetRouteTableAssociation: delete_association,
        VPCEndPoint: delete_vpc_endpoint,
        VPCGatewayAttachment: delete_attachment,
        Cluster: lambda self, a, r: ecs_backends[a][r].delete_cluster(self.name),
        Service: lambda self, a, r: ecs_backends[a][r].delete_service(self.cluster_name, self.name, force=True),
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
    _load_balancer_attributes()
    _target_group_attributes()
    _deletes_that_moto_skips()
    _INSTALLED = True
