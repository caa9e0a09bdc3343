"""Route 53 Resolver's DNS Firewall and query logging, which moto does not model, as CloudFormation types.

- ``AWS::Route53Resolver::FirewallDomainList``, ``FirewallRuleGroup`` and
  ``FirewallRuleGroupAssociation``: stored with the checks the API makes (domain
  syntax, actions, unique priorities, a rule group's lists and an association's
  VPC must exist), and read back through GetFirewallDomainList, ListFirewallDomains,
  GetFirewallRuleGroup, ListFirewallRules and ListFirewallRuleGroupAssociations.
- ``AWS::Route53Resolver::ResolverQueryLoggingConfig`` and its association: moto's
  own API objects, which it offers no CloudFormation type for.

Nothing here answers DNS: the rehearsal's tasks run on this machine and resolve
names with its resolver, so the firewall's effect is proven over the template
(``tools/checklist.py``, item 42), not by a blocked lookup (README, what the
rehearsal cannot show).
https://docs.aws.amazon.com/Route53/latest/APIReference/API_Operations_Amazon_Route_53_Resolver.html
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.core.exceptions import JsonRESTError
from moto.ec2.models import ec2_backends
from moto.route53resolver.models import route53resolver_backends

from .cfn.base import ReplacedOnUpdate

__all__ = [
    "FirewallDomainList",
    "FirewallRuleGroup",
    "FirewallRuleGroupAssociation",
    "QueryLoggingConfig",
    "QueryLoggingConfigAssociation",
    "install",
]

# UpdateFirewallDomains: "It can optionally start with * (asterisk)" and, apart from it, holds only
# letters, digits and hyphens (between the dots of a name); 1-255 characters.
# https://docs.aws.amazon.com/Route53/latest/APIReference/API_route53resolver_UpdateFirewallDomains.html
_DOMAIN = re.compile(r"\*|(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?")
_ACTIONS = {"ALLOW", "BLOCK", "ALERT"}
_BLOCK_RESPONSES = {"NODATA", "NXDOMAIN", "OVERRIDE"}
_RULE_KEYS = {"Priority", "FirewallDomainListId", "Action", "BlockResponse", "FirewallDomainRedirectionAction"}
_REDIRECTIONS = {"INSPECT_REDIRECTION_DOMAIN", "TRUST_REDIRECTION_DOMAIN"}


class FirewallError(JsonRESTError):
    def __init__(self, kind: str, message: str):
        super().__init__(kind, message)


@dataclass
class _State:
    domain_lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    rule_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    associations: dict[str, dict[str, Any]] = field(default_factory=dict)


_STATES: dict[tuple[str, str], _State] = {}


def _state(account_id: str, region_name: str) -> _State:
    return _STATES.setdefault((account_id, region_name), _State())


def _arn(account_id: str, region_name: str, kind: str, identifier: str) -> str:
    return f"arn:aws:route53resolver:{region_name}:{account_id}:{kind}/{identifier}"


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:17]}"


def _domains(resource_name: str, domains: Any) -> list[str]:
    if not isinstance(domains, list) or not domains:
        raise FirewallError("InvalidParameterException", f"{resource_name}: Domains must be a non-empty list")
    for domain in domains:
        if not isinstance(domain, str) or not 1 <= len(domain) <= 255 or not _DOMAIN.fullmatch(domain):
            raise FirewallError(
                "ValidationException",
                f"{resource_name}: {domain!r} is not a domain specification (a name, optionally after *.; or *)",
            )
    return list(dict.fromkeys(domains))


def _rules(resource_name: str, rules: list[dict[str, Any]], state: _State) -> list[dict[str, Any]]:
    seen: set[int] = set()
    checked = []
    for rule in rules:
        unknown = sorted(set(rule) - _RULE_KEYS)
        if unknown:
            raise NotImplementedError(
                f"{resource_name}: FirewallRules properties the emulator does not model: {unknown}"
            )
        priority, action = int(rule["Priority"]), rule["Action"]
        if priority in seen:
            raise FirewallError("ValidationException", f"{resource_name}: two rules have priority {priority}")
        seen.add(priority)
        if action not in _ACTIONS:
            raise FirewallError(
                "ValidationException", f"{resource_name}: Action {action!r} is not one of {sorted(_ACTIONS)}"
            )
        if action == "BLOCK" and rule.get("BlockResponse") not in _BLOCK_RESPONSES:
            # CreateFirewallRule: BlockResponse "is required if the rule action setting is BLOCK".
            raise FirewallError("ValidationException", f"{resource_name}: a BLOCK rule needs a BlockResponse")
        redirection = rule.get("FirewallDomainRedirectionAction", "INSPECT_REDIRECTION_DOMAIN")
        if redirection not in _REDIRECTIONS:
            raise FirewallError(
                "ValidationException", f"{resource_name}: FirewallDomainRedirectionAction {redirection!r} is unknown"
            )
        if rule["FirewallDomainListId"] not in state.domain_lists:
            raise FirewallError(
                "ResourceNotFoundException", f"{resource_name}: no domain list {rule['FirewallDomainListId']}"
            )
        # CreateFirewallRule's default: every name in a CNAME chain is inspected.
        checked.append({**rule, "Priority": priority, "FirewallDomainRedirectionAction": redirection})
    return sorted(checked, key=lambda r: r["Priority"])


class _Replaced(ReplacedOnUpdate):
    """A resource whose every change, in the emulator, is a delete and a create."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"


