"""Operations the pipelines run beside `sceptre launch` and `sceptre delete`.

    python -m tools.ops prerequisites dev/litellm.yaml   dependency stacks exist and are healthy
    python -m tools.ops push-image dev                   run the image hook of dev/litellm.yaml alone
    python -m tools.ops redeploy dev                     start new gateway tasks, wait until stable
    python -m tools.ops unprotect prod                   lift termination and deletion protection (teardown)
    python -m tools.ops smoke dev                        smoke checks and a short load test

Every command uses Sceptre's own config and connection (profile, region,
role), so it acts on exactly what `sceptre launch` would. Secrets are read,
never printed. Failures end in one line and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

HEALTHY = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE")


class OpsError(Exception):
    """An expected failure, reported in one line."""


def _stacks(command_path: str, variables: dict[str, str]) -> dict[str, Any]:
    """Sceptre's Stack objects for the project, by path (``dev/network``)."""
    from tools.render import _plan

    plan = _plan(command_path.split("/")[0], variables, examples=False)
    all_stacks, _ = plan.config_reader.construct_stacks()
    return {stack.name: stack for stack in all_stacks}


def _status(stack: Any) -> str | None:
    from botocore.exceptions import ClientError

    try:
        response = stack.connection_manager.call(
            service="cloudformation", command="describe_stacks", kwargs={"StackName": stack.external_name}
        )
    except ClientError as err:
        if "does not exist" in str(err):
            return None
        raise
    return response["Stacks"][0]["StackStatus"]


def outputs(stack: Any) -> dict[str, str]:
    response = stack.connection_manager.call(
        service="cloudformation", command="describe_stacks", kwargs={"StackName": stack.external_name}
    )
    return {o["OutputKey"]: o["OutputValue"] for o in response["Stacks"][0].get("Outputs", [])}


def prerequisites(path: str, variables: dict[str, str]) -> None:
    """Fail if a dependency of ``path`` is unhealthy; report the ones Sceptre will launch first."""
    stacks = _stacks(path, variables)
    name = path.removesuffix(".yaml")
    if name not in stacks:
        raise OpsError(f"no stack {path}; expected one of {', '.join(sorted(stacks))}")
    seen, queue = set(), list(stacks[name].dependencies)
    while queue:
        dependency = queue.pop()
        dependency = stacks[dependency if isinstance(dependency, str) else dependency.name]
        if dependency.name in seen:
            continue
        seen.add(dependency.name)
        queue.extend(dependency.dependencies)
        status = _status(dependency)
        if status is None:
            print(f"prerequisites: {dependency.name} does not exist yet; sceptre launch {path} creates it first")
        elif status not in HEALTHY:
            raise OpsError(f"{dependency.name} is {status}; fix or delete it before launching {path}")
        else:
            print(f"prerequisites: {dependency.name} is {status}")
    print(f"prerequisites: {path} can launch")


def push_image(env: str, variables: dict[str, str]) -> None:
    """Run the litellm stack's !push_image hook on its own: build and push unless ECR has the tag."""
    stack = _stacks(env, variables)[f"{env}/litellm"]
    hooks = [h for h in stack.hooks.get("before_launch", []) if type(h).__name__ == "PushImage"]
    if not hooks:
        raise OpsError(f"{env}/litellm.yaml has no !push_image hook")
    hooks[0].run()


def redeploy(env: str, variables: dict[str, str]) -> None:
    """Force a new deployment of the gateway service and wait until it is stable."""
    stack = _stacks(env, variables)[f"{env}/litellm"]
    found = outputs(stack)
    cluster, service = found["ClusterName"], found["ServiceName"]
    stack.connection_manager.call(
        service="ecs",
        command="update_service",
        kwargs={"cluster": cluster, "service": service, "forceNewDeployment": True},
    )
    print(f"redeploy: new deployment of {cluster}/{service} started; waiting for it to be stable")
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        response = stack.connection_manager.call(
            service="ecs", command="describe_services", kwargs={"cluster": cluster, "services": [service]}
        )
        deployments = response["services"][0]["deployments"]
        if len(deployments) == 1 and deployments[0]["runningCount"] == deployments[0]["desiredCount"]:
            print(f"redeploy: {cluster}/{service} is stable")
            return
        if any(d.get("rolloutState") == "FAILED" for d in deployments):
            raise OpsError(f"the deployment of {cluster}/{service} failed; the circuit breaker rolled it back")
        time.sleep(15)
    raise OpsError(f"{cluster}/{service} did not become stable in 30 minutes")


