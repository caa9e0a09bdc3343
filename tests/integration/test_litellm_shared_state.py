"""Two LiteLLM proxies with the repository's config share cooldowns through one TLS Redis, and not without it.

The behaviour: image/config.yaml cools a deployment down for 30 s once it fails more
than 3 times in a minute (``allowed_fails``, ``cooldown_time``). A task that has seen a
provider fail should spare every other task the same failures. LiteLLM keeps cooldowns in
the router's cache, which is the shared Redis when REDIS_* name one (prod's tasks), and
each process's memory otherwise. https://docs.litellm.ai/docs/proxy/redis_requirements

The model group ``probe`` (added to a copy of the config; nothing else changes) has two
deployments: one whose provider answers 500 to everything, counting the calls, and the fake
upstream. Proxy A meets the failing one until it cools it down; then proxy B serves the
same number of requests. Bounded load, loopback only: 2 x 20 requests, one at a time.

LiteLLM records a cooldown after the failed call has answered: the router's failure callback
is a sync callback, which LiteLLM submits to a thread pool for an async request
(``Logging.dispatch_failure_handlers``). So the write lands some time after A's failures,
later on a busy machine, and a task reads Redis for a key it lacks at most once a second
(``DEFAULT_COOLDOWN_REDIS_READ_INTERVAL_SECONDS``). With the cache, B therefore starts once
the cooldown is in Redis: what is proved is that a recorded cooldown spares the other task,
not how fast the thread pool runs.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from llmgw.net import free_port
from llmgw_common.gateway_secrets import new_master_key
from tests.integration import gateway
from tests.support import missing
from tools import fake_upstream, local_redis
from tools.local_redis import LocalRedis
from tools.render import ROOT

REQUESTS = 20
RECORDED_WITHIN = 30  # seconds for A's cooldown to reach the cache; it takes well under one when idle
BODY = json.dumps({"model": "probe", "messages": [{"role": "user", "content": "Hello"}]}).encode()
CONFIG = yaml.safe_load((ROOT / "image" / "config.yaml").read_text())
ALLOWED_FAILS = CONFIG["router_settings"]["allowed_fails"]


class FailingProvider:
    """An OpenAI-compatible provider that answers every completion with a 500, counting them."""

    def __init__(self) -> None:
        self.calls = 0
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                provider.calls += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = b'{"error": {"message": "overloaded", "type": "server_error"}}'
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def redis_server():
    try:
        server = local_redis.start()
    except local_redis.LocalRedisError as err:
        missing(str(err))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    """The repository's config with the probe group; the auth hook beside it, as in the image."""
    directory = tmp_path_factory.mktemp("shared-state")
    upstream = fake_upstream.Upstream().start()
    failing = FailingProvider()
    probe = [
        {"model_name": "probe", "litellm_params": {"model": "openai/probe", "api_key": "fake", "api_base": base}}
        for base in (failing.url, upstream.url)
    ]
    (directory / "config.yaml").write_text(yaml.safe_dump({**CONFIG, "model_list": CONFIG["model_list"] + probe}))
    shutil.copy(ROOT / "image" / "gateway_auth.py", directory)
    yield directory, failing
    failing.stop()
    upstream.stop()


def _cooldowns(cache: LocalRedis) -> list[str]:
    return cache.command("KEYS", "*:cooldown").split()


def _wait_for_a_cooldown(cache: LocalRedis, directory: Path, seen_by_a: int) -> float:
    """Seconds from A's last answer until its cooldown was in the cache."""
    start = time.monotonic()
    deadline = start + RECORDED_WITHIN
    while not _cooldowns(cache):
        if time.monotonic() > deadline:
            pytest.fail(
                f"proxy A met the failing deployment {seen_by_a} times but wrote no cooldown to the cache in "
                f"{RECORDED_WITHIN} s; the proxies logged:\n{_logged_errors(directory)}"
            )
        time.sleep(0.1)
    return time.monotonic() - start


