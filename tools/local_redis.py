"""A Redis server on loopback that takes only TLS clients with its password, as the gateway's cache does on AWS.

Debian's ``redis-server``, started with a one-day self-signed certificate for
127.0.0.1 (openssl) and a random password, both passed on stdin and in files
private to the run, never on a command line. Used by the shared-state test
(tests/integration/test_litellm_shared_state.py) and by ``make bench``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from llmgw.net import free_port

REDIS_SERVER = os.environ.get("LLMGW_REDIS_SERVER", "/usr/bin/redis-server")


class LocalRedisError(Exception):
    """The local Redis cannot run here; the message says what is missing."""


@dataclass
class LocalRedis:
    host: str
    port: int
    password: str
    ca: Path
    directory: Path
    process: subprocess.Popen[bytes]

    def environment(self) -> dict[str, str]:
        """What a gateway task gets on AWS (REDIS_*), plus the CA this server's certificate chains to."""
        return {
            "REDIS_HOST": self.host,
            "REDIS_PORT": str(self.port),
            "REDIS_PASSWORD": self.password,
            "REDIS_SSL": "true",
            "REDIS_SSL_CA_CERTS": str(self.ca),
        }

    def command(self, *args: str) -> str:
        """One redis-cli command over TLS; its output."""
        # REDISCLI_AUTH keeps the password off the command line.
        result = subprocess.run(
            ["redis-cli", "--tls", "--cacert", str(self.ca), "-h", self.host, "-p", str(self.port), *args],
            env={**os.environ, "REDISCLI_AUTH": self.password}, capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        return result.stdout.strip()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)


def start() -> LocalRedis:
    for tool in (REDIS_SERVER, "redis-cli", "openssl"):
        if not (Path(tool).exists() or shutil.which(tool)):
            raise LocalRedisError(f"needs {tool} (Debian packages redis-server, openssl)")
    directory = Path(tempfile.mkdtemp(prefix="llmgw-redis-"))
    key, certificate = directory / "server.key", directory / "server.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    os.chmod(key, 0o600)
    port, password = free_port(), secrets.token_urlsafe(32)
    config = [
        "bind 127.0.0.1", "protected-mode no", "port 0", f"tls-port {port}", f"tls-cert-file {certificate}",
        f"tls-key-file {key}", f"tls-ca-cert-file {certificate}", "tls-auth-clients no", f'requirepass "{password}"',
        'save ""', "appendonly no", f"dir {directory}", f"logfile {directory / 'redis.log'}",
    ]  # fmt: skip
    process = subprocess.Popen(
        [REDIS_SERVER, "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(("\n".join(config) + "\n").encode())
    process.stdin.close()
    server = LocalRedis("127.0.0.1", port, password, certificate, directory, process)
    deadline = time.monotonic() + 15
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return server
        if process.poll() is not None or time.monotonic() > deadline:
            log = (directory / "redis.log").read_text(errors="replace") if (directory / "redis.log").exists() else ""
            server.stop()
            raise LocalRedisError(f"redis-server did not start: {log.strip().splitlines()[-1:] or 'no log'}")
        time.sleep(0.1)
