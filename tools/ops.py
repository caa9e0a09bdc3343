"""Operations the pipelines run beside `sceptre launch` and `sceptre delete`.

    python -m tools.ops prerequisites dev/litellm.yaml   dependency stacks healthy (--wait: out any update)
    python -m tools.ops push-image dev                   run the image hook of dev/litellm.yaml alone
    python -m tools.ops redeploy dev                     start new gateway tasks, wait until stable
    python -m tools.ops unprotect prod/alb.yaml          lift termination and deletion protection (teardown)
    python -m tools.ops protect prod/alb.yaml            put them back (a teardown that did not finish)
    python -m tools.ops smoke dev                        smoke checks and a short load test
    python -m tools.ops replacement-guard prod/database.yaml   refuse a launch that replaces live stateful resources

Every command uses Sceptre's own config and connection (profile, region,
role), so it acts on exactly what `sceptre launch` would. Secrets are read,
never printed. Failures end in one line and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import ssl
import statistics
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HEALTHY = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE")
# States in which `sceptre launch` deletes the stack and creates it again (Sceptre's launch command).
RECREATED = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS")


class OpsError(Exception):
    """An expected failure, reported in one line."""


def _stacks(command_path: str, variables: dict[str, str]) -> dict[str, Any]:
    """Sceptre's Stack objects for the project, by path (``dev/network``)."""
    from llmgw.config_vars import reading_stacks_only
    from tools.render import _plan

    # No command here sends parameters, so launch-time --vars are not needed: the plan reads the
    # configs when it is built, and again below.
    with reading_stacks_only():
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
    from llmgw.stacks import stack_outputs

    return stack_outputs(stack.connection_manager, stack.external_name)


AGENT_RULE = "tools.ops: the smoke test's agent, for the test's length"


def agent_cidr() -> str:
    """This machine's public address as AWS sees it (checkip.amazonaws.com), as a /32; AGENT_CIDR overrides."""
    import ipaddress

    given = os.environ.get("AGENT_CIDR", "").strip()
    if given:
        return given
    try:
        with urllib.request.urlopen("https://checkip.amazonaws.com", timeout=10) as answer:
            address = answer.read().decode().strip()
    except OSError as err:
        raise OpsError(f"cannot learn this agent's public address to let it reach the load balancer: {err}; "
                       "set AGENT_CIDR") from None  # fmt: skip
    return f"{ipaddress.IPv4Address(address)}/32"


def open_to_agent(
    ec2: Callable[..., Any], group: str, cidr: str, description: str = AGENT_RULE
) -> list[dict[str, Any]]:
    """Let ``cidr`` reach the load balancer's group on 80 and 443; return the permissions this added.

    A permission the group already holds is not added, so closing removes only what this opened.
    """
    added = []
    for port in (80, 443):
        permission = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                      "IpRanges": [{"CidrIp": cidr, "Description": description}]}  # fmt: skip
        try:
            ec2("authorize_security_group_ingress", {"GroupId": group, "IpPermissions": [permission]})
        except Exception as err:  # botocore's ClientError, named by its code
            if getattr(err, "response", {}).get("Error", {}).get("Code") != "InvalidPermission.Duplicate":
                raise
            continue
        added.append(permission)
    return added


def close_to_agent(ec2: Callable[..., Any], group: str, added: list[dict[str, Any]]) -> None:
    if added:
        ec2("revoke_security_group_ingress", {"GroupId": group, "IpPermissions": added})


def _dependencies(stacks: dict[str, Any], name: str) -> list[Any]:
    """The stacks ``name`` depends on, directly or not."""
    seen: dict[str, Any] = {}
    queue = list(stacks[name].dependencies)
    while queue:
        dependency = queue.pop()
        dependency = stacks[dependency if isinstance(dependency, str) else dependency.name]
        if dependency.name not in seen:
            seen[dependency.name] = dependency
            queue.extend(dependency.dependencies)
    return sorted(seen.values(), key=lambda s: s.name)