def _logged_errors(directory: Path) -> str:
    """The proxies' error lines (LITELLM_LOG=ERROR keeps little else), the newest 20."""
    lines = [
        f"{log.stem}: {line}"
        for log in sorted(directory.glob("proxy-*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if "error" in line.lower() or "exception" in line.lower()
    ]
    return "\n".join(lines[-20:]) or "(nothing)"


def _run(config, extra_env: dict[str, str], cache: LocalRedis | None = None) -> tuple[int, int, list[int]]:
    """(failing-provider calls while A served, while B served, B's statuses).

    With ``cache``, B serves only once A's cooldown is in it (see the module's docstring).
    """
    directory, failing = config
    key = new_master_key()
    env = {"LITELLM_MASTER_KEY": key, "LITELLM_SALT_KEY": "s" * 64, "OPENAI_API_KEY": "fake",
           "LITELLM_LOG": "ERROR", "LITELLM_LOCAL_MODEL_COST_MAP": "True", **extra_env}  # fmt: skip

    def start(name: str) -> gateway.Proxy:
        return gateway.start(env, directory / f"proxy-{name}.log", config=directory / "config.yaml")

    with ThreadPoolExecutor(2) as pool:
        proxies = list(pool.map(start, "ab"))
    try:
        a, b = proxies
        before = failing.calls
        for _ in range(REQUESTS):
            a.status("/v1/chat/completions", key, BODY)
        seen_by_a = failing.calls - before
        if cache is not None:
            waited = _wait_for_a_cooldown(cache, directory, seen_by_a)
            print(f"\nA's cooldown was in the cache {waited:.1f} s after A's last answer", end="")
        before = failing.calls
        statuses = [b.status("/v1/chat/completions", key, BODY) for _ in range(REQUESTS)]
        return seen_by_a, failing.calls - before, statuses
    finally:
        for proxy in proxies:
            proxy.stop()


def test_cooldown__with_the_cache__a_deployment_one_proxy_cooled_down_is_spared_by_the_other(config, redis_server):
    redis_server.command("FLUSHALL")
    seen_by_a, seen_by_b, statuses = _run(config, redis_server.environment(), cache=redis_server)
    assert seen_by_a > ALLOWED_FAILS, f"proxy A met the failing deployment {seen_by_a} times: it never cooled down"
    assert seen_by_b == 0, (
        f"proxy B called the deployment proxy A had cooled down {seen_by_b} times; cooldowns in the cache: "
        f"{_cooldowns(redis_server)}; the proxies logged:\n{_logged_errors(config[0])}"
    )
    assert statuses == [200] * REQUESTS
    print(f"\nwith the cache: failing provider called {seen_by_a} times via A, {seen_by_b} via B")


def test_cooldown__without_the_cache__every_proxy_meets_the_failing_deployment_itself(config):
    seen_by_a, seen_by_b, _ = _run(config, {})
    assert seen_by_a > ALLOWED_FAILS
    # B learns nothing from A: it fails on the deployment as A did before cooling it down.
    assert seen_by_b > ALLOWED_FAILS, f"proxy B called the failing deployment only {seen_by_b} times"
    print(f"\nwithout the cache: failing provider called {seen_by_a} times via A, {seen_by_b} via B")


WAIT = [str(ROOT / ".venv-gateway" / "bin" / "python"), str(ROOT / "image" / "wait_for_redis.py")]


def _wait(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    gateway.require(WAIT[0], "run `make gateway-venv`")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
    return subprocess.run(WAIT, env={**clean, **env}, capture_output=True, text=True, timeout=60)


def test_entrypoint_wait__passes_once_the_cache_answers_with_the_token(redis_server):
    result = _wait(redis_server.environment())
    assert (result.returncode, result.stderr) == (0, "")


def test_entrypoint_wait__refuses_a_wrong_token_in_one_line_that_never_shows_it(redis_server):
    result = _wait({**redis_server.environment(), "REDIS_PASSWORD": "wrong-token-0123456789"})
    assert result.returncode == 69
    assert result.stderr.count("\n") == 1 and "refused REDIS_PASSWORD" in result.stderr
    assert "wrong-token-0123456789" not in result.stderr


def test_entrypoint_wait__refuses_a_cache_that_does_not_answer(redis_server):
    env = {**redis_server.environment(), "REDIS_PORT": str(free_port()), "REDIS_WAIT_SECONDS": "1"}
    result = _wait(env)
    assert result.returncode == 69
    assert "did not answer in 1 s" in result.stderr and redis_server.password not in result.stderr


def test_entrypoint_wait__does_nothing_without_a_cache():
    assert _wait({}).returncode == 0


def test_config_copy__differs_from_the_repositorys_only_by_the_probe_group(config):
    directory, _ = config
    copy = yaml.safe_load((directory / "config.yaml").read_text())
    assert {**copy, "model_list": copy["model_list"][: len(CONFIG["model_list"])]} == CONFIG
    assert Path(directory / "gateway_auth.py").read_bytes() == (ROOT / "image" / "gateway_auth.py").read_bytes()
