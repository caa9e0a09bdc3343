"""The LLM providers the emulator's tasks call: the repository's fake OpenAI-compatible upstream.

Tasks on AWS reach api.openai.com and the others through the NAT gateway;
these machines have no internet. The emulator starts ``tools/fake_upstream.py``
on a free port and gives each task its URL as ``OPENAI_API_BASE``
(``LLMGW_PROVIDER_BASE_URL`` names another one instead). Anthropic and Bedrock
models have no stand-in, and calls to them fail, as they would with no route.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["start", "stop"]

_PROCESS: list[subprocess.Popen[bytes]] = []
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def start(state_dir: Path) -> str:
    """The provider base URL for tasks, starting the fake upstream unless one is named."""
    if os.environ.get("LLMGW_PROVIDER_BASE_URL"):
        return os.environ["LLMGW_PROVIDER_BASE_URL"]
    from llmgw.net import free_port

    port = free_port()
    with (state_dir / "provider.log").open("ab") as log:
        pdeathsig = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        process = subprocess.Popen(
            [*pdeathsig, sys.executable, "-m", "tools.fake_upstream", "--port", str(port)],
            cwd=REPOSITORY_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _PROCESS.append(process)
    deadline = time.monotonic() + 15
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return f"http://127.0.0.1:{port}/v1"
        if process.poll() is not None or time.monotonic() > deadline:
            log = state_dir / "provider.log"
            raise ProviderError(f"the stand-in provider (tools.fake_upstream) did not start; see {log}")
        time.sleep(0.1)


class ProviderError(Exception):
    """The stand-in provider could not start."""


def stop() -> None:
    for process in _PROCESS:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
    _PROCESS.clear()
