"""A real PostgreSQL 15 server on 127.0.0.1 that, like RDS with rds.force_ssl=1, accepts only TLS.

Debian's ``postgresql`` package provides the server. PostgreSQL refuses to
run as root, so as root it runs as the ``postgres`` user. The master role is
not a superuser, as on RDS: it may create roles and owns the database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from llmgw.net import free_port
from tests.support import missing

BIN = Path("/usr/lib/postgresql/15/bin")
MASTER_USER, MASTER_PASSWORD, DATABASE = "rds_master", "master-Pa55:word", "litellm"


@dataclass
class Postgres:
    host: str
    port: int
    process: subprocess.Popen
    workdir: Path

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def certificate(self) -> Path:
        """The server's self-signed certificate: the one trust anchor that verifies it."""
        return self.workdir / "server.crt"

    @property
    def trust_dir(self) -> Path:
        """A directory laid out like the zip's rds-ca/ (one <region>.pem each), trusting this server alone."""
        directory = self.workdir / "rds-ca"
        directory.mkdir(exist_ok=True)
        for region in ("us-east-1",):
            shutil.copyfile(self.certificate, directory / f"{region}.pem")
        return directory

    def master_secret(self) -> dict[str, object]:
        return {"username": MASTER_USER, "password": MASTER_PASSWORD}

    def connect(self, user: str, password: str) -> psycopg2.extensions.connection:
        return psycopg2.connect(
            host=self.host,
            port=self.port,
            dbname=DATABASE,
            user=user,
            password=password,
            sslmode="require",
            connect_timeout=5,
        )


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def start() -> Postgres:
    if not (BIN / "postgres").exists() or shutil.which("openssl") is None:
        message = f"needs PostgreSQL 15 in {BIN} and openssl (Debian packages postgresql, openssl)"
        missing(message)
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    workdir = Path(tempfile.mkdtemp(prefix="llmgw-postgres-"))
    data, sockets = workdir / "data", workdir / "sockets"
    sockets.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(workdir / "server.key"), "-out", str(workdir / "server.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    os.chmod(workdir / "server.key", 0o600)
    if os.geteuid() == 0:
        for path in (workdir, sockets, workdir / "server.key", workdir / "server.crt"):
            shutil.chown(path, "postgres", "postgres")
    subprocess.run(
        _as_postgres([str(BIN / "initdb"), "-D", str(data), "-U", "bootstrap", "-A", "trust", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    (data / "pg_hba.conf").write_text(
        "local all bootstrap trust\n"
        "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        "hostnossl all all 127.0.0.1/32 reject\n"  # what rds.force_ssl=1 does
    )
    port = free_port()
    process = subprocess.Popen(
        _as_postgres([
            str(BIN / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(sockets),
            "-c", "ssl=on",
            "-c", f"ssl_cert_file={workdir / 'server.crt'}",
            "-c", f"ssl_key_file={workdir / 'server.key'}",
            "-c", "fsync=off",
        ]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    psql = [
        str(BIN / "psql"),
        "-h",
        str(sockets),
        "-p",
        str(port),
        "-U",
        "bootstrap",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
    ]
    deadline = time.monotonic() + 30
    while subprocess.run(_as_postgres([*psql, "-c", "SELECT 1"]), capture_output=True).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("PostgreSQL did not start")
        time.sleep(0.2)
    for statement in (
        f"CREATE ROLE {MASTER_USER} LOGIN CREATEROLE CREATEDB PASSWORD '{MASTER_PASSWORD}'",
        f"CREATE DATABASE {DATABASE} OWNER {MASTER_USER}",  # may not share a transaction
    ):
        subprocess.run(_as_postgres([*psql, "-c", statement]), check=True, capture_output=True)
    return Postgres("127.0.0.1", port, process, workdir)
