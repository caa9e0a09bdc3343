"""Run a Lambda function's deployed zip the way Lambda's Python runtime does, without a container.

The zip is the one Lambda stores (for an S3 deployment, the object as
uploaded), extracted into a fresh directory like ``/var/task``. It runs in a
Python of the function's runtime started isolated (``-I -S``), so nothing
from this machine's site-packages leaks in; only the runtime's own SDK
(boto3, as Lambda bundles it) sits on the path after the task directory.
The function gets its environment variables and Lambda's reserved ones,
and is killed at its timeout.

One thing differs from Lambda, on purpose: ``AWS_ENDPOINT_URL`` points the
function's SDK at this emulator, as moto's own Lambda does, and its
credentials are the emulator's dummy ones. A function therefore reaches
every AWS API the emulator serves and the emulator's local databases; VPC
routing and IAM are not evaluated.

Results follow Lambda's Invoke contract: a returned value is the payload; an
exception becomes ``{"errorMessage", "errorType", "requestId", "stackTrace"}``
with the ``Unhandled`` function error; a timeout is ``Sandbox.Timedout``.
https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html
"""

from __future__ import annotations

import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FunctionSpec", "Invocation", "LambdaRuntimeError", "run"]

# Lambda's architectures, as this machine names them.
_MACHINES = {"x86_64": {"x86_64", "amd64"}, "arm64": {"aarch64", "arm64"}}

_BOOTSTRAP = r"""
import importlib, json, logging, os, sys, time, traceback

task, sdk, result_path, request_id, deadline = sys.argv[1:6]
sys.path[:] = [task, sdk] + [p for p in sys.path[1:] if p]
os.chdir(task)


class Context:
    def __init__(self):
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = os.environ["LLMGW_FUNCTION_ARN"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.aws_request_id = request_id
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]

    def get_remaining_time_in_millis(self):
        return max(0, int((float(deadline) - time.time()) * 1000))


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = request_id
        return True


# Lambda's Python runtime puts one handler on the root logger, in this format.
handler_ = logging.StreamHandler(sys.stdout)
handler_.setFormatter(logging.Formatter(
    "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"))
handler_.addFilter(RequestIdFilter())
logging.Formatter.converter = time.gmtime
logging.getLogger().addHandler(handler_)


def write(outcome):
    with open(result_path, "w") as out:
        json.dump(outcome, out)


def failure(error_type, message, stack=()):
    print(f"[ERROR] {error_type}: {message}", flush=True)
    write({"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": list(stack)})


module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
try:
    module = importlib.import_module(module_name)
except Exception as err:
    failure("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {err}")
    sys.exit(0)
function = getattr(module, function_name, None)
if function is None:
    failure("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    sys.exit(0)
event = json.loads(sys.stdin.read())
try:
    result = function(event, Context())
except Exception as err:
    stack = traceback.format_list(traceback.extract_tb(err.__traceback__)[1:])
    print(traceback.format_exc(), flush=True)
    failure(type(err).__name__, str(err), stack)
else:
    sys.stdout.flush()
    write({"result": result})
"""


class LambdaRuntimeError(Exception):
    """The emulator cannot run this function at all (not the function's own failure)."""


@dataclass(frozen=True)
class FunctionSpec:
    """What Lambda knows of a function when it runs it."""

    name: str
    arn: str
    runtime: str
    handler: str
    code: bytes
    timeout: int
    memory_size: int
    architecture: str
    environment: dict[str, str]
    region: str
    log_group: str
    version: str = "$LATEST"


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    function_error: str | None  # Lambda's X-Amz-Function-Error header: None or "Unhandled"
    log: str
    duration_ms: float
    error_type: str | None = None
    error_message: str | None = None
    log_stream: str = field(default="")


def runtimes_dir() -> Path:
    """Where ``make emulator-venv`` puts each runtime's SDK: ``<venv>/lambda-runtimes/<runtime>``."""
    return Path(os.environ.get("LLMGW_LAMBDA_RUNTIMES", Path(sys.prefix) / "lambda-runtimes"))


def _python(runtime: str) -> str:
    """A real interpreter of ``runtime`` (python3.12 -> 3.12), not a shim that depends on a shell."""
    version = runtime.removeprefix("python")
    candidates = sorted(str(p) for p in Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python{version}"))
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}", shutil.which(f"python{version}")]
    for candidate in candidates:
        if candidate and "/shims/" not in candidate and Path(candidate).exists():
            return candidate
    raise LambdaRuntimeError(f"the emulator has no Python {version} for runtime {runtime}: install python{version}")


