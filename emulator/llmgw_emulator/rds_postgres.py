"""RDS for PostgreSQL instances served by a real local PostgreSQL server, TLS only.

An instance created in the emulator gets a PostgreSQL server of its engine's
major version (Debian's ``postgresql-<major>``; RDS's 15 is Debian 12's
default), started with the instance's master user name and the password RDS
keeps in the instance's managed secret. Like RDS with ``rds.force_ssl=1`` it
refuses connections without TLS; the master may create roles and databases
but is not a superuser, as on RDS; the instance's ``DBName`` database is
owned by the master.

Where the emulator must differ from RDS, and why:

- The endpoint address is a loopback address of its own (``127.P.P.N``,
  from the emulator's port and the instance's number), not a DNS name,
  because nothing here can resolve ``*.rds.amazonaws.com``. The port is the
  instance's.
- The server certificate is issued by the emulator's own certificate
  authority (``ca.pem`` in the state directory), because no one outside AWS
  holds RDS's CA keys. It names the endpoint address, so ``verify-full``
  works. Clients fetch it from ``GET /moto-api/llmgw/rds-ca-bundle.pem``, an
  emulator-only endpoint that stands in for the bundle AWS publishes at
  https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem.
- Data lives only as long as the emulator: a snapshot records metadata, not
  data, and the master password is not rotated by RDS.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LocalPostgresError", "install", "stop_all"]

_INSTALLED = False
_STATE: dict[str, Any] = {"dir": None, "port": 4566, "ca": None}
_SERVERS: dict[str, LocalPostgres] = {}


class LocalPostgresError(Exception):
    """The emulator cannot serve this instance with a local PostgreSQL; the message says what is missing."""


@dataclass
class LocalPostgres:
    identifier: str
    address: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    binaries: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            # The server runs under runuser in a session of its own: signal the whole group.
            os.killpg(self.process.pid, signal.SIGINT)  # PostgreSQL's fast shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)


def configure(state_dir: Path | None, emulator_port: int) -> None:
    """Where the servers keep their data, and the emulator port their addresses derive from.

    Servers left behind by an emulator on the same port that was killed
    outright would hold the same addresses, so they are stopped first.
    """
    _STATE["dir"], _STATE["port"] = state_dir, emulator_port
    roots = [state_dir] if state_dir else []
    roots += list(Path(tempfile.gettempdir()).glob(f"llmgw-emulator-{emulator_port}-*"))
    for root in roots:
        for pid_file in Path(root).glob("*/data/postmaster.pid"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGQUIT)  # immediate shutdown
        if root != state_dir:
            shutil.rmtree(root, ignore_errors=True)


def state_dir() -> Path:
    if _STATE["dir"] is None:
        # Not under the repository: its parents are often private to root, and the server runs as postgres.
        _STATE["dir"] = Path(tempfile.mkdtemp(prefix=f"llmgw-emulator-{_STATE['port']}-"))
        _STATE["temporary"] = True
    path = Path(_STATE["dir"])
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o755)
    return path


def _binaries(major: str) -> Path:
    directory = Path(os.environ.get("LLMGW_POSTGRES_BIN", f"/usr/lib/postgresql/{major}/bin"))
    if not (directory / "postgres").exists():
        raise LocalPostgresError(
            f"RDS PostgreSQL {major} is served by a local PostgreSQL {major} server, which is not installed "
            f"(no {directory / 'postgres'}): apt-get install postgresql-{major}"
        )
    return directory


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _chown(*paths: Path) -> None:
    if os.geteuid() == 0:
        for path in paths:
            shutil.chown(path, "postgres", "postgres")


def _address(number: int) -> str:
    port = int(_STATE["port"])
    return f"127.{(port >> 8) & 255}.{port & 255}.{number}"


def certificate_authority() -> tuple[Any, Any, Path]:
    """The emulator's CA (key, certificate, PEM path), made once per emulator."""
    if _STATE["ca"] is not None:
        return _STATE["ca"]
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Local emulator RDS CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = state_dir() / "ca.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    os.chmod(path, 0o644)
    _STATE["ca"] = (key, certificate, path)
    return _STATE["ca"]


def _server_certificate(directory: Path, address: str, hostname: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_key, ca_certificate, _ = certificate_authority()
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address)), x509.DNSName(hostname)]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_path, certificate_path = directory / "server.key", directory / "server.crt"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    os.chmod(key_path, 0o600)
    return key_path, certificate_path


