"""The emulator's load balancer and ECS rules on their own: target health, routing, the circuit breaker.

Real sockets, no moto: a listener proxy in front of a small HTTP server, and
the state machines the integration scenarios (tests/integration/test_litellm_service.py)
rely on, each against the AWS documentation its module cites.
"""

from __future__ import annotations

import http.client
import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "emulator"))

from llmgw.net import free_port
from llmgw_emulator import clock, ecs_scheduler, ecs_tasks, elb_listeners
from llmgw_emulator.elb_targets import Target, TargetGroup


def _group(**overrides: object) -> TargetGroup:
    settings: dict[str, object] = dict(
        arn="arn:tg", name="tg", protocol="HTTP", path="/health/liveliness", interval=30, timeout=15,
        healthy_threshold=2, unhealthy_threshold=5, matcher="200", deregistration_delay=30,
    )  # fmt: skip
    settings.update(overrides)
    return TargetGroup(**settings)  # type: ignore[arg-type]


# ---- target health -------------------------------------------------------------------------------


def test_target__a_new_one_is_healthy_after_one_passing_check():
    target = Target("10.0.0.1", 4000, 1)
    target.record(True, None, healthy_threshold=2, unhealthy_threshold=5)
    assert target.state == "healthy"


def test_target__turns_unhealthy_only_at_the_unhealthy_threshold_and_back_only_at_the_healthy_one():
    target = Target("10.0.0.1", 4000, 1)
    target.record(True, None, 2, 5)
    for _ in range(4):
        target.record(False, ("Target.Timeout", "Request timed out"), 2, 5)
    assert target.state == "healthy"
    target.record(False, ("Target.Timeout", "Request timed out"), 2, 5)
    assert (target.state, target.reason) == ("unhealthy", "Target.Timeout")
    target.record(True, None, 2, 5)
    assert target.state == "unhealthy"
    target.record(True, None, 2, 5)
    assert target.state == "healthy"


def test_target_group__sends_round_robin_to_healthy_targets_never_to_initial_or_draining_ones():
    group = _group()
    for n, state in enumerate(["healthy", "healthy", "initial", "draining"]):
        group.targets[(f"10.0.0.{n}", 4000)] = Target(f"10.0.0.{n}", 4000, n, state=state)
    picked = [group.pick() for _ in range(4)]
    assert {t.id for t in picked if t} == {"10.0.0.0", "10.0.0.1"}
    assert [t.id for t in picked if t][:2] != [picked[0].id] * 2  # type: ignore[union-attr]


def test_target_group__fails_open_when_every_target_is_unhealthy_and_has_none_to_give_without_targets():
    group = _group()
    assert group.pick() is None
    group.targets[("10.0.0.9", 4000)] = Target("10.0.0.9", 4000, 9, state="initial")
    assert group.pick() is None
    group.targets[("10.0.0.8", 4000)] = Target("10.0.0.8", 4000, 8, state="unhealthy")
    assert group.pick().id == "10.0.0.8"  # type: ignore[union-attr]


@pytest.mark.parametrize(("matcher", "status", "ok"), [("200", 200, True), ("200", 204, False),
                                                       ("200-299", 204, True), ("200,302", 302, True)])  # fmt: skip
def test_target_group__matcher_reads_codes_ranges_and_lists(matcher, status, ok):
    assert _group(matcher=matcher).matches(status) is ok


def test_target_group__a_deregistered_target_with_no_open_request_drains_at_once():
    group = _group(deregistration_delay=300)
    group.targets[("10.0.0.1", 4000)] = target = Target("10.0.0.1", 4000, 1, state="healthy")
    drained = threading.Event()
    group.deregister("10.0.0.1", 4000, drained.set)
    assert drained.wait(5) and target.deregistered.is_set() and not group.targets


# ---- the listener proxy --------------------------------------------------------------------------------


@pytest.fixture
def backend() -> Iterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers.items()))
            body = b"from the backend"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1]), seen
    server.shutdown()


def _listener(group: TargetGroup, rules: list[elb_listeners.Rule]) -> elb_listeners.Listener:
    config = elb_listeners.ListenerConfig(
        arn="arn:listener", load_balancer_arn="arn:lb", protocol="HTTP", port=80, idle_timeout=5,
        default_actions=[{"Type": "fixed-response",
                          "FixedResponseConfig": {"StatusCode": "404", "MessageBody": "Not found"}}],
        rules=rules,
    )  # fmt: skip
    return elb_listeners.Listener(config, {group.arn: group}, 0, None)


