"""prod's WAF never blocks a prompt on /v1/*, and still blocks the same inputs everywhere else.

The emulator stores a web ACL but evaluates no request (moto has no WAF
engine), so this evaluates the rendered prod web ACL the way WAF does: rules
in priority order, a managed group's matching rule blocks unless its
action is overridden to Count, a counted rule still adds its label, and a
later rule may act on labels. Which managed rules match a request is the
input: ordinary prompts carry code, HTML, ``../`` paths, URLs and metadata
addresses, which the body rules match.
https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest

# Managed rule -> the label it adds (AWS's published names: the rule name with _BODY as _Body).
LABELS = {
    "AWSManagedRulesCommonRuleSet": "awswaf:managed:aws:core-rule-set:",
    "AWSManagedRulesKnownBadInputsRuleSet": "awswaf:managed:aws:known-bad-inputs:",
}
BODY_RULES = {
    "AWSManagedRulesCommonRuleSet": {"SizeRestrictions_BODY", "CrossSiteScripting_BODY", "GenericLFI_BODY",
                                     "GenericRFI_BODY", "EC2MetaDataSSRF_BODY"},
    "AWSManagedRulesKnownBadInputsRuleSet": {"JavaDeserializationRCE_BODY", "Log4JRCE_BODY"},
}  # fmt: skip
# What an ordinary prompt matches: a code review with HTML, a path, a URL, the metadata address, log4j.
PROMPT = {(group, rule) for group, rules in BODY_RULES.items() for rule in rules}


def _label(group: str, rule: str) -> str:
    return LABELS[group] + rule.replace("_BODY", "_Body")


def _matches(statement: dict[str, Any], path: str, labels: set[str]) -> bool:
    if "AndStatement" in statement:
        return all(_matches(s, path, labels) for s in statement["AndStatement"]["Statements"])
    if "OrStatement" in statement:
        return any(_matches(s, path, labels) for s in statement["OrStatement"]["Statements"])
    if "NotStatement" in statement:
        return not _matches(statement["NotStatement"]["Statement"], path, labels)
    if "LabelMatchStatement" in statement:
        match = statement["LabelMatchStatement"]
        assert match["Scope"] == "LABEL"
        return match["Key"] in labels
    if "IPSetReferenceStatement" in statement:
        return False  # every request here comes from outside AdminUiCidr
    if "ByteMatchStatement" in statement:
        match = statement["ByteMatchStatement"]
        assert "UriPath" in match["FieldToMatch"], "only URI path matches are modelled here"
        value = path
        for step in sorted(match["TextTransformations"], key=lambda t: int(t["Priority"])):
            assert step["Type"] in ("NONE", "URL_DECODE", "LOWERCASE"), step
            value = (
                unquote(value)
                if step["Type"] == "URL_DECODE"
                else value.lower()
                if step["Type"] == "LOWERCASE"
                else value
            )
        if match["PositionalConstraint"] == "CONTAINS":
            return match["SearchString"] in value
        assert match["PositionalConstraint"] == "STARTS_WITH"
        return value.startswith(match["SearchString"])
    raise AssertionError(f"statement not modelled by this test: {list(statement)}")


def evaluate(acl: dict[str, Any], path: str, matching: set[tuple[str, str]]) -> str:
    """The web ACL's verdict, Allow or Block, for a request the given managed rules match."""
    labels: set[str] = set()
    for rule in sorted(acl["Rules"], key=lambda r: int(r["Priority"])):
        statement = rule["Statement"]
        if "RateBasedStatement" in statement:
            continue  # under the limit
        if "ManagedRuleGroupStatement" in statement:
            group = statement["ManagedRuleGroupStatement"]
            counted = {o["Name"] for o in group.get("RuleActionOverrides", []) if "Count" in o["ActionToUse"]}
            for matched_group, matched_rule in sorted(matching):
                if matched_group != group["Name"]:
                    continue
                labels.add(_label(matched_group, matched_rule))
                if matched_rule not in counted and "None" in rule["OverrideAction"]:
                    return "Block"
            continue
        if _matches(statement, path, labels) and "Block" in rule["Action"]:
            return "Block"
    return "Allow" if "Allow" in acl["DefaultAction"] else "Block"


@pytest.fixture(scope="module")
def acl(deployed):
    return deployed["prod"]["alb"].props("WebAcl")


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/embeddings"])
def test_waf__an_ordinary_prompt_on_the_api__is_allowed(acl, path):
    assert evaluate(acl, path, PROMPT) == "Allow"


@pytest.mark.parametrize(("group", "rule"), sorted(PROMPT))
@pytest.mark.parametrize("path", ["/ui/login", "/health/liveliness", "/"])
def test_waf__each_body_rule_still_blocks_outside_the_api(acl, path, group, rule):
    assert evaluate(acl, path, {(group, rule)}) == "Block"


@pytest.mark.parametrize(
    ("group", "rule"),
    [
        ("AWSManagedRulesCommonRuleSet", "GenericLFI_QUERYARGUMENTS"),
        ("AWSManagedRulesCommonRuleSet", "CrossSiteScripting_URIPATH"),
        ("AWSManagedRulesCommonRuleSet", "NoUserAgent_HEADER"),
        ("AWSManagedRulesKnownBadInputsRuleSet", "Log4JRCE_HEADER"),
        ("AWSManagedRulesKnownBadInputsRuleSet", "Host_localhost_HEADER"),
    ],
)
def test_waf__known_bad_inputs_outside_the_body__still_block_on_the_api(acl, group, rule):
    assert evaluate(acl, "/v1/chat/completions", {(group, rule)}) == "Block"


def test_waf__rate_limiting_blocks_and_every_rule_reports_metrics(acl):
    (rate,) = [r for r in acl["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert "Block" in rate["Action"]
    assert rate["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True for r in acl["Rules"])


def test_waf__every_counted_body_rule_is_matched_by_label_after_its_group(acl):
    """A label rule only sees labels of groups evaluated before it, so it must come last."""
    counted = {
        _label(r["Statement"]["ManagedRuleGroupStatement"]["Name"], o["Name"])
        for r in acl["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
        for o in r["Statement"]["ManagedRuleGroupStatement"].get("RuleActionOverrides", [])
    }
    assert counted == {_label(g, r) for g, r in PROMPT}
    managed = [int(r["Priority"]) for r in acl["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]]
    labelled = [int(r["Priority"]) for r in acl["Rules"] if "LabelMatchStatement" in repr(r["Statement"])]
    assert labelled and min(labelled) > max(managed)


@pytest.mark.parametrize(
    "path", ["/%75i/", "/UI/", "/%6Cogin", "/v2/LOGIN", "/sso/%6Bey/generate", "/%6Fnboarding/get_token"]
)
def test_waf__the_admin_ui_escaped_or_in_capitals__is_blocked_from_outside_the_admins_range(acl, path):
    """The listener's rules match the path as sent; the gateway decodes it, so WAF must decode first."""
    assert evaluate(acl, path, set()) == "Block"


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/models", "/health/liveliness"])
def test_waf__the_api_from_anywhere__is_not_taken_for_the_admin_ui(acl, path):
    assert evaluate(acl, path, set()) == "Allow"
