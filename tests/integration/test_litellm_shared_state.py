"""Two LiteLLM proxies with the repository's config share cooldowns through one TLS Redis, and not without it.

The behaviour: a deployment cools down for ``cooldown_time`` (30 s in image/config.yaml) once
more than half of 5 or more calls to it in a minute failed. That is LiteLLM's own rule, since
the config sets no ``allowed_fails``; each worker process counts its own calls
(``DEFAULT_FAILURE_THRESHOLD_PERCENT`` and ``_MINIMUM_REQUESTS`` in LiteLLM's constants.py).
A task that has cooled a deployment down should spare every other task the same failures.
LiteLLM keeps cooldowns in the router's cache, which is the shared Redis when REDIS_* name one
(prod's tasks), and each process's memory otherwise. https://docs.litellm.ai/docs/proxy/redis_requirements

The model group ``probe`` (added to a copy of the config; nothing else changes) has two
deployments: one whose provider answers 500 to everything, counting the calls, and the fake
upstream. Proxy A meets the failing one until it cools it down; then proxy B serves the
same number of requests. Bounded load, loopback only: 2 x 20 requests, one at a time.

The failing deployment's own ``cooldown_time`` (600 s, read before the router's) keeps its
cooldown alive however slowly a loaded machine serves the 40 requests. A writes the cooldown
to Redis before it answers the request that failed; B still starts only once the key is there,
so that a failed write fails the test as itself. The proxies log at WARNING, where LiteLLM
reports its Redis circuit breaker opening; a failure quotes those lines.
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
from dataclasses import dataclass
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
RECORDED_WITHIN = 30  # seconds for A's cooldown to reach the cache; it is there when A answers
PROBE_COOLDOWN = 600  # seconds, the failing deployment's cooldown_time
BODY = json.dumps({"model": "probe", "messages": [{"role": "user", "content": "Hello"}]}).encode()
CONFIG = yaml.safe_load((ROOT / "image" / "config.yaml").read_text())
# LiteLLM's DEFAULT_FAILURE_THRESHOLD_MINIMUM_REQUESTS: a process cools a deployment down at
# its 5th call in a minute at the earliest, all of them failed.
FAILS_BEFORE_A_COOLDOWN = 5


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
    probe[0]["model_info"] = {"cooldown_time": PROBE_COOLDOWN}
    (directory / "config.yaml").write_text(yaml.safe_dump({**CONFIG, "model_list": CONFIG["model_list"] + probe}))
    shutil.copy(ROOT / "image" / "gateway_auth.py", directory)
    yield directory, failing
    failing.stop()
    upstream.stop()


def _cooldowns(cache: LocalRedis) -> dict[str, str]:
    """{cooldown key: its TTL in seconds}."""
    return {key: cache.command("TTL", key) for key in cache.command("KEYS", "*:cooldown").split()}


def _logged(directory: Path) -> str:
    """The proxies' warnings and errors, the newest 20."""
    words = ("warning", "error", "exception", "circuit breaker")
    lines = [
        f"{log.stem}: {line}"
        for log in sorted(directory.glob("proxy-*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if any(word in line.lower() for word in words)
    ]
    return "\n".join(lines[-20:]) or "(nothing)"


@dataclass
class Run:
    seen_by_a: int  # failing-provider calls while A served
    seen_by_b: int  # ... while B served
    statuses: list[int]  # B's
    timings: str  # how long each phase took, for a failure's message


def _wait_for_a_cooldown(cache: LocalRedis, directory: Path, seen_by_a: int) -> float:
    start = time.monotonic()
    while not _cooldowns(cache):
        if time.monotonic() > start + RECORDED_WITHIN:
            pytest.fail(
                f"proxy A met the failing deployment {seen_by_a} times but no cooldown reached the cache in "
                f"{RECORDED_WITHIN} s; the proxies logged:\n{_logged(directory)}"
            )
        time.sleep(0.1)
    return time.monotonic() - start


def _run(config, extra_env: dict[str, str], cache: LocalRedis | None = None) -> Run:
    """A serves, then B; with ``cache``, B only once A's cooldown is in it."""
    directory, failing = config
    key = new_master_key()
    env = {"LITELLM_MASTER_KEY": key, "LITELLM_SALT_KEY": "s" * 64, "OPENAI_API_KEY": "fake",
           "LITELLM_LOG": "WARNING", "LITELLM_LOCAL_MODEL_COST_MAP": "True", **extra_env}  # fmt: skip

    def start(name: str) -> gateway.Proxy:
        return gateway.start(env, directory / f"proxy-{name}.log", config=directory / "config.yaml")

    with ThreadPoolExecutor(2) as pool:
        proxies = list(pool.map(start, "ab"))
    try:
        a, b = proxies
        before, started = failing.calls, time.monotonic()
        for _ in range(REQUESTS):
            a.status("/v1/chat/completions", key, BODY)
        seen_by_a, a_took = failing.calls - before, time.monotonic() - started
        waited = _wait_for_a_cooldown(cache, directory, seen_by_a) if cache is not None else 0.0
        before, started = failing.calls, time.monotonic()
        statuses = [b.status("/v1/chat/completions", key, BODY) for _ in range(REQUESTS)]
        timings = f"A served in {a_took:.1f} s, its cooldown was in the cache {waited:.1f} s later, " \
                  f"B served in {time.monotonic() - started:.1f} s"  # fmt: skip
        return Run(seen_by_a, failing.calls - before, statuses, timings)
    finally:
        for proxy in proxies:
            proxy.stop()


def test_cooldown__with_the_cache__a_deployment_one_proxy_cooled_down_is_spared_by_the_other(config, redis_server):
    redis_server.command("FLUSHALL")
    run = _run(config, redis_server.environment(), cache=redis_server)
    assert run.seen_by_a >= FAILS_BEFORE_A_COOLDOWN, f"proxy A met the failing deployment {run.seen_by_a} times"
    assert run.seen_by_b == 0, (
        f"proxy B called the deployment proxy A had cooled down {run.seen_by_b} times; {run.timings}; "
        f"cooldowns in the cache (key: TTL): {_cooldowns(redis_server)}; the proxies logged:\n{_logged(config[0])}"
    )
    assert run.statuses == [200] * REQUESTS
    # The probe's own cooldown_time is the one in force, so the router's 30 s could not run out mid-test.
    ttls = [int(ttl) for ttl in _cooldowns(redis_server).values()]
    assert ttls and all(CONFIG["router_settings"]["cooldown_time"] < ttl <= PROBE_COOLDOWN for ttl in ttls), ttls
    print(f"\nwith the cache: failing provider called {run.seen_by_a} times via A, 0 via B; {run.timings}")


def test_cooldown__without_the_cache__every_proxy_meets_the_failing_deployment_itself(config):
    run = _run(config, {})
    assert run.seen_by_a >= FAILS_BEFORE_A_COOLDOWN
    # B learns nothing from A: it fails on the deployment as A did before cooling it down.
    assert run.seen_by_b >= FAILS_BEFORE_A_COOLDOWN, f"proxy B called the failing deployment only {run.seen_by_b} times"
    print(f"\nwithout the cache: failing provider called {run.seen_by_a} times via A, {run.seen_by_b} via B")


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