class FirewallDomainList(_Replaced, CloudFormationModel):
    """AWS::Route53Resolver::FirewallDomainList: Ref is its Id."""

    def __init__(self, record: dict[str, Any]):
        self.record = record

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Route53Resolver::FirewallDomainList"

    @property
    def physical_resource_id(self) -> str:
        return self.record["Id"]

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Id", "DomainCount")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.record[attribute_name]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> FirewallDomainList:
        p = cloudformation_json["Properties"]
        domains = _domains(resource_name, p.get("Domains"))
        identifier = _new_id("rslvr-fdl")
        record = {
            "Id": identifier,
            "Arn": _arn(account_id, region_name, "firewall-domain-list", identifier),
            "Name": p.get("Name", resource_name),
            "Domains": domains,
            "DomainCount": len(domains),
            "Status": "COMPLETE",
        }
        _state(account_id, region_name).domain_lists[identifier] = record
        return cls(record)

    def delete(self, account_id: str, region_name: str) -> None:
        state = _state(account_id, region_name)
        users = [g["Name"] for g in state.rule_groups.values() if any(
            r["FirewallDomainListId"] == self.record["Id"] for r in g["Rules"])]  # fmt: skip
        if users:
            raise FirewallError("ConflictException", f"domain list {self.record['Id']} is in use by {users}")
        state.domain_lists.pop(self.record["Id"], None)


class FirewallRuleGroup(_Replaced, CloudFormationModel):
    """AWS::Route53Resolver::FirewallRuleGroup, its rules inline: Ref is its Id."""

    def __init__(self, record: dict[str, Any]):
        self.record = record

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Route53Resolver::FirewallRuleGroup"

    @property
    def physical_resource_id(self) -> str:
        return self.record["Id"]

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Id", "RuleCount")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.record[attribute_name]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> FirewallRuleGroup:
        p = cloudformation_json["Properties"]
        state = _state(account_id, region_name)
        rules = _rules(resource_name, p.get("FirewallRules", []), state)
        identifier = _new_id("rslvr-frg")
        record = {
            "Id": identifier,
            "Arn": _arn(account_id, region_name, "firewall-rule-group", identifier),
            "Name": p.get("Name", resource_name),
            "Rules": rules,
            "RuleCount": len(rules),
            "Status": "COMPLETE",
        }
        state.rule_groups[identifier] = record
        return cls(record)

    def delete(self, account_id: str, region_name: str) -> None:
        state = _state(account_id, region_name)
        if any(a["FirewallRuleGroupId"] == self.record["Id"] for a in state.associations.values()):
            raise FirewallError("ConflictException", f"rule group {self.record['Id']} is associated with a VPC")
        state.rule_groups.pop(self.record["Id"], None)


class FirewallRuleGroupAssociation(_Replaced, CloudFormationModel):
    """AWS::Route53Resolver::FirewallRuleGroupAssociation: a rule group on a VPC. Ref is its Id."""

    def __init__(self, record: dict[str, Any]):
        self.record = record

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Route53Resolver::FirewallRuleGroupAssociation"

    @property
    def physical_resource_id(self) -> str:
        return self.record["Id"]

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Id")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.record[attribute_name]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> FirewallRuleGroupAssociation:
        p = cloudformation_json["Properties"]
        state = _state(account_id, region_name)
        group_id, vpc_id, priority = p["FirewallRuleGroupId"], p["VpcId"], int(p["Priority"])
        if group_id not in state.rule_groups:
            raise FirewallError("ResourceNotFoundException", f"{resource_name}: no rule group {group_id}")
        if vpc_id not in {v.id for v in ec2_backends[account_id][region_name].describe_vpcs()}:
            raise FirewallError("ResourceNotFoundException", f"{resource_name}: no VPC {vpc_id}")
        # AssociateFirewallRuleGroup: "The allowed values for Priority are between 100 and 9900", exclusive,
        # and unique among the rule groups of one VPC.
        if not 100 < priority < 9900:
            raise FirewallError("ValidationException", f"{resource_name}: Priority {priority} is not within 101-9899")
        for other in state.associations.values():
            if other["VpcId"] == vpc_id and other["Priority"] == priority:
                raise FirewallError(
                    "ConflictException", f"{resource_name}: VPC {vpc_id} has a rule group at {priority}"
                )
        identifier = _new_id("rslvr-frgassoc")
        record = {
            "Id": identifier,
            "Arn": _arn(account_id, region_name, "firewall-rule-group-association", identifier),
            "Name": p.get("Name", resource_name),
            "FirewallRuleGroupId": group_id,
            "VpcId": vpc_id,
            "Priority": priority,
            "MutationProtection": p.get("MutationProtection", "DISABLED"),
            "Status": "COMPLETE",
        }
        state.associations[identifier] = record
        return cls(record)

    def delete(self, account_id: str, region_name: str) -> None:
        if self.record["MutationProtection"] == "ENABLED":
            # DisassociateFirewallRuleGroup refuses while mutation protection is on: the stack delete fails.
            raise FirewallError("AccessDeniedException", f"association {self.record['Id']} has mutation protection")
        _state(account_id, region_name).associations.pop(self.record["Id"], None)


