"""A local LiteLLM gateway: the pinned proxy, the image's config, a fake upstream, on 127.0.0.1.

    python -m tools.gateway up      start it (secrets from the local emulator when it runs)
    python -m tools.gateway down    stop it

When the emulator holds a launched dev environment, the gateway takes its
master key, salt key and UI login from the emulator's Secrets Manager: the
values the seeding hook wrote. Otherwise it makes throwaway ones. Provider
calls go to a fake OpenAI-compatible upstream, so everything works offline.
The master key is written to .local/gateway-master-key (mode 600), never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from llmgw.stacks import outputs_of
from llmgw_common.gateway_secrets import new_master_key, random_string
from tools.local import HOST, STATE, LocalError, _answers, emulator_env, endpoint

ROOT = Path(__file__).resolve().parent.parent
LITELLM = ROOT / ".venv-gateway" / "bin" / "litellm"
KEY_FILE = STATE / "gateway-master-key"
PROCESSES = {"gateway": STATE / "gateway.pid", "upstream": STATE / "upstream.pid"}


def gateway_port() -> int:
    return int(os.environ.get("GATEWAY_PORT", "4000"))


def upstream_port() -> int:
    return int(os.environ.get("UPSTREAM_PORT", "4010"))


def _alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/health/liveliness", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def secrets_from_emulator(project_code: str = "litellm", environment: str = "dev") -> dict[str, str] | None:
    """The gateway's environment from the emulator's Secrets Manager, or None if there is none."""
    if not _answers(endpoint()):
        return None
    import boto3

    env = emulator_env()
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=env["AWS_DEFAULT_REGION"]
    )
    cloudformation = session.client("cloudformation", endpoint_url=endpoint())
    try:
        (stack,) = cloudformation.describe_stacks(StackName=f"{project_code}-{environment}-security")["Stacks"]
    except cloudformation.exceptions.ClientError:
        return None
    outputs = outputs_of(stack)
    secrets = session.client("secretsmanager", endpoint_url=endpoint())
    values: dict[str, str] = {"LITELLM_MASTER_KEY_SECRET_ARN": outputs["MasterKeySecretArn"]}
    for key in ("MasterKeySecretArn", "UiPasswordSecretArn", "ApiKeysSecretArn"):
        response = secrets.get_secret_value(SecretId=outputs[key], VersionStage="AWSCURRENT")
        values.update({k: str(v) for k, v in json.loads(response["SecretString"]).items()})
    return values


def up() -> None:
    if _alive(PROCESSES["gateway"]) and _healthy(gateway_port()):
        print(f"gateway: already running on http://{HOST}:{gateway_port()}")
        print_curl()
        return
    if not LITELLM.exists():
        raise LocalError(f"{LITELLM.relative_to(ROOT)} is missing; run: make gateway-venv")
    for name, port in (("gateway", gateway_port()), ("upstream", upstream_port())):
        if _answers_http(port):
            raise LocalError(f"port {port} on {HOST} is in use; set {name.upper()}_PORT=<port>")
    values = secrets_from_emulator()
    if values:
        source = "the local emulator's Secrets Manager (written by !seed_secrets)"
    else:
        values = {"LITELLM_MASTER_KEY": new_master_key(), "LITELLM_SALT_KEY": random_string(64)}
        source = "throwaway values (no launched dev environment in the emulator)"
    STATE.mkdir(exist_ok=True)
    _start("upstream", [sys.executable, "-m", "tools.fake_upstream", "--port", str(upstream_port())], dict(os.environ))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LITELLM_", "DATABASE_URL"))}
    environment.update({k: v for k, v in values.items() if v})
    if values.get("LITELLM_MASTER_KEY_SECRET_ARN"):
        # As on ECS, the auth hook reads the master-key secret at run time (from the emulator
        # here), so `make rotate SECRET=master-key` takes effect without restarting the gateway.
        environment.update({k: v for k, v in emulator_env().items() if k.startswith("AWS_")})
        environment["AWS_REGION"] = environment["AWS_DEFAULT_REGION"]
    environment.update(
        OPENAI_API_KEY=values.get("OPENAI_API_KEY") or "local-fake-key",  # the fake upstream ignores it
        OPENAI_API_BASE=f"http://{HOST}:{upstream_port()}/v1",
        LITELLM_LOG="INFO",
        NUM_WORKERS="1",
        LITELLM_LOCAL_MODEL_COST_MAP="True",  # as the task definition sets it
    )
    command = [
        str(LITELLM),
        "--config",
        str(ROOT / "image" / "config.yaml"),
        "--host",
        HOST,
        "--port",
        str(gateway_port()),
    ]
    _start("gateway", command, environment)
    deadline = time.monotonic() + 120
    while not _healthy(gateway_port()):
        if _alive(PROCESSES["gateway"]) is None or time.monotonic() > deadline:
            raise LocalError(f"the gateway did not start; see {(STATE / 'gateway.log').relative_to(ROOT)}")
        time.sleep(0.5)
    KEY_FILE.write_text(values["LITELLM_MASTER_KEY"])
    KEY_FILE.chmod(0o600)
    print(
        f"gateway: LiteLLM on http://{HOST}:{gateway_port()}, fake upstream on :{upstream_port()}; keys from {source}"
    )
    print_curl()


def _answers_http(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


def _start(name: str, command: list[str], environment: dict[str, str]) -> None:
    with (STATE / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    PROCESSES[name].write_text(str(process.pid))


def print_curl() -> None:
    print("Try it:")
    print(f"  curl -s http://{HOST}:{gateway_port()}/v1/chat/completions \\")
    print(f'    -H "Authorization: Bearer $(cat {KEY_FILE.relative_to(ROOT)})" -H "Content-Type: application/json" \\')
    print("""    -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}'""")


def down() -> None:
    stopped = []
    for name, pid_file in PROCESSES.items():
        pid = _alive(pid_file)
        if pid:
            os.killpg(pid, signal.SIGTERM)
            stopped.append((name, pid))
        pid_file.unlink(missing_ok=True)
    # Return only once they are gone, so a `make gateway` right after finds its ports free.
    deadline = time.monotonic() + 15
    while any(_running(pid) for _, pid in stopped) and time.monotonic() < deadline:
        time.sleep(0.2)
    for _, pid in stopped:
        if _running(pid):
            os.killpg(pid, signal.SIGKILL)
    stopped = [name for name, _ in stopped]
    KEY_FILE.unlink(missing_ok=True)
    print(f"gateway: stopped {' and '.join(stopped)}" if stopped else "gateway: not running; nothing to stop")


def _running(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args(argv)
    try:
        up() if args.command == "up" else down()
    except LocalError as err:
        print(f"gateway: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
