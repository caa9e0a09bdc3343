"""Run the real Sceptre configs against the local AWS emulator.

    python -m tools.local up                  start the emulator (once) on 127.0.0.1:$LOCAL_PORT
    python -m tools.local launch dev          sceptre launch -y dev against it, then print a summary
    python -m tools.local summary dev         print the summary again
    python -m tools.local rotate dev master-key   rotate a secret now, as `aws secretsmanager rotate-secret`
    python -m tools.local down                stop the emulator

Every failure this module expects ends in one line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from llmgw.stacks import STACKS, outputs_of

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".local"
PID_FILE = STATE / "emulator.pid"
LOG_FILE = STATE / "emulator.log"
EMULATOR_PYTHON = ROOT / ".venv-emulator" / "bin" / "python"
HOST = "127.0.0.1"
REGION = "us-east-1"
LOCAL_PROVIDER_KEY = "sk-local-stand-in-provider"  # not a secret: the emulator's fake provider takes any key
# dev answers only client_cidr, and prod's admin UI only admin_ui_cidr. The rehearsal's clients are on
# this machine, and its load balancer answers on loopback: launches here pass these unless told otherwise.
LOCAL_CLIENT_CIDR = "127.0.0.1/32"
LOCAL_VARIABLES_BY_ENV = {"dev": {"client_cidr": LOCAL_CLIENT_CIDR}, "prod": {"admin_ui_cidr": LOCAL_CLIENT_CIDR}}


def local_variables(args: list[str] | tuple[str, ...]) -> list[str]:
    """The ``--var`` flags the rehearsal adds to a Sceptre command: its environment's loopback ranges,
    unless the command gives them. prod keeps its own default client range (0.0.0.0/0 on 443)."""
    given = {args[i + 1].split("=", 1)[0] for i, a in enumerate(args[:-1]) if a == "--var"}
    envs = {a.split("/", 1)[0] for a in args if a.split("/", 1)[0] in LOCAL_VARIABLES_BY_ENV}
    flags: list[str] = []
    for env in sorted(envs):
        for name, value in LOCAL_VARIABLES_BY_ENV[env].items():
            if name not in given:
                flags += ["--var", f"{name}={value}"]
    return flags


KEY_FILE = STATE / "gateway-master-key"


class LocalError(Exception):
    """An expected failure, reported as one line."""


def port() -> int:
    raw = os.environ.get("LOCAL_PORT", "4566")
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
        raise LocalError(f"LOCAL_PORT={raw!r} is not a port number from 1024 to 65535")
    return int(raw)


def endpoint() -> str:
    return f"http://{HOST}:{port()}"


def emulator_env(region: str = REGION) -> dict[str, str]:
    """Environment that points boto3 and Sceptre at the emulator and never at a real account."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint(),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=region,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


def rds_ca_bundle(url: str) -> Path:
    """The emulator's RDS CA, saved where the Lambda packaging reads it (LLMGW_RDS_CA_BUNDLE).

    The emulator's databases present certificates from its own CA; a rotation
    function packed with AWS's bundle would rightly refuse them.
    """
    try:
        with urllib.request.urlopen(f"{url}/moto-api/llmgw/rds-ca-bundle.pem", timeout=10) as response:
            pem = response.read()
    except (urllib.error.URLError, OSError) as error:
        raise LocalError(f"the emulator at {url} did not give its RDS CA: {error}") from error
    path = ROOT / "build" / "local" / f"rds-ca-{url.rsplit(':', 1)[1]}.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_bytes() != pem:
        path.write_bytes(pem)
    return path


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_until_answering(url: str, process: subprocess.Popen[Any], seconds: float = 30) -> bool:
    """Whether the emulator ``process`` serves ``url`` within ``seconds``; False once it has exited."""
    deadline = time.monotonic() + seconds
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    # Another server on a port free_port handed out twice (make test's workers) answers too.
    return process.poll() is None


def _port_taken() -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port())) == 0