class QueryLoggingConfig(_Replaced, CloudFormationModel):
    """AWS::Route53Resolver::ResolverQueryLoggingConfig, as moto's own query log config. Ref is its Id."""

    def __init__(self, config_id: str, arn: str):
        self.config_id, self.arn = config_id, arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Route53Resolver::ResolverQueryLoggingConfig"

    @property
    def physical_resource_id(self) -> str:
        return self.config_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Id")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.arn if attribute_name == "Arn" else self.config_id

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> QueryLoggingConfig:
        from moto.logs.models import logs_backends

        p = cloudformation_json["Properties"]
        destination = p["DestinationArn"]
        group = destination.split(":log-group:", 1)[-1].removesuffix(":*")
        if ":logs:" in destination and group not in logs_backends[account_id][region_name].groups:
            raise FirewallError("ResourceNotFoundException", f"{resource_name}: no log group {group}")
        config = route53resolver_backends[account_id][region_name].create_resolver_query_log_config(
            name=p.get("Name", resource_name), destination_arn=destination, creator_request_id=str(uuid.uuid4())
        )
        return cls(config.id, config.arn)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = route53resolver_backends[account_id][region_name]
        if any(a.resolver_query_log_config_id == self.config_id
               for a in backend.resolver_query_log_config_associations.values()):  # fmt: skip
            raise FirewallError("InvalidRequestException", f"query log config {self.config_id} is still associated")
        backend.resolver_query_log_configs.pop(self.config_id, None)


class QueryLoggingConfigAssociation(_Replaced, CloudFormationModel):
    """AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation: a VPC's queries to a config."""

    def __init__(self, association_id: str, config_id: str):
        self.association_id, self.config_id = association_id, config_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.association_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.association_id

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> QueryLoggingConfigAssociation:
        p = cloudformation_json["Properties"]
        association = route53resolver_backends[account_id][region_name].associate_resolver_query_log_config(
            resolver_query_log_config_id=p["ResolverQueryLogConfigId"], resource_id=p["ResourceId"]
        )
        return cls(association.id, p["ResolverQueryLogConfigId"])

    def delete(self, account_id: str, region_name: str) -> None:
        backend = route53resolver_backends[account_id][region_name]
        if backend.resolver_query_log_config_associations.pop(self.association_id, None) is not None:
            backend.resolver_query_log_configs[self.config_id].association_count -= 1


# ---- the read API -------------------------------------------------------------------------


def _found(table: dict[str, dict[str, Any]], identifier: str, kind: str) -> dict[str, Any]:
    if identifier not in table:
        raise FirewallError("ResourceNotFoundException", f"no {kind} {identifier}")
    return table[identifier]


def _without(record: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in keys}


def install() -> None:
    """Answer DNS Firewall's read operations from what the CloudFormation types stored."""
    from moto.route53resolver.responses import Route53ResolverResponse

    def here(self: Any) -> _State:
        return _state(self.current_account, self.region)

    def get_firewall_domain_list(self: Any) -> str:
        record = _found(here(self).domain_lists, self._get_param("FirewallDomainListId"), "domain list")
        return json.dumps({"FirewallDomainList": _without(record, "Domains")})

    def list_firewall_domains(self: Any) -> str:
        record = _found(here(self).domain_lists, self._get_param("FirewallDomainListId"), "domain list")
        return json.dumps({"Domains": record["Domains"]})

    def get_firewall_rule_group(self: Any) -> str:
        record = _found(here(self).rule_groups, self._get_param("FirewallRuleGroupId"), "rule group")
        return json.dumps({"FirewallRuleGroup": _without(record, "Rules")})

    def list_firewall_rules(self: Any) -> str:
        group_id = self._get_param("FirewallRuleGroupId")
        record = _found(here(self).rule_groups, group_id, "rule group")
        return json.dumps({"FirewallRules": [{**rule, "FirewallRuleGroupId": group_id} for rule in record["Rules"]]})

    def list_firewall_rule_group_associations(self: Any) -> str:
        vpc_id, group_id = self._get_param("VpcId"), self._get_param("FirewallRuleGroupId")
        found = [
            a for a in here(self).associations.values()
            if vpc_id in (None, a["VpcId"]) and group_id in (None, a["FirewallRuleGroupId"])
        ]  # fmt: skip
        return json.dumps({"FirewallRuleGroupAssociations": found})

    for operation in (
        get_firewall_domain_list,
        list_firewall_domains,
        get_firewall_rule_group,
        list_firewall_rules,
        list_firewall_rule_group_associations,
    ):
        setattr(Route53ResolverResponse, operation.__name__, operation)