def unprotect(env: str, variables: dict[str, str]) -> None:
    """Lift every guard that stops ``sceptre delete <env>``: a deliberate teardown only.

    Turns off termination protection on each stack, and deletion protection on
    the database and the load balancer. The database's ``DeletionPolicy:
    Snapshot`` (prod) still takes a final snapshot when its stack is deleted,
    and the retained key, secrets, images and logs stay. The templates still
    say "protected": relaunch instead of deleting, and the next change that
    touches them turns protection back on.
    """
    stacks = _stacks(env, variables)
    for name, stack in sorted(stacks.items()):
        if name.startswith(f"{env}/") and _status(stack) is not None:
            stack.connection_manager.call(
                service="cloudformation",
                command="update_termination_protection",
                kwargs={"StackName": stack.external_name, "EnableTerminationProtection": False},
            )
            print(f"unprotect: termination protection off for {stack.external_name}")
    database = stacks.get(f"{env}/database")
    if database is not None and _status(database) is not None:
        identifier = outputs(database)["DBInstanceIdentifier"]
        database.connection_manager.call(
            service="rds",
            command="modify_db_instance",
            kwargs={"DBInstanceIdentifier": identifier, "DeletionProtection": False, "ApplyImmediately": True},
        )
        print(f"unprotect: deletion protection off for database {identifier} (a final snapshot is still taken)")
    alb = stacks.get(f"{env}/alb")
    if alb is not None and _status(alb) is not None:
        arn = outputs(alb)["LoadBalancerArn"]
        alb.connection_manager.call(
            service="elbv2",
            command="modify_load_balancer_attributes",
            kwargs={"LoadBalancerArn": arn, "Attributes": [{"Key": "deletion_protection.enabled", "Value": "false"}]},
        )
        print(f"unprotect: deletion protection off for load balancer {arn.rsplit('/', 2)[-2]}")


def _request(url: str, key: str | None, body: dict | None = None) -> tuple[int, float]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
    return status, (time.perf_counter() - started) * 1000


def smoke(env: str, variables: dict[str, str], model: str, requests: int, concurrency: int) -> None:
    """Health, model list, one completion, 401 without a key; then a short, bounded load test."""
    stacks = _stacks(env, variables)
    base = outputs(stacks[f"{env}/alb"])["ServiceUrl"].rstrip("/")
    secret_arn = outputs(stacks[f"{env}/security"])["MasterKeySecretArn"]
    from llmgw_hooks.secret_store import read_json

    key = read_json(stacks[f"{env}/security"].connection_manager, secret_arn)["LITELLM_MASTER_KEY"]
    ask = {"model": model, "messages": [{"role": "user", "content": "Reply with the word ok."}], "max_tokens": 5}
    checks: list[tuple[str, Callable[[], int], int]] = [
        ("health", lambda: _request(f"{base}/health/liveliness", None)[0], 200),
        ("model list", lambda: _request(f"{base}/v1/models", key)[0], 200),
        ("completion", lambda: _request(f"{base}/v1/chat/completions", key, ask)[0], 200),
        ("no key", lambda: _request(f"{base}/v1/chat/completions", None, ask)[0], 401),
    ]
    for label, check, expected in checks:
        status = check()
        if status != expected:
            raise OpsError(f"smoke: {label} answered {status}, expected {expected}")
        print(f"smoke: {label}: {status}")
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        started = time.monotonic()
        results = list(pool.map(lambda _: _request(f"{base}/v1/chat/completions", key, ask), range(requests)))
        seconds = time.monotonic() - started
    failures = sum(1 for status, _ in results if status != 200)
    latencies = sorted(ms for _, ms in results)
    p50, p95 = statistics.quantiles(latencies, n=100)[49], statistics.quantiles(latencies, n=100)[94]
    rate = requests / seconds
    print(f"load: {requests} requests, {concurrency} at a time, {rate:.1f} req/s, p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    if failures > requests // 100:
        raise OpsError(f"load: {failures} of {requests} requests failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", action="append", default=[], help="KEY=VALUE, as for sceptre --var")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prerequisites").add_argument("stack", help="e.g. dev/litellm.yaml")
    for name in ("push-image", "redeploy", "unprotect"):
        commands.add_parser(name).add_argument("env", choices=["dev", "prod"])
    smoke_parser = commands.add_parser("smoke")
    smoke_parser.add_argument("env", choices=["dev", "prod"])
    smoke_parser.add_argument("--model", default="gpt-4o-mini")
    smoke_parser.add_argument("--requests", type=int, default=100)
    smoke_parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    variables = dict(v.split("=", 1) for v in args.var)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the hooks report through logging
    logging.getLogger("botocore").setLevel(logging.WARNING)
    try:
        if args.command == "prerequisites":
            prerequisites(args.stack, variables)
        elif args.command == "push-image":
            push_image(args.env, variables)
        elif args.command == "redeploy":
            redeploy(args.env, variables)
        elif args.command == "unprotect":
            unprotect(args.env, variables)
        else:
            smoke(args.env, variables, args.model, args.requests, args.concurrency)
    except OpsError as err:
        print(f"ops: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