def start(identifier: str, major: str, port: int, master_user: str, master_password: str, dbname: str | None) -> str:
    """Start the instance's server and return its endpoint address. Raises LocalPostgresError."""
    binaries = _binaries(major)
    if shutil.which("runuser") is None and os.geteuid() == 0:
        raise LocalPostgresError("running PostgreSQL as root needs runuser (util-linux) to drop to user postgres")
    address = _address(len(_SERVERS) + 1)
    directory = state_dir() / identifier
    shutil.rmtree(directory, ignore_errors=True)
    data, sockets = directory / "data", directory / "sockets"
    sockets.mkdir(parents=True)
    key_path, certificate_path = _server_certificate(directory, address, f"{identifier}.local-emulator")
    _chown(directory, sockets, key_path, certificate_path)
    # RDS's own superuser is rdsadmin; here it connects only through a socket only postgres can open.
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "rdsadmin", "-A", "trust", "--no-sync",
              "--encoding", "UTF8", "--locale", "C"]  # fmt: skip
    result = subprocess.run(_as_postgres(initdb), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LocalPostgresError(f"initdb for {identifier} failed: {result.stderr.strip().splitlines()[-1:]}")
    (data / "pg_hba.conf").write_text(
        "local all rdsadmin trust\n"
        "hostssl all all 127.0.0.0/8 scram-sha-256\n"
        "hostnossl all all 0.0.0.0/0 reject\n"  # what rds.force_ssl=1 does
    )
    log = (directory / "postgres.log").open("wb")
    process = subprocess.Popen(
        _as_postgres([
            str(binaries / "postgres"), "-D", str(data), "-h", address, "-p", str(port), "-k", str(sockets),
            "-c", "ssl=on", "-c", f"ssl_cert_file={certificate_path}", "-c", f"ssl_key_file={key_path}",
            "-c", "fsync=off", "-c", "password_encryption=scram-sha-256", "-c", "unix_socket_permissions=0700",
        ]),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    log.close()
    server = LocalPostgres(identifier, address, port, directory, process, binaries)
    _SERVERS[identifier] = server
    try:
        _bootstrap(binaries, server, master_user, master_password, dbname)
    except LocalPostgresError:
        server.stop()
        _SERVERS.pop(identifier, None)
        raise
    return address


def _bootstrap(binaries: Path, server: LocalPostgres, master_user: str, password: str, dbname: str | None) -> None:
    """Create the RDS-like master: LOGIN, CREATEROLE and CREATEDB, a member of rds_superuser, not SUPERUSER."""
    psql = [str(binaries / "psql"), "-h", str(server.directory / "sockets"), "-p", str(server.port),
            "-U", "rdsadmin", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-f", "-"]  # fmt: skip
    deadline = time.monotonic() + 30
    while _psql(psql, "SELECT 1;").returncode != 0:
        if server.process.poll() is not None or time.monotonic() > deadline:
            log = (server.directory / "postgres.log").read_text(errors="replace").strip().splitlines()
            raise LocalPostgresError(
                f"the local PostgreSQL for {server.identifier} on {server.address}:{server.port} did not start: "
                + (log[-1] if log else "no log")
            )
        time.sleep(0.1)
    user, literal = '"' + master_user.replace('"', '""') + '"', "'" + password.replace("'", "''") + "'"
    # Statements go through stdin, so the password is never on a command line.
    script = (
        "CREATE ROLE rds_superuser NOLOGIN CREATEROLE CREATEDB;\n"
        f"CREATE ROLE {user} LOGIN CREATEROLE CREATEDB PASSWORD {literal} IN ROLE rds_superuser;\n"
    )
    result = _psql(psql, script)
    if result.returncode == 0 and dbname:
        result = _psql(psql, f'CREATE DATABASE "{dbname}" OWNER {user};')  # not inside a transaction
    if result.returncode != 0:
        raise LocalPostgresError(f"setting up the master user of {server.identifier} failed: {result.stderr.strip()}")


def _psql(psql: list[str], script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_as_postgres(psql), input=script, capture_output=True, text=True, check=False)


def server_version(identifier: str) -> str:
    """The running server's version, e.g. 15.18, as RDS reports its instances' versions."""
    server = _SERVERS[identifier]
    result = subprocess.run(
        _as_postgres([str(_binaries_of(server)), "--version"]), capture_output=True, text=True, check=False
    )
    return result.stdout.split()[-1] if result.returncode == 0 else ""


def _binaries_of(server: LocalPostgres) -> Path:
    return server.binaries / "postgres"


def stop(identifier: str) -> None:
    server = _SERVERS.pop(identifier, None)
    if server is not None:
        server.stop()


def stop_all() -> None:
    """Stop every server; a state directory the emulator made itself goes too (its CA included)."""
    for identifier in list(_SERVERS):
        stop(identifier)
    if _STATE.get("temporary") and _STATE["dir"] is not None:
        shutil.rmtree(_STATE["dir"], ignore_errors=True)
        _STATE.update(dir=None, temporary=False, ca=None)


def address_of(identifier: str) -> str | None:
    server = _SERVERS.get(identifier)
    return server.address if server else None


def _export_log_groups(account_id: str, region_name: str, instance: Any) -> None:
    """RDS publishes each exported log to ``/aws/rds/instance/<id>/<log>``, creating the group if absent.

    A group RDS creates has no KMS key and never expires, and outlives the
    instance and its stack. https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html
    """
    from moto.logs.models import logs_backends

    logs = logs_backends[account_id][region_name]
    for log in instance.enabled_cloudwatch_logs_exports or []:
        name = f"/aws/rds/instance/{instance.db_instance_identifier}/{log}"
        if name not in logs.groups:
            logs.create_log_group(name, {})


def ca_bundle_api(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """``GET /moto-api/llmgw/rds-ca-bundle.pem``: the CA that signs every local instance's certificate."""
    return 200, {"Content-Type": "application/x-pem-file"}, certificate_authority()[2].read_text()


def install() -> None:
    """Serve every postgres instance moto's RDS creates with a local server. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    import secrets
    import string

    from moto.moto_api._internal import urls
    from moto.rds.models import DBInstance, MasterUserSecret, RDSBackend

    urls.url_paths["{0}/moto-api/llmgw/rds-ca-bundle.pem"] = ca_bundle_api

    def secret_string(self: Any) -> str:
        # RDS stores the instance's own master user name and a generated password, not moto's fixed pair.
        import json

        alphabet = string.ascii_letters + string.digits + "!#$%&()*+,-.:;<=>?[]^_{|}~"
        password = "".join(secrets.choice(alphabet) for _ in range(28))
        return json.dumps({"username": self.resource.master_username, "password": password})

    MasterUserSecret._generate_secret_string = secret_string  # type: ignore[method-assign]

    original_create = RDSBackend.create_db_instance
    original_delete = RDSBackend.delete_db_instance

    def create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        instance = original_create(self, db_kwargs)
        if instance.engine != "postgres":
            return instance
        import json

        if getattr(instance, "master_user_secret", None) is not None:
            value = json.loads(instance.master_user_secret.secret.secret_string)
            user, password = value["username"], value["password"]
        else:
            user, password = instance.master_username, db_kwargs.get("master_user_password") or ""
        _export_log_groups(self.account_id, self.region_name, instance)
        if not db_kwargs.get("engine_version"):
            self.databases.pop(instance.db_instance_identifier, None)
            raise LocalPostgresError(
                "EngineVersion is not set: RDS would choose its current default version, which the emulator "
                "cannot know; set EngineVersion"
            )
        major = str(instance.engine_version).split(".")[0]
        try:
            start(instance.db_instance_identifier, major, int(instance.port or 5432), user, password, instance.db_name)
            if "." not in str(instance.engine_version):
                # RDS creates a major-only request on its default minor; here that is the server that runs.
                instance.engine_version = server_version(instance.db_instance_identifier)
        except LocalPostgresError:
            self.databases.pop(instance.db_instance_identifier, None)
            if getattr(instance, "master_user_secret", None) is not None:
                instance.master_user_secret.delete_secret()
            raise
        return instance

    def delete_db_instance(self: RDSBackend, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
        deleted = original_delete(self, db_instance_identifier, *args, **kwargs)
        stop(db_instance_identifier)
        return deleted

    def address(self: Any) -> str:
        local = address_of(self.db_instance_identifier)
        return local or f"{self.db_instance_identifier}.aaaaaaaaaa.{self.region}.rds.amazonaws.com"

    RDSBackend.create_db_instance = create_db_instance  # type: ignore[method-assign]
    RDSBackend.delete_db_instance = delete_db_instance  # type: ignore[method-assign]
    DBInstance.address = property(address)  # type: ignore[assignment,method-assign]
    _INSTALLED = True
