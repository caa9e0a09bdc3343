"""ACM's AWS::CertificateManager::Certificate, which moto 5.2 lacks as a CloudFormation type."""

from __future__ import annotations

from typing import Any

from moto.acm.models import acm_backends
from moto.core.common_models import CloudFormationModel
from moto.route53.models import route53_backends

from ..base import ReplacedOnUpdate, tags


class Certificate(ReplacedOnUpdate, CloudFormationModel):
    """AWS::CertificateManager::Certificate with DNS validation.

    With a ``HostedZoneId`` in ``DomainValidationOptions``, CloudFormation
    writes the validation CNAME into that zone and waits for issue. This does
    the same against moto's Route 53, and fails if the zone does not exist,
    which is where a real launch would stall.
    """

    create_before_delete = True  # two certificates for one name can coexist, as on AWS

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
            tags=tags(p),
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

    def delete(self, account_id: str, region_name: str) -> None:
        acm_backends[account_id][region_name].delete_certificate(self.arn)
