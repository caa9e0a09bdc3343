"""``tools.ops smoke``'s client against a double of the LiteLLM endpoints it calls (litellm_endpoints.py).

This tests the client only: that it calls what LiteLLM documents and fails, naming
the check, when an answer is wrong. The gateway itself is tested by a deployed run
(the validate pipeline, taskcat), because a database-backed LiteLLM cannot run here.
"""

from __future__ import annotations

import pytest

from tests.unit.litellm_endpoints import MASTER_KEY, UI, LiteLLMEndpoints
from tools.ops import OpsError, smoke_url


@pytest.fixture
def gateway(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    double = LiteLLMEndpoints()
    yield double
    double.close()


def _smoke(gateway: LiteLLMEndpoints) -> None:
    smoke_url(gateway.url, "arn:aws:elasticloadbalancing:x", MASTER_KEY, "gpt-4o-mini", requests=4, concurrency=2,
              poll=0.05, ui=UI, spend_minutes=0.05)  # fmt: skip


def test_smoke__checks_readiness_a_virtual_keys_life_and_spend_and_the_ui_login(gateway, capsys):
    _smoke(gateway)

    said = capsys.readouterr().out
    for line in ("readiness: 200, db connected", "key generate: 200", "virtual key completion: 200",
                 "spend recorded: 0.000012 USD", "key delete: 200; key info after it: 404", "UI login: 303",
                 "random key: 401"):  # fmt: skip
        assert f"smoke: {line}" in said, said
    assert gateway.state.keys == {}, "the smoke test's key is deleted"
    assert "POST /key/generate" in gateway.state.calls and "POST /login" in gateway.state.calls
    assert MASTER_KEY not in said


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("db-down", "smoke: readiness answered 503 with db 'disconnected', expected 200 and 'connected'"),
        ("no-spend", "smoke: the virtual key's spend is still 0 after 0.05 min"),
        ("login-no-cookie", "smoke: UI login answered a redirect without a session, expected 303 with a token cookie"),
        ("accepts-any-key", "smoke: random key answered 200, expected 401"),
        ("delete-keeps-the-key", "smoke: the smoke test's key smoke-"),
    ],
)
def test_smoke__fails_naming_the_check_when_the_gateway_answers_wrong(gateway, fault, message):
    gateway.state.faults.add(fault)

    with pytest.raises(OpsError) as failure:
        _smoke(gateway)

    assert str(failure.value).startswith(message), failure.value
    if fault != "delete-keeps-the-key":
        assert gateway.state.keys == {}, "a failed smoke test still deletes its key"


def test_smoke__a_login_the_load_balancer_refuses_outside_admin_ui_cidr__passes_saying_so(gateway, capsys):
    gateway.state.faults.add("login-refused-by-the-load-balancer")

    _smoke(gateway)

    said = capsys.readouterr().out
    assert "smoke: UI login: refused by the load balancer from this address (outside AdminUiCidr)" in said


def test_smoke__the_refusal_it_recognises_is_the_one_the_alb_stack_answers(deployed):
    from tools.ops import ADMIN_UI_REFUSAL

    refused = deployed["prod"]["alb"].props("AdminUiRefused")
    assert refused["Actions"][0]["FixedResponseConfig"]["MessageBody"] == ADMIN_UI_REFUSAL


def test_smoke__without_the_ui_credentials_refuses_to_skip_the_database_checks(gateway):
    with pytest.raises(OpsError, match="need the UI credentials"):
        smoke_url(gateway.url, "arn", MASTER_KEY, "gpt-4o-mini", requests=1, concurrency=1, poll=0.05)
