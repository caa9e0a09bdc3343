"""WAFv2's WebACL, IPSet, WebACLAssociation and LoggingConfiguration, which moto 5.2 lacks as CloudFormation types."""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.wafv2.models import wafv2_backends

from ..base import ReplacedOnUpdate, tags


def _as_api_blobs(node: Any) -> Any:
    """Rules as the API carries them: a ByteMatchStatement's SearchString base64 (the template has the text).

    moto keeps what it is given and returns it as is, and SDKs decode the blob from base64.
    """
    import base64

    if isinstance(node, list):
        return [_as_api_blobs(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _as_api_blobs(value) for key, value in node.items()}
    if "ByteMatchStatement" in converted and isinstance(converted["ByteMatchStatement"].get("SearchString"), str):
        match = dict(converted["ByteMatchStatement"])
        match["SearchString"] = base64.b64encode(match["SearchString"].encode()).decode()
        converted["ByteMatchStatement"] = match
    # CloudFormation spells an IP set reference's ARN "Arn"; the API "ARN", and SDKs drop the other.
    # https://docs.aws.amazon.com/waf/latest/APIReference/API_IPSetReferenceStatement.html
    reference = converted.get("IPSetReferenceStatement")
    if isinstance(reference, dict) and "Arn" in reference:
        converted["IPSetReferenceStatement"] = {("ARN" if k == "Arn" else k): v for k, v in reference.items()}
    return converted


class WebACL(CloudFormationModel):
    """AWS::WAFv2::WebACL. Its Ref is ``name|id|scope``, as on AWS."""

    def __init__(self, acl: Any, scope: str):
        self.acl = acl
        self.scope = scope  # moto's web ACL does not keep its scope

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-wafv2-webacl.html
        return "AWS::WAFv2::WebACL"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.acl.name}|{self.acl.id}|{self.scope}"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Id", "LabelNamespace", "Capacity")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        values = {
            "Arn": self.acl.arn,
            "Id": self.acl.id,
            "LabelNamespace": self.acl.label_namespace,
            "Capacity": self.acl.capacity,
        }
        if attribute_name in values:
            return values[attribute_name]
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> WebACL:
        p = cloudformation_json["Properties"]
        _referenced_ip_sets_exist(p.get("Rules", []), account_id, region_name)
        acl = wafv2_backends[account_id][region_name].create_web_acl(
            name=p.get("Name", resource_name),
            visibility_config=p["VisibilityConfig"],
            default_action=p["DefaultAction"],
            scope=p["Scope"],
            description=p.get("Description", ""),
            tags=tags(p),
            rules=_as_api_blobs(p.get("Rules", [])),
            association_config=p.get("AssociationConfig"),
            captcha_config=p.get("CaptchaConfig"),
            challenge_config=p.get("ChallengeConfig"),
            custom_response_bodies=p.get("CustomResponseBodies"),
            token_domains=p.get("TokenDomains"),
        )
        return cls(acl, p["Scope"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: WebACL,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> WebACL:
        p = cloudformation_json["Properties"]
        _referenced_ip_sets_exist(p.get("Rules", []), account_id, region_name)
        acl = original_resource.acl
        wafv2_backends[account_id][region_name].update_web_acl(
            name=acl.name,
            _id=acl.id,
            scope=original_resource.scope,
            default_action=p["DefaultAction"],
            rules=_as_api_blobs(p.get("Rules", [])),
            description=p.get("Description", ""),
            visibility_config=p["VisibilityConfig"],
            lock_token=acl.lock_token,
            custom_response_bodies=p.get("CustomResponseBodies"),
            captcha_config=p.get("CaptchaConfig"),
            challenge_config=p.get("ChallengeConfig"),
            token_domains=p.get("TokenDomains"),
            association_config=p.get("AssociationConfig"),
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        acl = self.acl
        wafv2_backends[account_id][region_name].delete_web_acl(acl.name, self.scope, acl.id, acl.lock_token)


class IPSet(CloudFormationModel):
    """AWS::WAFv2::IPSet, as WAF's own IP set. Its Ref is ``name|id|scope``, as on AWS."""

    def __init__(self, ip_set: Any, scope: str):
        self.ip_set = ip_set
        self.scope = scope

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-wafv2-ipset.html
        return "AWS::WAFv2::IPSet"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.ip_set.name}|{self.ip_set.ip_set_id}|{self.scope}"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Id")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.ip_set.arn
        if attribute_name == "Id":
            return self.ip_set.ip_set_id
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> IPSet:
        p = cloudformation_json["Properties"]
        ip_set = wafv2_backends[account_id][region_name].create_ip_set(
            name=p.get("Name", resource_name),
            scope=p["Scope"],
            description=p.get("Description", ""),
            ip_address_version=p["IPAddressVersion"],
            addresses=list(p["Addresses"]),
            tags=tags(p),
        )
        return cls(ip_set, p["Scope"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: IPSet,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> IPSet:
        p = cloudformation_json["Properties"]
        original_resource.ip_set.update(p.get("Description"), list(p["Addresses"]))
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        ip_set = self.ip_set
        backend = wafv2_backends[account_id][region_name]
        backend.delete_ip_set(ip_set.name, self.scope, ip_set.ip_set_id, ip_set.lock_token)


def _referenced_ip_sets_exist(rules: Any, account_id: str, region_name: str) -> None:
    """CreateWebACL refuses a rule whose IPSetReferenceStatement names no IP set (WAFNonexistentItemException)."""
    if isinstance(rules, list):
        for item in rules:
            _referenced_ip_sets_exist(item, account_id, region_name)
    elif isinstance(rules, dict):
        reference = rules.get("IPSetReferenceStatement")
        if isinstance(reference, dict) and reference.get("Arn") not in wafv2_backends[account_id][region_name].ip_sets:
            raise ValueError(f"WAFNonexistentItemException: no IP set {reference.get('Arn')}")
        for value in rules.values():
            _referenced_ip_sets_exist(value, account_id, region_name)


class WebACLAssociation(ReplacedOnUpdate, CloudFormationModel):
    """AWS::WAFv2::WebACLAssociation between a web ACL and a regional resource such as an ALB."""

    def __init__(self, web_acl_arn: str, resource_arn: str):
        self.web_acl_arn = web_acl_arn
        self.resource_arn = resource_arn

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-wafv2-webaclassociation.html
        return "AWS::WAFv2::WebACLAssociation"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return f"{self.resource_arn}|{self.web_acl_arn}"

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
    ) -> WebACLAssociation:
        p = cloudformation_json["Properties"]
        wafv2_backends[account_id][region_name].associate_web_acl(p["WebACLArn"], p["ResourceArn"])
        return cls(p["WebACLArn"], p["ResourceArn"])

    def delete(self, account_id: str, region_name: str) -> None:
        wafv2_backends[account_id][region_name].disassociate_web_acl(self.resource_arn)


class LoggingConfiguration(ReplacedOnUpdate, CloudFormationModel):
    """AWS::WAFv2::LoggingConfiguration: where a web ACL's logs go, and which fields are redacted."""

    def __init__(self, resource_arn: str):
        self.resource_arn = resource_arn

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-wafv2-loggingconfiguration.html
        return "AWS::WAFv2::LoggingConfiguration"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.resource_arn

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
    ) -> LoggingConfiguration:
        p = cloudformation_json["Properties"]
        destinations = p["LogDestinationConfigs"]
        for destination in destinations:
            # AWS refuses any destination whose name lacks this prefix.
            if not destination.split(":")[-1].split("/")[-1].startswith("aws-waf-logs-"):
                raise ValueError(f"WAF log destination {destination} must be named aws-waf-logs-*")
        wafv2_backends[account_id][region_name].put_logging_configuration(
            p["ResourceArn"], destinations, p.get("RedactedFields"), False, p.get("LoggingFilter") or {}
        )
        return cls(p["ResourceArn"])

    def delete(self, account_id: str, region_name: str) -> None:
        wafv2_backends[account_id][region_name].delete_logging_configuration(self.resource_arn)
