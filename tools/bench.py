"""`make bench`: how many requests a gateway task serves, with production settings and with the guide's.

A bounded load test on loopback. The fake upstream and the load generator
run on one CPU core, the LiteLLM proxy alone on the other, so "per vCPU"
means what it says. Two runs in the same invocation, so their ratio is fair
on a shared, noisy machine:

- production: this repository's settings (LITELLM_LOG=ERROR, JSON logs, one
  worker per vCPU);
- production+cache: the same, with the shared-state cache prod runs: a local
  Redis that takes only TLS clients with its password (tools/local_redis.py),
  on the load core, as ElastiCache is not on the task's;
- guide: the architecture guide's defaults (LITELLM_LOG=DEBUG, one worker).

Each run: a closed-loop sweep with wrk at rising concurrency, whose best
throughput is the saturation point; then an open-loop run at half that rate,
against the proxy and against the upstream directly, whose difference is the
proxy's overhead. The production run then measures the load balancer's hop:
the emulator's listener proxy (emulator/llmgw_emulator/elb_listeners.py, on
the load core, as the ALB is not on the task's) in front of the same task,
at the saturation concurrency and at half load, against the task directly
in the same run. Results: build/bench/results.{json,md} and latency.png.

Runs in .venv-gateway (LiteLLM, aiohttp, matplotlib); needs wrk and taskset.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llmgw.net import free_port

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench"
LITELLM = ROOT / ".venv-gateway" / "bin" / "litellm"
PROXY_CORE, LOAD_CORE = "1", "0"
CONCURRENCY = (1, 2, 4, 8, 16)
SWEEP_SECONDS = 4
HALF_LOAD_SECONDS = 8
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}
CONFIGS = {
    "production": {"LITELLM_LOG": "ERROR", "NUM_WORKERS": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    "production+cache": {"LITELLM_LOG": "ERROR", "NUM_WORKERS": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    "guide": {"LITELLM_LOG": "DEBUG", "NUM_WORKERS": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
}
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "")
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {{"requests": %d, "seconds": %f, "errors": %d, "p50": %f, "p95": %f, "p99": %f}}\\n',
    summary.requests, summary.duration / 1e6, e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass
class Point:
    concurrency: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int


@dataclass
class Run:
    name: str
    settings: dict[str, str]
    cache: str = "none"
    sweep: list[Point] = field(default_factory=list)
    saturation_rps: float = 0.0
    rps_per_vcpu: float = 0.0
    half_load_rps: float = 0.0
    half_load_p50_ms: float = 0.0
    half_load_p95_ms: float = 0.0
    direct_p50_ms: float = 0.0
    direct_p95_ms: float = 0.0
    overhead_p50_ms: float = 0.0
    overhead_p95_ms: float = 0.0
    alb: dict[str, float] = field(default_factory=dict)


def _wait(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def wrk(url: str, concurrency: int, seconds: int, key: str, script: Path) -> Point:
    result = subprocess.run(
        ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True, text=True, env={**os.environ, "BENCH_KEY": key}, check=True,
    )  # fmt: skip
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    data = json.loads(line.removeprefix("RESULT "))
    return Point(concurrency, data["requests"] / data["seconds"], data["p50"], data["p95"], data["p99"], data["errors"])


async def _open_loop(url: str, rate: float, seconds: float, key: str) -> list[float]:
    """Send requests at a fixed rate whatever the answers' speed; return each latency in ms."""
    import aiohttp

    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def one(session: aiohttp.ClientSession) -> None:
        started = time.perf_counter()
        async with session.post(url, json=BODY, headers=headers) as response:
            await response.read()
            if response.status == 200:
                latencies.append((time.perf_counter() - started) * 1000)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks, start, n = [], time.perf_counter(), 0
        while (now := time.perf_counter() - start) < seconds:
            due = n / rate
            if now < due:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(one(session)))
            n += 1
        await asyncio.gather(*tasks)
    return latencies


def open_loop(url: str, rate: float, seconds: float, key: str) -> tuple[float, float]:
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    latencies = asyncio.run(_open_loop(url, rate, seconds, key))
    quantiles = statistics.quantiles(latencies, n=100)
    return quantiles[49], quantiles[94]


