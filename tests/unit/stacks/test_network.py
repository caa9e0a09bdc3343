"""The network stack against the architecture guide: VPC, subnets, routes, endpoints, security groups."""

from __future__ import annotations

import pytest

from tests.unit.stacks.guide import BOTH


@BOTH
def test_network__vpc_is_10_0_slash_16_with_two_public_and_two_private_subnets_in_two_azs(deployed, env):
    net = deployed[env]["network"]
    assert net.props("Vpc")["CidrBlock"] == "10.0.0.0/16"
    subnets = net.of_type("AWS::EC2::Subnet")
    assert sorted(subnets) == ["PrivateSubnet1", "PrivateSubnet2", "PublicSubnet1", "PublicSubnet2"]
    for name, subnet in subnets.items():
        az_index = subnet["Properties"]["AvailabilityZone"]["Fn::Select"][0]
        assert az_index == (0 if name.endswith("1") else 1)
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


@BOTH
def test_network__public_route_goes_to_the_internet_gateway(deployed, env):
    route = deployed[env]["network"].props("PublicDefaultRoute")
    assert route["DestinationCidrBlock"] == "0.0.0.0/0"
    assert route["GatewayId"] == {"Ref": "InternetGateway"}


@pytest.mark.parametrize(("env", "nat_gateways"), [("dev", 1), ("prod", 2)])
def test_network__private_routes_leave_through_nat__one_in_dev_one_per_az_in_prod(deployed, env, nat_gateways):
    # Guide: NAT optional (1 AZ) in dev, required in prod. Prod gets one per AZ
    # so egress to the LLM providers survives the loss of an AZ.
    net = deployed[env]["network"]
    assert len(net.of_type("AWS::EC2::NatGateway")) == nat_gateways
    targets = {net.props(r)["NatGatewayId"]["Ref"] for r in ("PrivateDefaultRoute1", "PrivateDefaultRoute2")}
    assert len(targets) == nat_gateways


@BOTH
def test_network__vpc_endpoints_are_the_s3_gateway_the_guides_four_interfaces_and_rds_and_ecs(deployed, env):
    endpoints = deployed[env]["network"].of_type("AWS::EC2::VPCEndpoint").values()
    kinds = {
        e["Properties"]["ServiceName"]["Fn::Sub"].split("}.")[1]: e["Properties"]["VpcEndpointType"] for e in endpoints
    }
    assert kinds == {
        "s3": "Gateway",
        "ecr.api": "Interface",
        "ecr.dkr": "Interface",
        "secretsmanager": "Interface",
        "logs": "Interface",
        # Departure: the rotation functions reach AWS through endpoints alone (docs/security.md, item 36).
        "rds": "Interface",
        "ecs": "Interface",
    }
    s3 = next(e for e in endpoints if e["Properties"]["VpcEndpointType"] == "Gateway")
    assert s3["Properties"]["RouteTableIds"] == [{"Ref": "PrivateRouteTable1"}, {"Ref": "PrivateRouteTable2"}]


def _rules(net, resource_type: str) -> set[tuple]:
    """(group, port, peer) for every standalone and inline rule of that direction."""
    inline_key = "SecurityGroupIngress" if resource_type.endswith("Ingress") else "SecurityGroupEgress"
    peer_key = "SourceSecurityGroupId" if resource_type.endswith("Ingress") else "DestinationSecurityGroupId"
    found = set()
    for props in (r["Properties"] for r in net.of_type(resource_type).values()):
        found.add((props["GroupId"]["Ref"], props["FromPort"], props[peer_key]["Ref"]))
    for name, group in net.of_type("AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get(inline_key, []):
            if rule["CidrIp"] == "127.0.0.1/32":
                continue  # the deny-all placeholder
            peer = rule["CidrIp"] if isinstance(rule["CidrIp"], str) else "VpcCidr"
            found.add((name, rule["FromPort"], peer))
    return found


@BOTH
def test_network__security_groups_allow_exactly_the_guide_chain(deployed, env):
    net = deployed[env]["network"]
    cidr = net.values["VpcCidr"]
    ingress = {
        (g, p, "VpcCidr" if peer == cidr else peer) for g, p, peer in _rules(net, "AWS::EC2::SecurityGroupIngress")
    }
    # Departures: prod shuts port 80 (docs/security.md, item 16), where the guide redirects it; dev
    # answers only the addresses given as client_cidr, because it serves plain HTTP (item 37).
    clients = "0.0.0.0/0" if env == "prod" else "192.0.2.0/24"  # tools.render's stand-in for dev's --var
    plain_http = {("AlbSecurityGroup", 80, clients)} if env == "dev" else set()
    assert ingress == plain_http | {
        ("AlbSecurityGroup", 443, clients),
        ("CacheSecurityGroup", 6379, "EcsSecurityGroup"),  # the shared-state cache, beyond the guide (issue 15)
        ("EcsSecurityGroup", 4000, "AlbSecurityGroup"),
        ("RdsSecurityGroup", 5432, "EcsSecurityGroup"),
        ("RdsSecurityGroup", 5432, "LambdaSecurityGroup"),
        ("VpcEndpointSecurityGroup", 443, "VpcCidr"),
    }
    assert _rules(net, "AWS::EC2::SecurityGroupEgress") == {
        ("AlbSecurityGroup", 4000, "EcsSecurityGroup"),
        ("EcsSecurityGroup", 443, "0.0.0.0/0"),
        ("EcsSecurityGroup", 5432, "RdsSecurityGroup"),
        ("EcsSecurityGroup", 6379, "CacheSecurityGroup"),
        # Departure: the rotation functions reach AWS through the endpoints only, each from its own
        # group, and only the database's reaches the database (docs/security.md, item 36).
        ("LambdaSecurityGroup", 443, "VpcEndpointSecurityGroup"),
        ("LambdaSecurityGroup", 5432, "RdsSecurityGroup"),
        ("MasterKeyRotationSecurityGroup", 443, "VpcEndpointSecurityGroup"),
    }


@BOTH
def test_network__every_security_group_replaces_the_default_allow_all_egress(deployed, env):
    for name, group in deployed[env]["network"].of_type("AWS::EC2::SecurityGroup").items():
        assert group["Properties"].get("SecurityGroupEgress"), f"{name} keeps EC2's default allow-all egress"
