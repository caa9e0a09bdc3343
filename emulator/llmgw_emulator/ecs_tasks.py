"""An ECS task of the emulator: the deployed task definition's container, run as a local process.

What ECS does when it starts a Fargate task, in order, and how each step stands in here:

1. Pulls the image (``container_images``: the build context the tag names;
   a tag nobody pushed stops the task with ``CannotPullContainerError``).
2. Resolves ``secrets`` through the execution role, each ``valueFrom`` a
   secret ARN optionally followed by ``:json-key:version-stage:version-id``.
   A secret or JSON key that is missing stops the task with ECS's
   ``ResourceInitializationError``, before the container starts.
   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
3. Starts the container: the task definition's ``entryPoint``/``command``, else
   the image's, with ``environment``, the resolved secrets and Fargate's own
   ``AWS_REGION``/``AWS_DEFAULT_REGION``/``AWS_EXECUTION_ENV``.
4. Runs the container health check as written, ``CMD-SHELL`` through
   ``/bin/sh -c``, with Docker's interval, timeout, retries and start period.
   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html
5. Stops it: SIGTERM, then SIGKILL after ``stopTimeout``.

Where the local stand-in must differ, it says so once, at start (``STAND_INS``):
the task's network is 127.0.0.1 and a port of its own; its AWS credentials
are the emulator's; LiteLLM's server gets no ``DATABASE_URL`` (the stand-in
for its image's entrypoint unsets it), because LiteLLM's Prisma engines
download at run time from a host these machines cannot reach; and provider
calls go to the emulator's stand-in provider. A container's ``awslogs``
output reaches CloudWatch Logs (``ecs_logs``), as on Fargate.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmgw.net import free_port

from . import clock, container_images, elasticache_valkey
from .ecs_logs import AwsLogs, MissingLogGroup

__all__ = ["STAND_INS", "LocalTask", "TaskFailure"]

STAND_INS = (
    "a task listens on 127.0.0.1 at a port of its own: its container port in the command and health check reads as it",
    "a task's AWS credentials are the emulator's (AWS_ENDPOINT_URL points at it), not its task role's",
    "LiteLLM's server in a task gets no DATABASE_URL: Prisma's engines download at run time from an unreachable host",
    "a migration task applies litellm-proxy-extras' SQL itself, in place of Prisma's `prisma migrate deploy`",
    "an Amazon RDS root certificate in an image is the emulator's RDS CA, which signs the local instances",
    "a task trusts the emulator's CA beside the public ones (SSL_CERT_FILE): it signs the local caches' certificates",
    "a task's provider calls go to the emulator's stand-in provider (OPENAI_API_BASE), not to the internet",
    "a task runs as this machine's user, not as its container User",
    "a task's health check runs with this machine's /bin/sh and .venv-gateway's python3, not the image's tools",
    "a task's IAM roles, security groups and routes are not evaluated: a missing permission or route is not noticed",
)

# Docker's health-check defaults, which ECS uses for what a definition leaves out.
_HEALTH_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0}


class TaskFailure(Exception):
    """The task stopped before its container ran; the message is what ECS reports as stoppedReason."""


@dataclass
class LocalTask:
    """One task: its container process, health and lifecycle, as describe-tasks reports them."""

    task_arn: str
    definition: dict[str, Any]  # the container definition, camelCase as ECS's API has it
    region: str
    directory: Path
    resolve_secret: Any  # (arn, json_key, stage, version) -> str, raising TaskFailure
    emulator_endpoint: str
    provider_base_url: str | None
    pull_error: str | None = None  # set when the registry has no such repository
    logs: AwsLogs | None = None  # the container's awslogs destination
    port: int = field(default_factory=free_port)
    last_status: str = "PROVISIONING"
    desired_status: str = "RUNNING"
    health_status: str = "UNKNOWN"
    stop_code: str | None = None
    stopped_reason: str | None = None
    exit_code: int | None = None
    started_at: float | None = None
    stopped_at: float | None = None
    process: subprocess.Popen[bytes] | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def task_id(self) -> str:
        return self.task_arn.rsplit("/", 1)[-1]

    @property
    def container_port(self) -> int:
        mappings = self.definition.get("portMappings") or [{}]
        return int(mappings[0].get("containerPort", 0))

    def start(self) -> None:
        """Start the task in the background; its status moves on by itself from here."""
        threading.Thread(target=self._run, name=f"task-{self.task_id[:8]}", daemon=True).start()

    def _run(self) -> None:
        self.last_status = "PENDING"
        try:
            if self.pull_error:
                raise container_images.CannotPullContainerError(self.pull_error)
            image = container_images.pull(self.definition["image"])
            environment = {k: image.rebase_value(v) for k, v in self._environment().items()}
            if self.logs is not None:
                self.logs.open()
        except (
            container_images.CannotPullContainerError,
            container_images.ImageRefusedError,
            TaskFailure,
            MissingLogGroup,
        ) as err:
            self._stopped("TaskFailedToStart", str(err))
            return
        except Exception as err:  # the emulator's own failure: the task stops naming it, never hangs PENDING
            import sys

            print(f"emulator: task {self.task_id} could not start: {err!r}", file=sys.stderr, flush=True)
            self._stopped("TaskFailedToStart", f"the local emulator could not start this task: {err!r}")
            return
        if self._stopping.is_set():
            self._stopped(
                "ServiceSchedulerInitiated", self.stopped_reason or "Scaling activity initiated by deployment"
            )
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [image.rebase(a) for a in self._argv(image)]
        log_path = self.directory / "container.log"
        log = log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [*_DIE_WITH_THE_EMULATOR, *argv],
                cwd=image.root / (self.definition.get("workingDirectory") or image.workdir).lstrip("/"),
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as err:
            self._stopped("TaskFailedToStart", f"CannotStartContainerError: {err.strerror}: {argv[0]}")
            return
        finally:
            log.close()
        self.started_at = time.time()
        exited = threading.Event()
        if self.logs is not None:
            self.logs.follow(log_path, exited)
        self.last_status = "RUNNING"
        if self._stopping.is_set():  # stop() ran while the process was being started
            _signal(self.process, signal.SIGTERM)
        if self.definition.get("healthCheck"):
            threading.Thread(target=self._health_checks, args=(environment,), daemon=True).start()
        code = self.process.wait()
        exited.set()
        if self.logs is not None:
            self.logs.flush(log_path)  # before STOPPED: a reader that waits for the stop sees every line
        self.exit_code = code
        if self._stopping.is_set():
            self._stopped(self.stop_code or "ServiceSchedulerInitiated", self.stopped_reason or "Task stopped")
        else:
            self._stopped("EssentialContainerExited", "Essential container in task exited")

    def _stopped(self, code: str, reason: str) -> None:
        self.stop_code = self.stop_code or code
        self.stopped_reason = self.stopped_reason or reason
        self.desired_status = "STOPPED"
        self.last_status = "STOPPED"
        self.stopped_at = time.time()

    def _argv(self, image: container_images.Image) -> list[str]:
        # Docker: an entryPoint given without a command drops the image's CMD.
        entrypoint = self.definition.get("entryPoint")
        command = self.definition.get("command")
        if entrypoint:
            argv = list(entrypoint) + list(command or [])
        else:
            argv = list(image.entrypoint) + list(command if command is not None else image.command)
        return _rebind_port_arguments(argv, self.container_port, self.port)

    def _environment(self) -> dict[str, str]:
        env = {
            "PATH": f"{container_images.installed_litellm().parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.directory),
            "LANG": "C.UTF-8",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
            # Stand-ins: the emulator's credentials and address, the task's own port.
            "AWS_ENDPOINT_URL": self.emulator_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            # The public CAs an image trusts, plus the emulator's, which signs the local caches' certificates.
            "SSL_CERT_FILE": str(elasticache_valkey.trust_bundle()),
        }
        for item in self.definition.get("environment") or []:
            env[item["name"]] = str(item.get("value", ""))
        for item in self.definition.get("secrets") or []:
            env[item["name"]] = self._secret(item["valueFrom"])
        if self.provider_base_url:
            env["OPENAI_API_BASE"] = self.provider_base_url
        return env

    def _secret(self, value_from: str) -> str:
        parts = value_from.split(":")
        if len(parts) < 7 or parts[2] != "secretsmanager" or parts[5] != "secret":
            raise TaskFailure(
                "ResourceInitializationError: the emulator resolves only Secrets Manager ARNs in valueFrom, "
                f"not {value_from}"
            )
        arn = ":".join(parts[:7])
        json_key, stage, version = [*parts[7:], "", "", ""][:3]
        return str(self.resolve_secret(arn, json_key or None, stage or None, version or None))

    # ---- the container health check ----------------------------------------------------------

    def _health_command(self) -> list[str]:
        command = list(self.definition["healthCheck"]["command"])
        kind, rest = command[0], command[1:]
        rebound = [_rebind_addresses(a, self.container_port, self.port) for a in rest]
        if kind == "CMD-SHELL":
            return ["/bin/sh", "-c", " ".join(rebound)]
        if kind == "CMD":
            return rebound
        raise TaskFailure(f"healthCheck command must start with CMD or CMD-SHELL, not {kind}")

    def _health_checks(self, environment: dict[str, str]) -> None:
        # Only the interval runs on the emulator's clock: the start period and the timeout bound
        # how fast LiteLLM starts and answers, which runs in real time here.
        check = {**_HEALTH_DEFAULTS, **self.definition["healthCheck"]}
        interval, start_period = clock.scaled(int(check["interval"])), int(check["startPeriod"])
        timeout, retries = int(check["timeout"]), int(check["retries"])
        command = self._health_command()
        failures = 0
        began = time.monotonic()
        while not self._stopping.wait(interval) and self.last_status == "RUNNING":
            try:
                passed = subprocess.run(command, env=environment, capture_output=True, timeout=timeout).returncode == 0
            except subprocess.TimeoutExpired:
                passed = False
            if passed:
                failures = 0
                self.health_status = "HEALTHY"
            elif time.monotonic() - began >= start_period or self.health_status == "HEALTHY":
                failures += 1
                if failures >= retries:
                    self.health_status = "UNHEALTHY"

    # ---- stopping -----------------------------------------------------------------------------

    def stop(self, code: str, reason: str) -> None:
        """Ask the container to stop: SIGTERM now, SIGKILL after the scaled ``stopTimeout``."""
        if self._stopping.is_set():
            return
        self.stop_code, self.stopped_reason = code, reason
        self.desired_status = "STOPPED"
        self._stopping.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        self.last_status = "STOPPING"
        _signal(process, signal.SIGTERM)
        grace = int(self.definition.get("stopTimeout", 30))  # real time, as LiteLLM's shutdown runs

        def kill_when_late() -> None:
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal(process, signal.SIGKILL)

        threading.Thread(target=kill_when_late, daemon=True).start()

    def kill_now(self) -> None:
        """For the emulator's own shutdown: nothing outlives it."""
        self._stopping.set()
        if self.process is not None and self.process.poll() is None:
            _signal(self.process, signal.SIGKILL)
            self.process.wait(timeout=10)


# Linux's parent-death signal, set by util-linux's setpriv before it execs the container's
# command, so a task never outlives an emulator that was killed. (A preexec_fn could do it, but is
# unsafe in a threaded process.) Elsewhere the emulator's shutdown still stops its tasks.
_DIE_WITH_THE_EMULATOR = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _rebind_port_arguments(argv: list[str], container_port: int, port: int) -> list[str]:
    """``--port <container port>`` reads ``--port <the task's port>``."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--port" and i + 1 < len(out) and out[i + 1] == str(container_port):
            out[i + 1] = str(port)
        elif arg == f"--port={container_port}":
            out[i] = f"--port={port}"
    return out


def _rebind_addresses(text: str, container_port: int, port: int) -> str:
    """The container's own address (localhost or 127.0.0.1 at its port) is the task's."""
    return re.sub(rf"\b(?:127\.0\.0\.1|localhost):{container_port}\b", f"127.0.0.1:{port}", text)
