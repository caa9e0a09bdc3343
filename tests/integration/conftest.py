"""A fresh local AWS emulator per test module, and helpers to drive Sceptre against it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from llmgw.net import free_port
from llmgw.stacks import outputs_of
from tests.support import missing
from tools.local import LOCAL_CLIENT_CIDR, LOCAL_PROVIDER_KEY, local_variables, wait_until_answering
from tools.render import ROOT

EMULATOR_PYTHON = ROOT / ".venv-emulator" / "bin" / "python"
SCEPTRE = str(Path(sys.executable).with_name("sceptre"))
REGION = "us-east-1"


@dataclass
class Emulator:
    endpoint: str
    log: Any = None  # the emulator's output, a file
    process: Any = None
    project: Path = ROOT  # the copy of the repository `sceptre()` runs in, whose image/ the tasks run

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            LLMGW_RDS_CA_BUNDLE=str(self.rds_ca_bundle),
            # What `make local` seeds: the key of the emulator's stand-in provider, never a real one.
            OPENAI_API_KEY=LOCAL_PROVIDER_KEY,
            ANTHROPIC_API_KEY="",
            # where the rehearsal's clients are, for tools that open dev's load balancer to themselves
            AGENT_CIDR=LOCAL_CLIENT_CIDR,
        )
        return env

    @property
    def rds_ca_bundle(self) -> Path:
        """The CA of this emulator's databases, which the rotation zips it runs must trust."""
        from tools.local import rds_ca_bundle

        return rds_ca_bundle(self.endpoint)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def session(self) -> Any:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        real_client = session.client
        session.client = lambda service, **kw: real_client(service, endpoint_url=self.endpoint, **kw)  # type: ignore[method-assign]
        return session

    def sceptre(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SCEPTRE, *local_variables(args), *args], cwd=self.project, env=self.env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip

    def sceptre_in(self, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """Sceptre against this emulator, from a copy of the repository."""
        command = [SCEPTRE, *local_variables(args), *args]
        return subprocess.run(command, cwd=project, env=self.env, capture_output=True, text=True, timeout=600)

    def api(self, path: str) -> Any:
        """One of the emulator's own ``/moto-api/llmgw/`` pages, decoded."""
        import json

        with urllib.request.urlopen(f"{self.endpoint}/moto-api/llmgw/{path}", timeout=10) as response:
            return json.loads(response.read())

    def listener_url(self, load_balancer: str, port: int = 80) -> str:
        """The local URL that serves a listener of the named load balancer."""
        (url,) = [
            x["LocalUrl"]
            for x in self.api("load-balancers")
            if f"/app/{load_balancer}/" in x["LoadBalancerArn"] and x["Port"] == port
        ]
        return str(url)

    def wait_for_stack(self, name: str, timeout: float = 300) -> dict[str, Any] | None:
        """The stack once its operation has ended (None once deleted); CloudFormation's calls return at once."""
        cloudformation = self.client("cloudformation")
        deadline = time.monotonic() + timeout
        while True:
            try:
                (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
            except cloudformation.exceptions.ClientError as err:
                if "does not exist" in str(err):
                    return None
                raise
            if not stack["StackStatus"].endswith("_IN_PROGRESS") or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
                return stack
            if time.monotonic() > deadline:
                pytest.fail(f"stack {name} still {stack['StackStatus']} after {timeout:.0f} s")
            time.sleep(0.2)

    def outputs(self, stack_name: str) -> dict[str, str]:
        (stack,) = self.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        return outputs_of(stack)


def start_emulator(account: str = "new", project: Path | None = None) -> tuple[subprocess.Popen[str], Emulator]:
    """Start an emulator on a free port playing ``account`` (LLMGW_ACCOUNT); fails the test if it cannot.

    ``project`` is a copy of the repository whose ``image/`` the emulator's tasks run (its build
    context, as ``!image_tag`` hashes it); by default, this repository's.
    """
    if not EMULATOR_PYTHON.exists():
        message = f"{EMULATOR_PYTHON} is missing: run `make emulator-venv`"
        missing(message)
    port = free_port()
    # A file, not a pipe: nobody reads the log while tests run, and a full pipe would stall the emulator.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the emulator
    process = subprocess.Popen(
        [str(EMULATOR_PYTHON), "-m", "llmgw_emulator.server", "--port", str(port)],
        cwd=ROOT / "emulator",
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            "LLMGW_ACCOUNT": account,
            "LLMGW_IMAGE_CONTEXTS": str((project or ROOT) / "image"),
            "LLMGW_LISTENER_PORTS": "",
        },
    )
    endpoint = f"http://127.0.0.1:{port}"
    if not wait_until_answering(endpoint, process):
        process.kill()
        log.seek(0)
        pytest.fail(f"emulator did not start: {log.read()[-2000:]}")
    return process, Emulator(endpoint, log, process, project or ROOT)


def stop_emulator(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=30)


# A digest no registry serves, for the rehearsal's prod launches: prod refuses a base image trusted by
# tag alone (!require_pinned_image), and against the emulator no image is built or pulled.
STAND_IN_DIGEST = "sha256:" + "5" * 64


def pinned_copy(directory: Path) -> Path:
    """A copy of the repository whose image/build-args pins the stand-in digest, for launching prod here."""
    for name in ("config", "templates", "image", "lambdas"):
        shutil.copytree(ROOT / name, directory / name, symlinks=True)
    args = directory / "image" / "build-args"
    args.write_text(args.read_text().replace("LITELLM_IMAGE_DIGEST=\n", f"LITELLM_IMAGE_DIGEST={STAND_IN_DIGEST}\n"))
    assert STAND_IN_DIGEST in args.read_text(), "image/build-args already pins a digest; use the repository itself"
    return directory


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """A fresh emulator playing a new AWS account, the default and where first deploys die."""
    process, running = start_emulator("new")
    yield running
    stop_emulator(process)


@pytest.fixture(scope="module")
def pinned_emulator(tmp_path_factory):
    """An emulator whose tasks run a copy of the repository that pins a stand-in base-image digest, as prod needs."""
    project = pinned_copy(tmp_path_factory.mktemp("pinned"))
    process, running = start_emulator("new", project=project)
    yield running
    stop_emulator(process)
