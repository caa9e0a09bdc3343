"""EC2's AWS::EC2::SecurityGroupEgress, which moto 5.2 lacks (its ingress twin corrects moto's, in fixes/ec2.py)."""

from __future__ import annotations

from moto.core.common_models import CloudFormationModel

from ..fixes.ec2 import _SecurityGroupRule


class SecurityGroupEgress(_SecurityGroupRule, CloudFormationModel):
    """AWS::EC2::SecurityGroupEgress."""

    direction, peer_key = "egress", "DestinationSecurityGroupId"

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroupegress.html
        return "AWS::EC2::SecurityGroupEgress"
