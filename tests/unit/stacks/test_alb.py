"""The alb stack against the architecture guide: listeners, rules, target group, HTTPS, WAF and protection in prod."""

from __future__ import annotations

import pytest

from tests.unit.stacks.guide import BOTH, as_int, attribute


@BOTH
def test_alb__listener_rules_route_the_guide_paths_by_priority_to_the_target_group(deployed, env):
    alb = deployed[env]["alb"]
    rules = {}
    for name, rule in alb.of_type("AWS::ElasticLoadBalancingV2::ListenerRule").items():
        props = rule["Properties"]
        if name == "KeyInUrlRule":
            continue  # beyond the guide: a key in the URL is refused first (docs/security.md, item 34)
        if name in ("AdminUiFromAdmins", "AdminUiRefused"):
            continue  # beyond the guide: prod's admin UI answers only AdminUiCidr (item 38)
        assert props["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}]
        rules[props["Priority"]] = props["Conditions"][0]["PathPatternConfig"]["Values"][0]
    assert rules == {10: "/v1/*", 20: "/health", 30: "/ui/*", 100: "/*"}


@BOTH
def test_alb__target_group_is_http_4000_ip_with_the_guide_health_check(deployed, env):
    group = deployed[env]["alb"].props("TargetGroup")
    assert (group["Protocol"], group["Port"], group["TargetType"]) == ("HTTP", 4000, "ip")
    assert group["HealthCheckPath"] == "/health/liveliness"
    timings = [as_int(group[k]) for k in ("HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds")]
    thresholds = [as_int(group[k]) for k in ("HealthyThresholdCount", "UnhealthyThresholdCount")]
    assert (timings, thresholds) == ([30, 15], [2, 5])


@BOTH
def test_alb__keeps_idle_connections_300s_or_more(deployed, env):
    # The drain is held to LiteLLM's request_timeout in tests/unit/test_timeouts.py.
    alb = deployed[env]["alb"]
    assert as_int(attribute(alb.props("LoadBalancer")["LoadBalancerAttributes"], "idle_timeout.timeout_seconds")) >= 300


@pytest.mark.parametrize(("env", "on"), [("dev", False), ("prod", True)])
def test_alb__https_waf_dns_and_deletion_protection_only_in_prod(deployed, env, on):
    alb = deployed[env]["alb"]
    for logical_id in ("Certificate", "HttpsListener", "DnsRecord", "WebAcl", "WebAclAssociation"):
        assert (logical_id in alb.resources) is on, logical_id
    protection = attribute(alb.props("LoadBalancer")["LoadBalancerAttributes"], "deletion_protection.enabled")
    assert protection == str(on).lower()
    if on:
        assert alb.props("Certificate")["ValidationMethod"] == "DNS"
        assert alb.props("DnsRecord")["Type"] == "A" and "AliasTarget" in alb.props("DnsRecord")
        # Departure: the guide redirects port 80; prod has no listener there (docs/security.md, item 16).
        assert "HttpListener" not in alb.resources


@BOTH
def test_alb__is_internet_facing_on_443_in_prod_and_80_in_dev(deployed, env):
    alb = deployed[env]["alb"]
    assert alb.props("LoadBalancer")["Scheme"] == "internet-facing"
    ports = {
        listener["Properties"]["Port"] for listener in alb.of_type("AWS::ElasticLoadBalancingV2::Listener").values()
    }
    assert ports == ({443} if env == "prod" else {80})