def _wait_while_busy(stacks: list[Any], minutes: int, poll: float) -> None:
    """Wait while any of ``stacks`` is mid-operation (another run's update), up to ``minutes``."""
    deadline = time.monotonic() + minutes * 60
    while True:
        busy = {s.name: status for s in stacks if (status := _status(s)) and status.endswith("_IN_PROGRESS")}
        if not busy:
            return
        if time.monotonic() > deadline:
            raise OpsError(f"still busy after {minutes} minutes: " + ", ".join(f"{n} {st}" for n, st in busy.items()))
        print("waiting for " + ", ".join(f"{n} ({st})" for n, st in sorted(busy.items())))
        time.sleep(poll)


def prerequisites(
    path: str, variables: dict[str, str], wait: bool = False, poll: float = 15, deployed: bool = False
) -> None:
    """Fail if a dependency of ``path`` is unhealthy; report the ones a launch creates first.

    With ``wait``, a stack (``path`` or a dependency) that another run is updating is waited
    out, up to 30 minutes, instead of failing as ``ROLLBACK_IN_PROGRESS`` or colliding with it.
    With ``deployed``, a missing dependency fails too: for a pipeline that launches only ``path``.
    """
    stacks = _stacks(path, variables)
    name = path.removesuffix(".yaml")
    if name not in stacks:
        raise OpsError(f"no stack {path}; expected one of {', '.join(sorted(stacks))}")
    dependencies = _dependencies(stacks, name)
    if wait:
        _wait_while_busy([stacks[name], *dependencies], minutes=30, poll=poll)
    for dependency in dependencies:
        status = _status(dependency)
        if status is None and deployed:
            raise OpsError(
                f"{dependency.name} does not exist: deploy it first (its stack pipeline, or the litellm one)"
            )
        if status is None:
            print(f"prerequisites: {dependency.name} does not exist yet; it is launched before {path}")
        elif status not in HEALTHY:
            raise OpsError(f"{dependency.name} is {status}; fix or delete it before launching {path}")
        else:
            print(f"prerequisites: {dependency.name} is {status}")
    print(f"prerequisites: {path} can launch")