def _running_pid() -> int | None:
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def gateway_port() -> int:
    """The local port of the ALB's HTTP listener (port 80 on AWS): ``GATEWAY_PORT``, default 4000."""
    raw = os.environ.get("GATEWAY_PORT", "4000")
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
        raise LocalError(f"GATEWAY_PORT={raw!r} is not a port number from 1024 to 65535")
    return int(raw)


def require_running() -> None:
    if not _answers(endpoint()):
        raise LocalError(f"the emulator is not running on {endpoint()}; start it with: make local")


def up() -> None:
    pid = _running_pid()
    if pid and _answers(endpoint()):
        print(f"emulator: already running on {endpoint()} (pid {pid})")
        return
    if _port_taken():
        raise LocalError(f"port {port()} on {HOST} is in use by another program; choose another with LOCAL_PORT=<port>")
    if not EMULATOR_PYTHON.exists():
        raise LocalError(f"{EMULATOR_PYTHON.relative_to(ROOT)} is missing; run: make emulator-venv")
    with socket.socket() as probe:
        if probe.connect_ex((HOST, gateway_port())) == 0:
            raise LocalError(
                f"port {gateway_port()} on {HOST}, the gateway's, is in use; choose another with GATEWAY_PORT=<port>"
            )
    STATE.mkdir(exist_ok=True)
    offset = LOG_FILE.stat().st_size if LOG_FILE.is_file() else 0
    with LOG_FILE.open("ab") as log:
        process = subprocess.Popen(
            [str(EMULATOR_PYTHON), "-m", "llmgw_emulator.server", "--host", HOST, "--port", str(port())],
            cwd=ROOT / "emulator",
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives `make local`, until `make local-down`
            # The ALB's port 80 listener serves the gateway on GATEWAY_PORT.
            env={**os.environ, "LLMGW_LISTENER_PORTS": f"80={gateway_port()}"},
        )
    PID_FILE.write_text(str(process.pid))
    if not wait_until_answering(endpoint(), process):
        tail = LOG_FILE.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise LocalError(f"the emulator did not start: {tail[0]}")
    print(f"emulator: started on {endpoint()} (pid {process.pid}, log {LOG_FILE.relative_to(ROOT)})")
    # What it plays and what stands in for what, as it says at start (the README explains each).
    wanted = ("emulator: playing", "emulator: ECS", "emulator: stand-in:")

    def said() -> list[str]:
        with LOG_FILE.open("rb") as log:
            log.seek(offset)
            return [line for line in log.read().decode(errors="replace").splitlines() if line.startswith(wanted)]

    deadline = time.monotonic() + 3
    while not any("stand-in:" in line for line in said()) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)  # it prints them all at once
    for line in said():
        print(line)


def down() -> None:
    pid = _running_pid()
    if pid is None:
        PID_FILE.unlink(missing_ok=True)
        print(f"emulator: not running on {endpoint()}; nothing to stop")
        return
    os.kill(pid, signal.SIGTERM)
    # It stops its tasks, listeners and databases first; return only once all are gone.
    deadline = time.monotonic() + 30
    while _running_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    if _running_pid() is not None:
        os.killpg(pid, signal.SIGKILL)
    PID_FILE.unlink(missing_ok=True)
    KEY_FILE.unlink(missing_ok=True)
    print(f"emulator: stopped (pid {pid}) with its tasks, listeners and databases; everything in it is gone")


def _client(service: str, region: str) -> Any:
    """A boto3 client of the emulator, with its dummy credentials, never a real account's."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint(),
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _cloudformation(region: str) -> Any:
    return _client("cloudformation", region)


def stack_states(env_name: str, project_code: str, region: str) -> dict[str, tuple[str, str]]:
    """{stack name: (status, last change time)} for the environment's stacks that exist."""
    client = _cloudformation(region)
    states = {}
    for stack in STACKS:
        name = f"{project_code}-{env_name}-{stack}"
        try:
            (found,) = client.describe_stacks(StackName=name)["Stacks"]
        except client.exceptions.ClientError:
            continue
        states[name] = (found["StackStatus"], str(found.get("LastUpdatedTime", found["CreationTime"])))
    return states