def bench(
    name: str, settings: dict[str, str], upstream: str, key: str, script: Path, cache: dict[str, str] | None = None
) -> Run:
    """One run; ``cache`` is the REDIS_* environment of the shared-state cache (kept out of the results)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "AWS_", "DATABASE_URL", "REDIS_"))}
    env.update(settings, LITELLM_MASTER_KEY=key, LITELLM_SALT_KEY=key, OPENAI_API_KEY="fake", OPENAI_API_BASE=upstream)
    env.update(cache or {})
    command = ["taskset", "-c", PROXY_CORE, str(LITELLM), "--config", str(ROOT / "image" / "config.yaml")]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = (OUT / f"proxy-{name}.log").open("w")
    proxy = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    run = Run(name, settings, "TLS Redis on loopback" if cache else "none")
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/health/liveliness")
        url = f"{base}/v1/chat/completions"
        wrk(url, 4, 2, key, script)  # warm up
        for concurrency in CONCURRENCY:
            point = wrk(url, concurrency, SWEEP_SECONDS, key, script)
            run.sweep.append(point)
            latency = f"p50 {point.p50_ms:6.1f} ms  p95 {point.p95_ms:6.1f} ms"
            print(f"  {name:<10} c={concurrency:<3} {point.rps:7.1f} req/s  {latency}")
        run.saturation_rps = max(p.rps for p in run.sweep)
        run.rps_per_vcpu = run.saturation_rps  # the proxy has exactly one core
        run.half_load_rps = run.saturation_rps / 2
        run.half_load_p50_ms, run.half_load_p95_ms = open_loop(url, run.half_load_rps, HALF_LOAD_SECONDS, key)
        run.direct_p50_ms, run.direct_p95_ms = open_loop(
            upstream + "/chat/completions", run.half_load_rps, HALF_LOAD_SECONDS, key
        )
        run.overhead_p50_ms = run.half_load_p50_ms - run.direct_p50_ms
        run.overhead_p95_ms = run.half_load_p95_ms - run.direct_p95_ms
        if name == "production":
            run.alb = alb_hop(port, run, key, script)
    finally:
        os.killpg(proxy.pid, signal.SIGTERM)
        proxy.wait(timeout=30)
        log.close()
    return run


def alb_hop(task_port: int, run: Run, key: str, script: Path) -> dict[str, float]:
    """The task through the emulator's listener proxy against the task directly, both measured now."""
    sys.path.insert(0, str(ROOT / "emulator"))
    from llmgw_emulator.elb_listeners import Listener, ListenerConfig, Rule
    from llmgw_emulator.elb_targets import TargetGroup

    group = TargetGroup("bench-tg", "bench", "HTTP", "/health/liveliness", 30, 15, 2, 5, "200", 30)
    group.register("10.0.0.1", 4000, task_port)
    forward = [{"Type": "forward", "TargetGroupArn": group.arn}]
    config = ListenerConfig("bench-listener", "bench-lb", "HTTP", 80, 660, forward, [Rule(10, [], forward)])
    listener = Listener(config, {group.arn: group}, 0, None)
    try:
        _wait(f"{listener.url}/health/liveliness")
        concurrency = max(run.sweep, key=lambda p: p.rps).concurrency
        task = f"http://127.0.0.1:{task_port}/v1/chat/completions"
        through = f"{listener.url}/v1/chat/completions"
        direct_point = wrk(task, concurrency, SWEEP_SECONDS, key, script)
        alb_point = wrk(through, concurrency, SWEEP_SECONDS, key, script)
        direct_p50, direct_p95 = open_loop(task, run.half_load_rps, HALF_LOAD_SECONDS, key)
        alb_p50, alb_p95 = open_loop(through, run.half_load_rps, HALF_LOAD_SECONDS, key)
    finally:
        listener.close()
        group.stop()
    hop = {
        "concurrency": concurrency,
        "direct_rps": direct_point.rps,
        "alb_rps": alb_point.rps,
        "rps_ratio": alb_point.rps / direct_point.rps,
        "direct_p50_ms": direct_p50,
        "direct_p95_ms": direct_p95,
        "alb_p50_ms": alb_p50,
        "alb_p95_ms": alb_p95,
        "p95_ratio": alb_p95 / direct_p95,
        "p50_ratio": alb_p50 / direct_p50,
        "errors": alb_point.errors,
    }
    print(
        f"  alb hop    c={concurrency:<3} {alb_point.rps:7.1f} req/s through the listener, "
        f"{direct_point.rps:7.1f} direct "
        f"({hop['rps_ratio']:.2f}x); p95 at half load {alb_p95:.1f} ms vs {direct_p95:.1f} ms ({hop['p95_ratio']:.2f}x)"
    )
    return hop


