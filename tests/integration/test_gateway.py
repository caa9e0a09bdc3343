"""The real LiteLLM proxy with the project's config and auth hook, in front of a fake upstream."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from llmgw_common.gateway_secrets import new_master_key
from tests.integration import gateway
from tools import fake_upstream

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def upstream():
    server = fake_upstream.Upstream().start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def proxy(upstream, tmp_path_factory):
    key = new_master_key()
    env = {
        "LITELLM_MASTER_KEY": key,
        "LITELLM_SALT_KEY": "s" * 64,
        "OPENAI_API_KEY": "fake-provider-key",
        "OPENAI_API_BASE": upstream,
        "LITELLM_LOG": "ERROR",
    }
    running = gateway.start(env, tmp_path_factory.mktemp("gateway") / "proxy.log")
    running.key = key
    yield running
    running.stop()


def call(proxy, path: str, key: str | None, body: dict | None = None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(proxy.url + path, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers.get("Content-Type", "")


def ask(model: str = "gpt-4o-mini", stream: bool = False) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}


def test_liveliness__answers_200_without_a_key(proxy):
    status, _, _ = call(proxy, "/health/liveliness", None)
    assert status == 200


def test_chat_completion__with_the_master_key__answers_from_the_upstream(proxy):
    status, body, _ = call(proxy, CHAT, proxy.key, ask())
    assert status == 200
    assert json.loads(body)["choices"][0]["message"]["content"] == fake_upstream.REPLY


def test_chat_completion__streaming__arrives_as_server_sent_events(proxy):
    status, body, content_type = call(proxy, CHAT, proxy.key, ask(stream=True))
    assert status == 200 and content_type.startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in body.decode().splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert text == fake_upstream.REPLY


@pytest.mark.parametrize(
    "key", [None, "", "sk-wrong", new_master_key(), "not-even-sk"], ids=["none", "empty", "short", "random", "other"]
)
def test_chat_completion__missing_or_wrong_key__is_401_not_500(proxy, key):
    status, body, _ = call(proxy, CHAT, key, ask())
    assert status == 401, body


def test_chat_completion__unknown_model__is_a_4xx_naming_it(proxy):
    status, body, _ = call(proxy, CHAT, proxy.key, ask(model="no-such-model"))
    assert 400 <= status < 500
    assert "no-such-model" in body.decode()