def launch(env_name: str, variables: list[str], project_code: str, region: str) -> int:
    require_running()
    before = stack_states(env_name, project_code, region)
    args = [str(Path(sys.executable).with_name("sceptre"))]
    for variable in variables:
        args += ["--var", variable]
    args += local_variables([*args, env_name])
    started = time.monotonic()
    env = {**emulator_env(region), "LLMGW_RDS_CA_BUNDLE": str(rds_ca_bundle(endpoint()))}
    # The seeding hook writes provider keys from the environment: here, the key of the emulator's
    # stand-in provider, which accepts any, so no real key ever lands in the rehearsal.
    env.update(OPENAI_API_KEY=LOCAL_PROVIDER_KEY, ANTHROPIC_API_KEY="")
    result = subprocess.run([*args, "launch", "-y", env_name], cwd=ROOT, env=env)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise LocalError(f"sceptre launch {env_name} failed (exit {result.returncode}); the lines above say why")
    after = stack_states(env_name, project_code, region)
    print()
    if before and before == after:
        print(f"Nothing changed: the {len(after)} {env_name} stacks were already up to date ({elapsed:.1f} s).")
    else:
        print(f"Launched {env_name} in {elapsed:.1f} s.")
    summary(env_name, project_code, region)
    return 0


def _last_migration(cluster: str, log_group: str, region: str) -> str:
    """The latest migration task's outcome and last log line, as the Migration custom resource ran it."""
    ecs, logs = _client("ecs", region), _client("logs", region)
    arns = ecs.list_tasks(cluster=cluster, startedBy="cloudformation-migration", desiredStatus="STOPPED")["taskArns"]
    if not arns:
        return "no migration task has run"
    (task,) = ecs.describe_tasks(cluster=cluster, tasks=arns[-1:])["tasks"]
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    code = next((c.get("exitCode") for c in task.get("containers", [])), None)
    try:
        events = logs.get_log_events(logGroupName=log_group, logStreamName=f"migrate/migrate/{task_id}", limit=1,
                                     startFromHead=False)["events"]  # fmt: skip
    except logs.exceptions.ResourceNotFoundException:
        events = []
    last = events[-1]["message"] if events else task.get("stoppedReason", "")
    return f"task {task_id[:8]} exited {code}: {last}  (log: {log_group}, streams migrate/)"