def chart(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for run in runs:
        rps = [p.rps for p in run.sweep]
        axis.plot(rps, [p.p50_ms for p in run.sweep], marker="o", label=f"{run.name} p50")
        axis.plot(rps, [p.p95_ms for p in run.sweep], marker="^", linestyle="--", label=f"{run.name} p95")
    axis.set_xlabel("throughput at rising offered load (requests/s, one vCPU)")
    axis.set_ylabel("latency (ms)")
    axis.set_yscale("log")
    axis.set_title("LiteLLM gateway: production settings vs the guide's defaults")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def table(runs: list[Run]) -> str:
    lines = [
        "| settings | req/s per vCPU (saturation) | p50 / p95 / p99 at saturation (ms) "
        "| p95 at half load (ms) | p95 overhead vs upstream (ms) |",
        "|---|---|---|---|---|",
    ]
    for run in runs:
        top = max(run.sweep, key=lambda p: p.rps)
        cache = ", cache" if run.cache != "none" else ""
        lines.append(
            f"| {run.name} ({run.settings['LITELLM_LOG']}, {run.settings['NUM_WORKERS']} worker{cache}) "
            f"| {run.rps_per_vcpu:.1f} | {top.p50_ms:.0f} / {top.p95_ms:.0f} / {top.p99_ms:.0f} "
            f"| {run.half_load_p95_ms:.1f} | {run.overhead_p95_ms:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing or not LITELLM.exists():
        print(f"bench: needs {', '.join(missing) or '.venv-gateway (make gateway-venv)'}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    script = OUT / "post.lua"
    script.write_text(WRK_SCRIPT.format(body=json.dumps(BODY)))
    key = "sk-" + secrets.token_hex(24)
    upstream_port = free_port()
    upstream = subprocess.Popen(
        ["taskset", "-c", LOAD_CORE, sys.executable, "-m", "tools.fake_upstream", "--port", str(upstream_port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    from tools import local_redis

    try:
        cache = local_redis.start()
    except local_redis.LocalRedisError as err:
        upstream.terminate()
        print(f"bench: {err}", file=sys.stderr)
        return 2
    os.sched_setaffinity(cache.process.pid, {int(LOAD_CORE)})
    try:
        _wait(f"http://127.0.0.1:{upstream_port}/v1/models", 20)
        upstream_url = f"http://127.0.0.1:{upstream_port}/v1"
        runs, cache_keys = [], 0
        for name, settings in CONFIGS.items():
            runs.append(
                bench(name, settings, upstream_url, key, script, cache.environment() if "cache" in name else None)
            )
            if "cache" in name:  # before the counters' one-minute windows expire
                cache_keys = int(cache.command("DBSIZE"))
    finally:
        upstream.terminate()
        cache.stop()
    production, with_cache, guide = runs
    summary = {
        "cpu_cores": os.cpu_count(),
        "ratio_production_to_guide": production.saturation_rps / guide.saturation_rps,
        # The same settings with the shared-state cache, to without it: throughput and p95 at half load.
        "ratio_cache_to_production": with_cache.saturation_rps / production.saturation_rps,
        "p95_ratio_cache_to_production": with_cache.half_load_p95_ms / production.half_load_p95_ms,
        "cache_keys_after_run": cache_keys,
        "seconds": time.monotonic() - started,
        "runs": [asdict(run) for run in runs],
    }
    (OUT / "results.json").write_text(json.dumps(summary, indent=2))
    hop = production.alb
    markdown = table(runs) + (
        f"\n\nProduction settings serve {summary['ratio_production_to_guide']:.1f}x the guide's defaults "
        f"on the same CPU; measured in {summary['seconds']:.0f} s.\n"
        f"\nWith the shared-state cache (TLS Redis, {summary['cache_keys_after_run']} keys in it after the run), "
        f"production settings serve {summary['ratio_cache_to_production']:.2f}x the throughput without it, at "
        f"{summary['p95_ratio_cache_to_production']:.2f}x the p95 at half load.\n"
        "\n| production task | req/s at c={c} | p50 / p95 at half load (ms) |\n|---|---|---|\n"
        "| direct | {direct_rps:.1f} | {direct_p50_ms:.1f} / {direct_p95_ms:.1f} |\n"
        "| through the local ALB | {alb_rps:.1f} | {alb_p50_ms:.1f} / {alb_p95_ms:.1f} |\n"
        "\nThe local ALB's hop: {rps_ratio:.2f}x the direct throughput; {p50_ratio:.2f}x the direct p50 and "
        "{p95_ratio:.2f}x the direct p95 at half load.\n"
    ).format(c=int(hop["concurrency"]), **hop)
    (OUT / "results.md").write_text(markdown)
    chart(runs, OUT / "latency.png")
    print("\n" + markdown)
    print(f"Results: {OUT.relative_to(ROOT)}/results.json, results.md, latency.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
