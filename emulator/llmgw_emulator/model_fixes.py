"""Fixes to CloudFormation support in moto 5.2's existing models, each small enough to send upstream.

Each function repairs one model so that a template which works on AWS
works the same way here; :func:`install` applies them all, once.
"""

from __future__ import annotations

from typing import Any

__all__ = ["install"]

_INSTALLED = False


def _ref_of_db_parameter_group_is_its_name() -> None:
    # Without physical_resource_id, !Ref hands the model object to DBInstance.
    from moto.rds.models import DBParameterGroup

    DBParameterGroup.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]


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


def install() -> None:
    """Apply every fix above. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    _ref_of_db_parameter_group_is_its_name()
    _adjacent_rds_windows_do_not_overlap()
    _load_balancer_attributes()
    _target_group_attributes()
    _INSTALLED = True