def summary(env_name: str, project_code: str, region: str) -> None:
    require_running()
    client = _cloudformation(region)
    outputs: dict[str, str] = {}
    print(f"\n{'Stack':<28} Status")
    for stack in STACKS:
        name = f"{project_code}-{env_name}-{stack}"
        try:
            (found,) = client.describe_stacks(StackName=name)["Stacks"]
        except client.exceptions.ClientError:
            print(f"{name:<28} not created")
            continue
        print(f"{name:<28} {found['StackStatus']}")
        outputs.update(outputs_of(found))

    def show(label: str, *keys: str, sep: str = " / ") -> None:
        values = [outputs[k] for k in keys if k in outputs]
        if values:
            print(f"{label:<20} {sep.join(values)}")

    print()
    local_url = listener_url(f"{env_name}-{project_code}-alb", 80)
    if local_url:
        print(f"{'Gateway URL':<20} {local_url}  (the ALB's listener :80, served locally)")
    show("On AWS it would be", "ServiceUrl")
    show("ECR repository", "RepositoryUri")
    show("Cluster / service", "ClusterName", "ServiceName")
    if outputs.get("ClusterName") and outputs.get("LogGroupName"):
        print(f"{'Database migration':<20} {_last_migration(outputs['ClusterName'], outputs['LogGroupName'], region)}")
    show("Database endpoint", "DBEndpoint", "DBPort", sep=":")
    show("Shared-state cache", "CacheEndpoint")
    for key, label in (
        ("MasterKeySecretArn", "Secret master-key"),
        ("UiPasswordSecretArn", "Secret ui-password"),
        ("ApiKeysSecretArn", "Secret api-keys"),
        ("DatabaseSecretArn", "Secret database"),
        ("CacheAuthSecretArn", "Secret cache-auth"),
    ):
        show(label, key)
    master_key = _write_key_file(outputs.get("MasterKeySecretArn"), region)
    if local_url and master_key:
        print("\nTry it (the key is the seeded master key, from Secrets Manager):")
        print(f"  curl -s {local_url}/v1/chat/completions \\")
        print(
            f'    -H "Authorization: Bearer $(cat {KEY_FILE.relative_to(ROOT)})" -H "Content-Type: application/json" \\'
        )
        print("""    -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}'""")
    print(f"\nThe emulator keeps running at {endpoint()}: explore with")
    print(f"  AWS_ENDPOINT_URL={endpoint()} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \\")
    print(f"    aws --region {region} cloudformation describe-stacks")
    print(f"(and LLMGW_RDS_CA_BUNDLE={rds_ca_bundle(endpoint())} for a sceptre launch of your own)")
    again = "" if port() == 4566 else f"LOCAL_PORT={port()} "
    print(f"Rotate a secret: {again}make rotate SECRET=master-key (or database). Stop it all: {again}make local-down")


def listener_url(load_balancer_name: str, listener_port: int) -> str | None:
    """The local URL that serves a listener of the emulator's load balancer, if it serves one."""
    try:
        with urllib.request.urlopen(f"{endpoint()}/moto-api/llmgw/load-balancers", timeout=10) as response:
            listeners = json.loads(response.read())
    except (urllib.error.URLError, OSError):
        return None
    for listener in listeners:
        if f"/app/{load_balancer_name}/" in listener["LoadBalancerArn"] and listener["Port"] == listener_port:
            return str(listener["LocalUrl"])
    return None


def _write_key_file(secret_arn: str | None, region: str) -> str | None:
    """Save the current master key where the README's curl reads it (mode 600); never print it."""
    if not secret_arn:
        return None
    client = _client("secretsmanager", region)
    try:
        value = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"]).get("LITELLM_MASTER_KEY")
    except Exception:
        return None
    from llmgw_common.gateway_secrets import is_master_key

    if not is_master_key(value):
        return None
    STATE.mkdir(exist_ok=True)
    KEY_FILE.touch(mode=0o600)
    KEY_FILE.chmod(0o600)
    KEY_FILE.write_text(value)
    return str(value)


def read_rotations(url: str) -> list[dict[str, Any]]:
    """Every rotation the emulator has run (its ``/moto-api/llmgw/rotations``), oldest first."""
    with urllib.request.urlopen(f"{url}/moto-api/llmgw/rotations", timeout=10) as response:
        return json.loads(response.read())