def _get(listener: elb_listeners.Listener, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", listener.local_port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _path(priority: int, pattern: str, action: dict[str, object]) -> elb_listeners.Rule:
    return elb_listeners.Rule(
        priority, [{"Field": "path-pattern", "PathPatternConfig": {"Values": [pattern]}}], [action]
    )


def test_listener__applies_rules_by_priority_then_the_default_action(backend):
    port, seen = backend
    group = _group()
    group.targets[("10.0.0.1", 4000)] = Target("10.0.0.1", 4000, port, state="healthy")
    teapot = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "418", "MessageBody": "teapot"}}
    listener = _listener(
        group, [_path(20, "/v1/*", teapot), _path(10, "/v1/models", {"Type": "forward", "TargetGroupArn": "arn:tg"})]
    )
    try:
        assert _get(listener, "/v1/models?x=1") == (200, b"from the backend")
        assert _get(listener, "/v1/chat") == (418, b"teapot")
        assert _get(listener, "/V1/models") == (404, b"Not found")  # path patterns are case-sensitive
        assert seen[0]["X-Forwarded-For"] == "127.0.0.1" and seen[0]["X-Forwarded-Port"] == "80"
    finally:
        listener.close()


def test_listener__answers_503_without_a_target_and_502_when_the_target_refuses(backend):
    group = _group()
    listener = _listener(group, [_path(10, "/*", {"Type": "forward", "TargetGroupArn": "arn:tg"})])
    try:
        assert _get(listener, "/v1/models")[0] == 503
        group.targets[("10.0.0.1", 4000)] = Target("10.0.0.1", 4000, free_port(), state="healthy")
        assert _get(listener, "/v1/models")[0] == 502
    finally:
        listener.close()


def test_listener__a_query_string_condition_matches_its_key_and_value_case_insensitively_with_wildcards():
    refused = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "400", "MessageBody": "use a header"}}
    condition = {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "key", "Value": "*"}]}}
    listener = _listener(_group(), [elb_listeners.Rule(1, [condition], [refused])])
    try:
        assert _get(listener, "/v1beta/models/m:generateContent?key=sk-abc") == (400, b"use a header")
        assert _get(listener, "/v1/x?alt=sse&KEY=") == (400, b"use a header")  # keys compare case-insensitively
        assert _get(listener, "/v1/x?keys=1")[0] == 404 and _get(listener, "/v1/x")[0] == 404
    finally:
        listener.close()


def test_listener__a_source_ip_condition_matches_the_connecting_address_against_its_cidr_blocks():
    refused = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403", "MessageBody": "not from here"}}
    admins = {"Field": "source-ip", "SourceIpConfig": {"Values": ["192.0.2.0/24"]}}
    ui = {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/ui*"]}}
    # the connection comes from 127.0.0.1: outside 192.0.2.0/24, so only the second rule matches
    listener = _listener(_group(), [elb_listeners.Rule(2, [ui, admins], []), elb_listeners.Rule(3, [ui], [refused])])
    try:
        assert _get(listener, "/ui/") == (403, b"not from here")
        assert _get(listener, "/v1/models")[0] == 404
    finally:
        listener.close()
    loopback = {"Field": "source-ip", "SourceIpConfig": {"Values": ["127.0.0.0/8"]}}
    listener = _listener(_group(), [elb_listeners.Rule(2, [ui, loopback], [refused])])
    try:
        assert _get(listener, "/ui/") == (403, b"not from here")  # from inside the block: the rule applies
    finally:
        listener.close()


def test_listener__a_condition_it_does_not_evaluate_answers_500_naming_it():
    rule = elb_listeners.Rule(1, [{"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example"]}}], [])
    listener = _listener(_group(), [rule])
    try:
        status, body = _get(listener, "/")
        assert status == 500 and b"host-header" in body
    finally:
        listener.close()


# ---- ECS's rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("desired", "threshold"), [(1, 3), (2, 3), (10, 5), (1000, 200)])
def test_circuit_breaker__threshold_is_half_the_desired_count_between_3_and_200(desired, threshold):
    assert ecs_scheduler._threshold(desired) == threshold


def test_task__its_container_port_reads_as_its_own_port_in_the_command_and_the_health_check():
    argv = ["/app/gateway/entrypoint.sh", "--port", "4000", "--config", "/app/gateway/config.yaml"]
    check = "urlopen('http://127.0.0.1:4000/health/liveliness') or curl localhost:4000/ or :40001"
    assert ecs_tasks._rebind_port_arguments(argv, 4000, 5123)[1:3] == ["--port", "5123"]
    assert ecs_tasks._rebind_addresses(check, 4000, 5123) == (
        "urlopen('http://127.0.0.1:5123/health/liveliness') or curl 127.0.0.1:5123/ or :40001"
    )


@pytest.mark.parametrize("raw", ["0", "-1", "2", "fast"])
def test_clock__a_time_scale_outside_0_to_1_is_an_error_naming_it(monkeypatch, raw):
    monkeypatch.setenv("LLMGW_TIME_SCALE", raw)
    with pytest.raises(ValueError, match=f"LLMGW_TIME_SCALE={raw!r}"):
        clock.scale()


def test_listener_ports__a_malformed_item_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("LLMGW_LISTENER_PORTS", "80=4000,443")
    with pytest.raises(ValueError, match="'443'"):
        elb_listeners.listener_ports()