def _sdk(runtime: str) -> Path:
    sdk = runtimes_dir() / runtime
    if not (sdk / "boto3").is_dir():
        raise LambdaRuntimeError(f"the emulator has no SDK for runtime {runtime} in {sdk}: run make emulator-venv")
    return sdk


def _check_architecture(architecture: str) -> None:
    if platform.machine().lower() not in _MACHINES.get(architecture, set()):
        raise LambdaRuntimeError(
            f"the function is built for {architecture} but this machine is {platform.machine()}; "
            "its native wheels would not load here"
        )


def _extract(code: bytes, task: Path) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(code))
    except zipfile.BadZipFile as err:
        raise LambdaRuntimeError(f"the function's code is not a zip file: {err}") from None
    for member in archive.namelist():
        if member.startswith("/") or ".." in Path(member).parts:
            raise LambdaRuntimeError(f"the function's zip holds an unsafe path: {member}")
    archive.extractall(task)


def reserved_environment(spec: FunctionSpec, endpoint: str, log_stream: str) -> dict[str, str]:
    """Lambda's reserved variables, then the function's own (which may not override them on AWS)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "LLMGW_FUNCTION_ARN": spec.arn,
        "AWS_ENDPOINT_URL": endpoint,
    }
    return {**spec.environment, **env}


def run(spec: FunctionSpec, event: Any, endpoint: str) -> Invocation:
    """Invoke the function once with ``event`` and wait for it, at most its timeout.

    Raises:
        LambdaRuntimeError: the runtime, SDK or architecture is not available here, or the zip is unusable.
    """
    if not spec.runtime.startswith("python3."):
        raise LambdaRuntimeError(f"the emulator runs Python functions only, not runtime {spec.runtime}")
    python, sdk = _python(spec.runtime), _sdk(spec.runtime)
    _check_architecture(spec.architecture)
    request_id = str(uuid.uuid4())
    day = time.strftime("%Y/%m/%d", time.gmtime())
    log_stream = f"{day}/[{spec.version}]{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory(prefix=f"lambda-{spec.name}-") as root_dir:
        root = Path(root_dir)
        task = root / "task"
        task.mkdir()
        _extract(spec.code, task)
        bootstrap = root / "bootstrap.py"
        bootstrap.write_text(_BOOTSTRAP)
        result_path = root / "result.json"
        started = time.time()
        command = [python, "-I", "-S", str(bootstrap), str(task), str(sdk), str(result_path), request_id,
                   str(started + spec.timeout)]  # fmt: skip
        try:
            completed = subprocess.run(
                command,
                input=json.dumps(event),
                capture_output=True,
                text=True,
                env=reserved_environment(spec, endpoint, log_stream),
                cwd=task,
                timeout=spec.timeout,
                check=False,
            )
            output = completed.stdout + completed.stderr
            timed_out = False
        except subprocess.TimeoutExpired as expired:
            output = _text(expired.stdout) + _text(expired.stderr)
            timed_out = True
        duration_ms = (time.time() - started) * 1000
        outcome: dict[str, Any] | None = None
        if not timed_out and result_path.exists():
            outcome = json.loads(result_path.read_text())
    log = f"START RequestId: {request_id} Version: {spec.version}\n{output}"
    if timed_out:
        message = f"RequestId: {request_id} Error: Task timed out after {spec.timeout:.2f} seconds"
        outcome = {"errorType": "Sandbox.Timedout", "errorMessage": message}
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        log += f"{stamp}Z {request_id} Task timed out after {spec.timeout:.2f} seconds\n"
    elif outcome is None:
        message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {completed.returncode}"
        outcome = {"errorType": "Runtime.ExitError", "errorMessage": message}
    log += f"END RequestId: {request_id}\n"
    log += (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {int(duration_ms) + 1} ms\tMemory Size: {spec.memory_size} MB\n"
    )
    if "result" in outcome:
        return Invocation(request_id, json.dumps(outcome["result"]).encode(), None, log, duration_ms,
                          log_stream=log_stream)  # fmt: skip
    return Invocation(
        request_id,
        json.dumps(outcome).encode(),
        "Unhandled",
        log,
        duration_ms,
        error_type=outcome["errorType"],
        error_message=outcome["errorMessage"],
        log_stream=log_stream,
    )


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value