def replacement_guard(path: str, variables: dict[str, str], allow: list[str]) -> None:
    """Refuse to go on if launching ``path`` would replace or delete a stateful resource of the live stack.

    The pipelines run it before each launch: on a push to main the git base is main itself, so
    only the deployed template tells what a launch changes.
    """
    from tools.replacement_guard import deployed_replacements

    stacks = _stacks(path, variables)
    name = path.removesuffix(".yaml")
    if name not in stacks:
        raise OpsError(f"no stack {path}; expected one of {', '.join(sorted(stacks))}")
    stack = stacks[name]
    status = _status(stack)
    if status is None:
        print(f"replacement guard: {path} is not deployed yet; a launch creates it and replaces nothing")
        return
    if status in RECREATED:
        # sceptre launch deletes a stack in these states and creates it anew: nothing in it to keep.
        print(f"replacement guard: {path} is {status}; the launch recreates it, so there is nothing to compare")
        return
    allow = [*allow, *os.environ.get("ALLOW_REPLACEMENT", "").split()]
    body = stack.connection_manager.call(
        service="cloudformation",
        command="get_template",
        kwargs={"StackName": stack.external_name, "TemplateStage": "Original"},
    )["TemplateBody"]
    described = stack.connection_manager.call(
        service="cloudformation", command="describe_stacks", kwargs={"StackName": stack.external_name}
    )["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in described.get("Parameters", [])}
    compared, found = deployed_replacements(name, body, parameters, variables, allow=allow)
    for replacement in found:
        print(f"replacement guard: {replacement}", file=sys.stderr)
    if found:
        raise OpsError(
            f"launching {path} would replace or delete {len(found)} stateful resource(s) of the live stack; "
            "if that is intended, name each with --allow (in a pipeline: the queue-time variable ALLOW_REPLACEMENT)"
        )
    print(f"replacement guard: {compared} stateful resources of {path} compared with the live stack; none replaced")


def push_image(env: str, variables: dict[str, str]) -> None:
    """The litellm stack's !push_image hook, on its own: build and push unless ECR has the tag.

    Only what the image needs is resolved: the security stack's repository and the stack's
    ``ImageTag`` and ``CpuArchitecture``. Reading the stack's parameters would resolve every one
    of them, the network's and load balancer's outputs included, which do not exist yet when a
    first deploy builds the image beside their creation.
    """
    from llmgw.images.build import ImageError
    from llmgw.images.publish import ensure_image

    stacks = _stacks(env, variables)
    stack = stacks[f"{env}/litellm"]
    hooks = [h for h in stack.hooks.get("before_launch", []) if type(h).__name__ == "PushImage"]
    if not hooks:
        raise OpsError(f"{env}/litellm.yaml has no !push_image hook")
    security = stacks[f"{env}/security"]
    if _status(security) is None:
        raise OpsError(f"{env}/security does not exist yet: the image's repository is its; launch it first")
    raw = stack._parameters  # Sceptre's unresolved parameters: resolve two, not all
    tag = raw["ImageTag"].resolve() if hasattr(raw["ImageTag"], "resolve") else str(raw["ImageTag"])
    project = Path(stack.stack_group_config.get("project_path", "."))
    try:
        ensure_image(stack.connection_manager, project / str(hooks[0].argument or "image"),
                     outputs(security)["RepositoryUri"], tag, str(raw.get("CpuArchitecture", "X86_64")),
                     logging.getLogger("image"))  # fmt: skip
    except ImageError as err:
        raise OpsError(f"{env}/litellm: {err}") from None


def redeploy(env: str, variables: dict[str, str], poll: float = 15) -> None:
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
        time.sleep(poll)
    raise OpsError(f"{cluster}/{service} did not become stable in 30 minutes")


def _scope(target: str, stacks: dict[str, Any]) -> list[Any]:
    """What ``sceptre delete <target>`` deletes: the stack and every stack that depends on it,
    or a whole environment; only those that exist, dependants first."""
    name = target.removesuffix(".yaml")
    if "/" not in name:
        chosen = [s for n, s in stacks.items() if n.startswith(f"{name}/")]
    elif name not in stacks:
        raise OpsError(f"no stack {target}; expected one of {', '.join(sorted(stacks))}")
    else:
        chosen = [stacks[name]] + [s for n, s in stacks.items() if name in {d.name for d in _dependencies(stacks, n)}]
    existing = [s for s in chosen if _status(s) is not None]
    return sorted(existing, key=lambda s: -len(_dependencies(stacks, s.name)))


def _protected(stack: Any) -> bool:
    """Whether the stack's config protects it (the !protect_stack hook: prod's stacks)."""
    return any(type(h).__name__ == "ProtectStack" for h in stack.hooks.get("after_launch", []))


_GONE = ("DBInstanceNotFound", "DBInstanceNotFoundFault", "LoadBalancerNotFound")


def _set_protection(stack: Any, on: bool) -> list[str]:
    """Termination protection of ``stack``, and deletion protection of its database or load balancer.

    A database or load balancer the stack's delete already removed is reported as gone, so a
    teardown that failed halfway can be protected again, and run again.
    """
    from botocore.exceptions import ClientError

    state = "on" if on else "off"
    stack.connection_manager.call(
        service="cloudformation",
        command="update_termination_protection",
        kwargs={"StackName": stack.external_name, "EnableTerminationProtection": on},
    )
    done = [f"termination protection {state} for {stack.external_name}"]
    found = outputs(stack)
    calls = []
    if "DBInstanceIdentifier" in found:
        snapshot = "" if on else " (a final snapshot is still taken)"
        calls.append((
            f"database {found['DBInstanceIdentifier']}", snapshot, "rds", "modify_db_instance",
            {"DBInstanceIdentifier": found["DBInstanceIdentifier"], "DeletionProtection": on, "ApplyImmediately": True},
        ))  # fmt: skip
    if "LoadBalancerArn" in found:
        calls.append((
            f"load balancer {found['LoadBalancerArn'].rsplit('/', 2)[-2]}", "", "elbv2",
            "modify_load_balancer_attributes",
            {"LoadBalancerArn": found["LoadBalancerArn"],
             "Attributes": [{"Key": "deletion_protection.enabled", "Value": str(on).lower()}]},
        ))  # fmt: skip
    for label, note, service, command, kwargs in calls:
        try:
            stack.connection_manager.call(service=service, command=command, kwargs=kwargs)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") not in _GONE:
                raise
            done.append(f"{label} is already gone")
            continue
        done.append(f"deletion protection {state} for {label}{note}")
    return done


def unprotect(target: str, variables: dict[str, str]) -> None:
    """Lift the guards that stop ``sceptre delete <target>``: a deliberate teardown only.

    ``target`` is a stack (``prod/alb.yaml``: it and the stacks that depend on it, which the
    delete removes too) or an environment (``prod``: all of it). Only those stacks are touched.
    For each, termination protection goes off, and deletion protection on its database or
    load balancer. The database's ``DeletionPolicy: Snapshot`` (prod) still takes a final
    snapshot, and the retained key, secrets, images and logs stay. If the delete does not
    finish, ``protect`` puts the guards back.
    """
    stacks = _stacks(target.split("/")[0], variables)
    for stack in _scope(target, stacks):
        for line in _set_protection(stack, on=False):
            print(f"unprotect: {line}")


def protect(target: str, variables: dict[str, str], wait_minutes: float = 12, poll: float = 15) -> None:
    """Put back, on whatever of ``target`` still exists, the guards its config gives it.

    For a teardown that failed or was cancelled. A cancel does not stop CloudFormation's delete,
    so a stack still mid-operation is waited out first (up to ``wait_minutes``, within the job's
    cancel timeout); one that is gone by then needs nothing. The stacks a ``!protect_stack`` hook
    protects get termination protection again, and their database or load balancer its deletion
    protection. Everything is tried; what could not be protected fails the run.
    """
    stacks = _stacks(target.split("/")[0], variables)
    scope = [s for s in _scope(target, stacks) if _protected(s)]
    try:
        _wait_while_busy(scope, minutes=wait_minutes, poll=poll)
    except OpsError as err:
        print(f"protect: {err}; protecting what is there")
    failures = []
    for stack in scope:
        if _status(stack) is None:
            print(f"protect: {stack.external_name} is gone; nothing to protect")
            continue
        try:
            for line in _set_protection(stack, on=True):
                print(f"protect: {line}")
        except Exception as err:  # report each stack, then fail once
            failures.append(f"{stack.name}: {str(err).splitlines()[0]}")
    if failures:
        raise OpsError("could not protect " + "; ".join(failures))


def _emulated_url(url: str, load_balancer_arn: str) -> tuple[str, ssl.SSLContext | None]:
    """Where the emulator serves ``url`` (AWS_ENDPOINT_URL set), else ``url`` itself.

    The emulator's load balancers listen on local ports, and their DNS names resolve
    nowhere, so the listener of ``url``'s scheme is asked for by its load balancer; an
    HTTPS one is verified against the emulator's CA, though not by name (it answers on
    127.0.0.1). A stand-in, and said so.
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return url, None
    port = 443 if url.startswith("https://") else 80
    with urllib.request.urlopen(f"{endpoint}/moto-api/llmgw/load-balancers", timeout=10) as response:
        listeners = json.loads(response.read())
    found = [x["LocalUrl"] for x in listeners if x["LoadBalancerArn"] == load_balancer_arn and x["Port"] == port]
    if not found:
        raise OpsError(f"the emulator serves no listener on port {port} of {load_balancer_arn}")
    context = None
    if found[0].startswith("https://"):
        with urllib.request.urlopen(f"{endpoint}/moto-api/llmgw/rds-ca-bundle.pem", timeout=10) as response:
            context = ssl.create_default_context(cadata=response.read().decode())
        context.check_hostname = False
    print(f"smoke: stand-in: the emulator serves {url} at {found[0]}")
    return found[0], context


def _call(
    url: str, key: str | None, body: dict | None = None, context: ssl.SSLContext | None = None
) -> tuple[int, bytes, float]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120, context=context) as response:
            payload, status = response.read(), response.status
    except urllib.error.HTTPError as err:
        payload, status = err.read(), err.code
    return status, payload, (time.perf_counter() - started) * 1000


def _request(
    url: str, key: str | None, body: dict | None = None, context: ssl.SSLContext | None = None
) -> tuple[int, float]:
    status, _, milliseconds = _call(url, key, body, context)
    return status, milliseconds


def _json(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# The alb stack's AdminUiRefused answer: the admin UI and its logins, from outside AdminUiCidr.
ADMIN_UI_REFUSAL = "The admin UI answers only from AdminUiCidr."
UI_REFUSED_HERE = -403  # _ui_login's answer when the load balancer, not LiteLLM, refused the login


def _ui_login(base: str, username: str, password: str, context: ssl.SSLContext | None) -> int:
    """POST /login as the UI's form does; LiteLLM answers 303 to /ui with a ``token`` session cookie.

    ``UI_REFUSED_HERE`` when the load balancer refused it: this machine is outside AdminUiCidr.
    """
    from urllib.parse import urlencode

    request = urllib.request.Request(
        f"{base}/login", data=urlencode({"username": username, "password": password}).encode()
    )
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(request, timeout=30) as response:
            status, headers = response.status, response.headers
    except urllib.error.HTTPError as err:
        status, headers = err.code, err.headers
        if status == 403 and err.read(200).decode(errors="replace").strip() == ADMIN_UI_REFUSAL:
            return UI_REFUSED_HERE
    cookies = headers.get_all("Set-Cookie") or []
    if status == 303 and any(c.startswith("token=") for c in cookies) and "/ui" in headers.get("Location", ""):
        return 303
    return status if status != 303 else 0  # a redirect without the session cookie is no login


def _use_virtual_key(
    base: str, key: str, virtual: str, hashed: str, model: str, context: ssl.SSLContext | None, spend_minutes: float,
    poll: float,
) -> None:  # fmt: skip
    ask = {"model": model, "messages": [{"role": "user", "content": "Reply with the word ok."}], "max_tokens": 5}
    status = _request(f"{base}/v1/chat/completions", virtual, ask, context)[0]
    if status != 200:
        raise OpsError(f"smoke: a completion with the virtual key answered {status}, expected 200")
    print(f"smoke: virtual key completion: {status}")
    deadline = time.monotonic() + spend_minutes * 60
    while True:
        status, payload, _ = _call(f"{base}/key/info?key={hashed}", key, context=context)
        spend = (_json(payload).get("info") or {}).get("spend") or 0
        if status == 200 and float(spend) > 0:
            print(f"smoke: spend recorded: {float(spend):.6f} USD")
            return
        if time.monotonic() > deadline:
            raise OpsError(
                f"smoke: the virtual key's spend is still {spend} after {spend_minutes:g} min (key info "
                f"answered {status}); spend is written every proxy_batch_write_at seconds"
            )
        time.sleep(poll)


def database_checks(
    base: str, key: str, model: str, context: ssl.SSLContext | None, ui: tuple[str, str],
    spend_minutes: float = 3, poll: float = 10,
) -> None:  # fmt: skip
    """What only a gateway with its database can do: readiness, a virtual key's life and spend, the UI login.

    LiteLLM endpoints: GET /health/readiness ({"db": "connected"}), POST /key/generate, GET /key/info
    (by the key's sha256, so the key stays out of URLs and logs), POST /key/delete, POST /login.
    """
    import hashlib
    import secrets

    status, payload, _ = _call(f"{base}/health/readiness", None, context=context)
    database = _json(payload).get("db")
    if status != 200 or database != "connected":
        raise OpsError(f"smoke: readiness answered {status} with db {database!r}, expected 200 and 'connected'")
    print(f"smoke: readiness: {status}, db {database}")
    alias = f"smoke-{int(time.time())}-{secrets.token_hex(3)}"
    request = {"models": [model], "duration": "15m", "key_alias": alias, "metadata": {"created_by": "tools.ops smoke"}}
    status, payload, _ = _call(f"{base}/key/generate", key, request, context)
    virtual = str(_json(payload).get("key", ""))
    if status != 200 or not virtual.startswith("sk-"):
        raise OpsError(f"smoke: key generate answered {status} without a key")
    hashed = hashlib.sha256(virtual.encode()).hexdigest()
    print(f"smoke: key generate: {status} ({alias})")
    try:
        _use_virtual_key(base, key, virtual, hashed, model, context, spend_minutes, poll)
    finally:
        # LiteLLM 1.106's /key/delete answers 200 even when it deleted nothing: /key/info says.
        try:
            deleted, _, _ = _call(f"{base}/key/delete", key, {"keys": [hashed]}, context)
            after, _, _ = _call(f"{base}/key/info?key={hashed}", key, context=context)
        except OSError as err:  # do not hide why the checks above failed
            deleted, after = 0, 0
            print(f"smoke: key delete could not be asked: {err}; delete key alias {alias} by hand")
        print(f"smoke: key delete: {deleted}; key info after it: {after}")
    if deleted != 200 or after not in (400, 404):
        raise OpsError(f"smoke: the smoke test's key {alias} was not deleted (delete {deleted}, info {after})")
    status = _ui_login(base, ui[0], ui[1], context)
    if status == UI_REFUSED_HERE:
        # AdminUiCidr at work: the login cannot be tried from here, and must not be.
        print("smoke: UI login: refused by the load balancer from this address (outside AdminUiCidr)")
        return
    if status != 303:
        raise OpsError(
            f"smoke: UI login answered {status or 'a redirect without a session'}, expected 303 with a token cookie"
        )
    print(f"smoke: UI login: {status}")


def _healthy(url: str, context: ssl.SSLContext | None, minutes: float, poll: float) -> int:
    """Ask ``url`` until it answers 200, for up to ``minutes``: new tasks take a while to register."""
    deadline = time.monotonic() + minutes * 60
    while True:
        try:
            status = _request(url, None, context=context)[0]
        except (urllib.error.URLError, OSError):
            status = 0
        if status == 200 or time.monotonic() > deadline:
            return status
        print(f"smoke: health answered {status or 'nothing'}; asking again in {poll:.0f} s")
        time.sleep(poll)


def smoke(
    env: str, variables: dict[str, str], model: str, requests: int, concurrency: int, health_minutes: float = 5,
    poll: float = 10, let_agent_in: bool = False,
) -> None:  # fmt: skip
    """The deployed environment's gateway, through its load balancer: ``smoke_url`` on its ServiceUrl.

    ``let_agent_in``: where the load balancer answers only ``ClientCidr`` (dev) and this machine is
    outside it (a Microsoft-hosted agent), open its group to this machine's address for the test's
    length, and close it after, whatever the test's outcome.
    """
    import ipaddress

    stacks = _stacks(env, variables)
    network = stacks[f"{env}/network"]
    described = network.connection_manager.call(
        service="cloudformation", command="describe_stacks", kwargs={"StackName": network.external_name}
    )["Stacks"][0]
    clients = {p["ParameterKey"]: p["ParameterValue"] for p in described.get("Parameters", [])}.get("ClientCidr")
    added: list[dict[str, Any]] = []
    group = outputs(network)["AlbSecurityGroupId"]

    def ec2(command: str, kwargs: dict[str, Any]) -> Any:
        return network.connection_manager.call(service="ec2", command=command, kwargs=kwargs)

    if let_agent_in and clients:
        here = agent_cidr()
        if not ipaddress.ip_network(here, strict=False).subnet_of(ipaddress.ip_network(clients, strict=False)):
            added = open_to_agent(ec2, group, here)
            print(f"smoke: {group} answers {here} too, for this test (ClientCidr is {clients})")
    try:
        _smoke_through_the_load_balancer(env, stacks, model, requests, concurrency, health_minutes, poll)
    finally:
        close_to_agent(ec2, group, added)
        if added:
            print(f"smoke: {group} no longer answers {here}")


def _smoke_through_the_load_balancer(
    env: str, stacks: dict[str, Any], model: str, requests: int, concurrency: int, health_minutes: float, poll: float,
) -> None:  # fmt: skip
    alb = outputs(stacks[f"{env}/alb"])
    secret_arn = outputs(stacks[f"{env}/security"])["MasterKeySecretArn"]
    from llmgw.secrets.store import read_json

    security = stacks[f"{env}/security"]
    key = read_json(security.connection_manager, secret_arn)["LITELLM_MASTER_KEY"]
    ui_secret = read_json(security.connection_manager, outputs(security)["UiPasswordSecretArn"])
    smoke_url(alb["ServiceUrl"].rstrip("/"), alb["LoadBalancerArn"], key, model, requests, concurrency,
              health_minutes, poll, ui=(ui_secret["UI_USERNAME"], ui_secret["UI_PASSWORD"]))  # fmt: skip


def smoke_url(
    url: str, load_balancer_arn: str, key: str, model: str, requests: int, concurrency: int,
    health_minutes: float = 5, poll: float = 10, ui: tuple[str, str] | None = None, spend_minutes: float = 3,
) -> None:  # fmt: skip
    """Health, model list, a completion, 401 without a key or with a random one, the database checks, a load test.

    Health is retried while tasks register. The database checks (``database_checks``) need the UI
    credentials; against the emulator, whose LiteLLM runs without a database, they are skipped and
    that is said in one line.
    """
    import secrets

    base, context = _emulated_url(url, load_balancer_arn)
    ask = {"model": model, "messages": [{"role": "user", "content": "Reply with the word ok."}], "max_tokens": 5}
    random_key = "sk-" + secrets.token_urlsafe(24)
    checks: list[tuple[str, Callable[[], int], int]] = [
        ("health", lambda: _healthy(f"{base}/health/liveliness", context, health_minutes, poll), 200),
        ("model list", lambda: _request(f"{base}/v1/models", key, context=context)[0], 200),
        ("completion", lambda: _request(f"{base}/v1/chat/completions", key, ask, context)[0], 200),
        ("no key", lambda: _request(f"{base}/v1/chat/completions", None, ask, context)[0], 401),
        ("random key", lambda: _request(f"{base}/v1/chat/completions", random_key, ask, context)[0], 401),
    ]
    for label, check, expected in checks:
        status = check()
        if status != expected:
            raise OpsError(f"smoke: {label} answered {status}, expected {expected}")
        print(f"smoke: {label}: {status}")
    if os.environ.get("AWS_ENDPOINT_URL"):
        print("smoke: stand-in: the emulator's LiteLLM runs without a database (Prisma's engines cannot be "
              "downloaded here): readiness, virtual key, spend and UI login are not checked")  # fmt: skip
    elif ui is None:
        raise OpsError("smoke: the database checks need the UI credentials (the ui-password secret)")
    else:
        database_checks(base, key, model, context, ui, spend_minutes, poll)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        started = time.monotonic()
        results = list(pool.map(lambda _: _request(f"{base}/v1/chat/completions", key, ask, context), range(requests)))
        seconds = time.monotonic() - started
    failures = sum(1 for status, _ in results if status != 200)
    latencies = sorted(ms for _, ms in results)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    p50, p95 = cuts[49], cuts[94]
    rate = requests / seconds
    print(f"load: {requests} requests, {concurrency} at a time, {rate:.1f} req/s, p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    if failures > requests // 100:
        raise OpsError(f"load: {failures} of {requests} requests failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", action="append", default=[], help="KEY=VALUE, as for sceptre --var")
    commands = parser.add_subparsers(dest="command", required=True)
    prerequisites_parser = commands.add_parser("prerequisites")
    prerequisites_parser.add_argument("stack", help="e.g. dev/litellm.yaml")
    prerequisites_parser.add_argument("--wait", action="store_true", help="wait out stacks that are mid-update")
    prerequisites_parser.add_argument("--deployed", action="store_true", help="fail on a dependency that is missing")
    for name in ("push-image", "redeploy"):
        commands.add_parser(name).add_argument("env", choices=["dev", "prod"])
    for name in ("unprotect", "protect"):
        commands.add_parser(name).add_argument("target", help="an environment (prod) or a stack (prod/alb.yaml)")
    guard_parser = commands.add_parser("replacement-guard")
    guard_parser.add_argument("stack", help="e.g. prod/database.yaml")
    guard_parser.add_argument("--allow", action="append", default=[], help="env/stack/LogicalId allowed to be replaced")
    smoke_parser = commands.add_parser("smoke")
    smoke_parser.add_argument("env", choices=["dev", "prod"])
    smoke_parser.add_argument("--model", default="gpt-4o-mini")
    smoke_parser.add_argument("--requests", type=int, default=100)
    smoke_parser.add_argument("--concurrency", type=int, default=4)
    smoke_parser.add_argument(
        "--let-this-agent-in", action="store_true",
        help="where the load balancer answers only ClientCidr and this machine is outside it, open it to "
        "this machine's address (AGENT_CIDR, or checkip.amazonaws.com) for the test's length",
    )  # fmt: skip
    args = parser.parse_args(argv)
    variables = dict(v.split("=", 1) for v in args.var)
    environment = str(getattr(args, "env", None) or getattr(args, "stack", None) or args.target).split("/")[0]
    from llmgw.pipeline_macros import UnexpandedMacroError, refuse_macro

    try:
        for name, value in variables.items():
            refuse_macro(f"--var {name}", value, environment)
    except UnexpandedMacroError as err:
        print(f"ops: {err}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the hooks report through logging
    logging.getLogger("botocore").setLevel(logging.WARNING)
    try:
        if args.command == "prerequisites":
            prerequisites(args.stack, variables, wait=args.wait, deployed=args.deployed)
        elif args.command == "replacement-guard":
            replacement_guard(args.stack, variables, args.allow)
        elif args.command == "push-image":
            push_image(args.env, variables)
        elif args.command == "redeploy":
            redeploy(args.env, variables)
        elif args.command == "unprotect":
            unprotect(args.target, variables)
        elif args.command == "protect":
            protect(args.target, variables)
        else:
            smoke(args.env, variables, args.model, args.requests, args.concurrency, let_agent_in=args.let_this_agent_in)
    except OpsError as err:
        print(f"ops: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # Sceptre's and botocore's: one line, no traceback
        from botocore.exceptions import BotoCoreError, ClientError
        from sceptre.exceptions import SceptreException

        if not isinstance(err, (SceptreException, ClientError, BotoCoreError)):
            raise
        print(f"ops: {args.command}: {type(err).__name__}: {str(err).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
