"""The real LiteLLM proxy, from the pinned PyPI release, with the image's config and auth hook."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmgw.net import free_port
from tests.support import missing, stop_group
from tools.render import ROOT

LITELLM = ROOT / ".venv-gateway" / "bin" / "litellm"


@dataclass
class Proxy:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        stop_group(self.process)  # the whole group: faketime runs the proxy as its child

    def status(self, path: str, key: str | None = None, body: bytes | None = None) -> int:
        request = urllib.request.Request(self.url + path, data=body, method="POST" if body else "GET")
        request.add_header("Content-Type", "application/json")
        if key is not None:
            request.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code


def require(tool: str, where: str) -> None:
    if not (Path(tool).exists() or shutil.which(tool)):
        message = f"needs {tool} ({where})"
        missing(message)


def start(env: dict[str, str], log: Path, faketime: str | None = None, config: Path | None = None) -> Proxy:
    """Start the proxy on a free loopback port; ``faketime`` like "+8d" shifts its clock."""
    require(str(LITELLM), "run `make gateway-venv`")
    port = free_port()
    command = [
        str(LITELLM),
        "--config",
        str(config or ROOT / "image" / "config.yaml"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if faketime:
        require("faketime", "Debian package faketime")
        command = ["faketime", "-f", faketime, *command]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "DATABASE_URL", "AWS_"))}
    environment.update(env)
    process = subprocess.Popen(
        command, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=log.parent, start_new_session=True
    )
    proxy = Proxy(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 120
    while True:
        try:
            # and it is this process answering, not another on a port free_port handed out twice
            if proxy.status("/health/liveliness") == 200 and process.poll() is None:
                return proxy
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            proxy.stop()
            pytest.fail(f"the LiteLLM proxy did not start; last lines:\n{log.read_text()[-2000:]}")
        time.sleep(0.5)