def wait_for_rotation(url: str, version_id: str, timeout: float) -> dict[str, Any]:
    """The outcome of the rotation that staged ``version_id``, once it has ended."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in read_rotations(url) if r["version_id"] == version_id]
        if found and found[-1]["status"] != "InProgress":
            return found[-1]
        if time.monotonic() > deadline:
            raise LocalError(f"the rotation of version {version_id} had not ended after {timeout:.0f} s")
        time.sleep(0.2)


ROTATING = (
    "the rotating ones are master-key and database, and ui-password once launched with "
    "make local VARS=ui_password_rotation_days=N (sceptre --var ui_password_rotation_days=N)"
)


def rotate(env_name: str, secret: str, project_code: str, region: str) -> int:
    """Rotate ``<env>-<project>/<secret>`` now and wait for Secrets Manager's steps to end."""

    require_running()
    name = f"{env_name}-{project_code}/{secret}"
    client = _client("secretsmanager", region)
    try:
        described = client.describe_secret(SecretId=name)
    except client.exceptions.ResourceNotFoundException:
        if stack_states(env_name, project_code, region):
            raise LocalError(f"secret {name} does not exist; {ROTATING}") from None
        raise LocalError(f"secret {name} does not exist in the emulator; launch {env_name} first: make local") from None
    if not described.get("RotationEnabled"):
        raise LocalError(f"secret {name} has no rotation configured; {ROTATING}")
    started = time.monotonic()
    try:
        version = client.rotate_secret(SecretId=name)["VersionId"]
    except client.exceptions.ClientError as err:
        raise LocalError(f"rotate-secret {name}: {err.response['Error']['Message']}") from None
    # Generous: Secrets Manager may run each of four steps three times, each up to the function's timeout.
    outcome = wait_for_rotation(endpoint(), version, timeout=600)
    steps = ", ".join(outcome["steps"])
    if outcome["status"] != "Succeeded":
        raise LocalError(f"rotation of {name} failed ({steps}): {outcome['failure']}")
    print(f"rotated {name} in {time.monotonic() - started:.1f} s: {steps}; version {version} is AWSCURRENT")
    if secret in ("database", "ui-password"):
        _wait_for_redeploy(env_name, project_code, region)
    if secret == "master-key" and KEY_FILE.is_file():
        # The gateway's tasks read the secret at run time and already accept the new key (and the old one).
        current = json.loads(client.get_secret_value(SecretId=name)["SecretString"])["LITELLM_MASTER_KEY"]
        KEY_FILE.write_text(current)
        print(f"{KEY_FILE.relative_to(ROOT)} now holds the new key; the previous one stays valid for its grace period")
    return 0


def _wait_for_redeploy(env_name: str, project_code: str, region: str, timeout: float = 300) -> None:
    """finishSecret asked ECS to redeploy (tasks read DATABASE_URL when they start): wait until it is done."""
    ecs = _client("ecs", region)
    cluster, service = f"{env_name}-{project_code}", f"{env_name}-{project_code}-proxy"
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        (found,) = ecs.describe_services(cluster=cluster, services=[service])["services"]
        deployments = found["deployments"]
        if (
            len(deployments) == 1
            and deployments[0]["rolloutState"] == "COMPLETED"
            and (found["runningCount"] == found["desiredCount"])
        ):
            seconds = time.monotonic() - started
            print(f"the service redeployed, rolling, in {seconds:.1f} s more: its tasks read the new DATABASE_URL")
            return
        if any(d["rolloutState"] == "FAILED" for d in deployments):
            raise LocalError(f"the redeploy after the rotation failed: {deployments[0].get('rolloutStateReason')}")
        time.sleep(0.5)
    raise LocalError(f"the service had not redeployed after {timeout:.0f} s; see: aws ecs describe-services")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "launch", "summary", "rotate", "down"])
    parser.add_argument("env", nargs="?", default="dev")
    parser.add_argument("secret", nargs="?", help="rotate: master-key, database or ui-password")
    parser.add_argument("--var", action="append", default=[], help="passed to sceptre --var")
    parser.add_argument("--project-code", default=os.environ.get("PROJECT_CODE", "litellm"))
    parser.add_argument("--region", default=REGION)
    args = parser.parse_args(argv)
    # The same --var that renames stacks for Sceptre renames them here.
    for variable in args.var:
        key, _, value = variable.partition("=")
        if key == "project_code":
            args.project_code = value
        elif key == "region":
            args.region = value
    try:
        if args.command == "up":
            up()
        elif args.command == "down":
            down()
        elif args.command == "summary":
            summary(args.env, args.project_code, args.region)
        elif args.command == "rotate":
            if not args.secret:
                raise LocalError("name the secret to rotate: make rotate SECRET=master-key (or SECRET=database)")
            return rotate(args.env, args.secret, args.project_code, args.region)
        else:
            return launch(args.env, args.var, args.project_code, args.region)
    except LocalError as err:
        print(f"local: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
