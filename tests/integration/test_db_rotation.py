"""The database rotation function, run step by step as Secrets Manager runs it.

Real PostgreSQL 15 (TLS only, a non-superuser master as on RDS), moto's
Secrets Manager, RDS and ECS in-process. moto gives every instance a made-up
endpoint, so the instance's address is pointed at the real server; the
function trusts the server's own certificate in place of the RDS CA bundle.
Each test uses its own user names, so the tests share one server.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import psycopg2
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.rds.models import DBInstance

from llmgw_common.gateway_secrets import database_url, libpq_parameters
from tests.integration import postgres as pg
from tests.integration.rotation_calls import (
    STEPS,
    enable_rotation,
    event,
    issue_token,
    recorded_aws_calls,
    role_actions,
)
from tools.render import ROOT


def load_handler(function: str) -> Any:
    """Import a function's handler.py under a unique name (both functions call it handler)."""
    spec = importlib.util.spec_from_file_location(f"{function}_handler", ROOT / "lambdas" / function / "handler.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


handler = load_handler("db_rotation")
REGION = "us-east-1"


@pytest.fixture(scope="module")
def server() -> Iterator[pg.Postgres]:
    database = pg.start()
    yield database
    database.stop()


@dataclass
class Rotation:
    """One database secret under rotation, and the means to drive and inspect it."""

    client: Any
    arn: str
    server: pg.Postgres

    def invoke(self, step: str, token: str) -> None:
        handler.lambda_handler(event(self.arn, token, step), None)

    def rotate(self) -> str:
        token = issue_token(self.arn)
        for step in STEPS:
            self.invoke(step, token)
        return token

    def value(self, stage: str = "AWSCURRENT") -> dict[str, Any]:
        return json.loads(self.client.get_secret_value(SecretId=self.arn, VersionStage=stage)["SecretString"])

    def stages(self) -> dict[str, list[str]]:
        return self.client.describe_secret(SecretId=self.arn)["VersionIdsToStages"]

    def connect(self, secret: dict[str, Any]) -> Any:
        """Connect with the secret's DATABASE_URL, verifying the server as the gateway would."""
        return psycopg2.connect(**libpq_parameters(secret["DATABASE_URL"], str(self.server.certificate)))

    def connects(self, secret: dict[str, Any]) -> bool:
        try:
            self.connect(secret).close()
        except psycopg2.OperationalError:
            return False
        return True


@pytest.fixture
def rotation(server, monkeypatch) -> Iterator[Rotation]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)  # as Lambda sets it
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("secretsmanager")
        master = client.create_secret(Name="rds-master", SecretString=json.dumps(server.master_secret()))["ARN"]
        monkeypatch.setenv("MASTER_SECRET_ARN", master)
        # As the stacks leave it: generated credentials, host and port from the
        # target attachment, DATABASE_URL from !seed_database_url.
        initial = {
            "username": f"app_{uuid.uuid4().hex[:8]}",
            "password": "initial@:/?#%Pass",
            "dbname": pg.DATABASE,
            "port": server.port,
            "host": server.host,
            "engine": "postgres",
        }
        initial["DATABASE_URL"] = database_url(initial, REGION)
        arn = client.create_secret(Name=f"database-{uuid.uuid4().hex[:6]}", SecretString=json.dumps(initial))["ARN"]
        enable_rotation(arn)
        boto3.client("rds").create_db_instance(
            DBInstanceIdentifier="dev-litellm-db", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername=pg.MASTER_USER, MasterUserPassword=pg.MASTER_PASSWORD, Port=server.port,
        )  # fmt: skip
        monkeypatch.setattr(DBInstance, "address", property(lambda _: server.host))
        monkeypatch.setenv("DB_INSTANCE_IDENTIFIER", "dev-litellm-db")
        monkeypatch.setenv("DB_USERNAME", initial["username"])
        monkeypatch.setattr(handler, "CA_DIR", server.trust_dir)
        yield Rotation(client, arn, server)


def test_rotation__new_awscurrent_credentials_and_url_connect(rotation):
    before = rotation.value()

    rotation.rotate()

    after = rotation.value()
    assert after["username"] != before["username"] and after["password"] != before["password"]
    assert after["DATABASE_URL"] == database_url(after, REGION)
    assert rotation.connects(after)
    with rotation.server.connect(after["username"], after["password"]) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT session_user, current_user")  # logs in as itself, acts as the owner role
        assert cursor.fetchone() == (after["username"], after["username"].removesuffix("_clone") + "_owner")


def test_rotation__previous_credentials_keep_working_until_the_next_rotation(rotation):
    rotation.rotate()  # the first rotation creates both users
    first = rotation.value()
    open_connection = rotation.connect(first)

    rotation.rotate()
    previous, current = rotation.value("AWSPREVIOUS"), rotation.value()

    assert previous["username"] == first["username"] != current["username"]
    with open_connection.cursor() as cursor:  # a task's pooled connection survives
        cursor.execute("SELECT 1")
    assert rotation.connects(previous), "a task starting with the previous credentials still connects"
    assert rotation.connects(current)

    rotation.rotate()

    assert not rotation.connects(previous), "the rotation after next retires the old password"
    assert rotation.connects(rotation.value())
    open_connection.close()


def test_rotation__tables_created_by_either_user_belong_to_both(rotation):
    rotation.rotate()
    first = rotation.value()
    with rotation.connect(first) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE TABLE spend_{uuid.uuid4().hex[:6]} (x int)")  # as LiteLLM's migrations do
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename DESC LIMIT 1")
        (table,) = cursor.fetchone()
    conn.close()

    rotation.rotate()

    with rotation.connect(rotation.value()) as conn, conn.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} VALUES (1)")
        cursor.execute(f"DROP TABLE {table}")
    conn.close()


def test_rotation__password_with_url_special_characters__gives_a_url_that_connects(rotation, monkeypatch):
    special = "p@ss:w/rd?#%25&+="
    monkeypatch.setattr(handler, "new_password", lambda: special)

    rotation.rotate()

    current = rotation.value()
    assert current["password"] == special
    assert libpq_parameters(current["DATABASE_URL"], "")["password"] == special
    assert rotation.connects(current)


def _fail_after(step: Callable, message: str) -> Callable:
    def run_then_fail(*args: Any) -> None:
        step(*args)
        raise RuntimeError(message)

    return run_then_fail


@pytest.mark.parametrize("failing", STEPS)
def test_rotation__failure_after_a_step_then_retry__ends_consistent_with_awscurrent_working(
    rotation, monkeypatch, failing
):
    rotation.rotate()  # users exist; AWSCURRENT works
    token = issue_token(rotation.arn)
    current_before = rotation.value()

    with monkeypatch.context() as patch:
        patch.setitem(handler.STEPS, failing, _fail_after(handler.STEPS[failing], f"injected after {failing}"))
        for step in STEPS:
            try:
                rotation.invoke(step, token)
            except RuntimeError:
                break
            finally:
                assert rotation.connects(rotation.value()), f"AWSCURRENT stopped working after {step}"
    if failing != "finishSecret":
        assert rotation.value() == current_before, "AWSCURRENT moved before the rotation finished"

    for step in STEPS:  # Secrets Manager retries with the same token
        rotation.invoke(step, token)
        assert rotation.connects(rotation.value()), f"AWSCURRENT stopped working after the retried {step}"

    final = rotation.value()
    assert final["DATABASE_URL"] == database_url(final, REGION)
    assert "AWSCURRENT" in rotation.stages()[token]
    assert rotation.connects(final)


def test_rotation__reinvoking_finished_steps__changes_nothing(rotation):
    token = rotation.rotate()
    stages, value = rotation.stages(), rotation.value()

    for step in STEPS:
        rotation.invoke(step, token)

    assert rotation.stages() == stages
    assert rotation.value() == value


def test_rotation__finish__redeploys_the_service(rotation, monkeypatch):
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName="dev-litellm")
    ecs.register_task_definition(family="proxy", containerDefinitions=[{"name": "p", "image": "x", "memory": 128}])
    ecs.create_service(cluster="dev-litellm", serviceName="dev-litellm-proxy", taskDefinition="proxy", desiredCount=1)
    (before,) = ecs.describe_services(cluster="dev-litellm", services=["dev-litellm-proxy"])["services"]
    monkeypatch.setenv("ECS_CLUSTER", "dev-litellm")
    monkeypatch.setenv("ECS_SERVICE", "dev-litellm-proxy")

    rotation.rotate()

    (after,) = ecs.describe_services(cluster="dev-litellm", services=["dev-litellm-proxy"])["services"]
    assert after["deployments"][0]["id"] != before["deployments"][0]["id"]


def test_dispatcher__a_token_secrets_manager_never_issued__is_refused_at_every_step(rotation):
    """As AWS's reference functions do: createSecret too, or any caller could stage a version."""
    for step in STEPS:
        with pytest.raises(handler.RotationError, match=r"has no stage for rotation"):
            rotation.invoke(step, str(uuid.uuid4()))
    assert list(rotation.stages().values()) == [["AWSCURRENT"]], "nothing was staged"


def test_rotation__a_redeploy_that_fails_after_awscurrent_moved__is_done_by_secrets_managers_retry(
    rotation, monkeypatch
):
    """finishSecret moves AWSCURRENT first; the retry Secrets Manager makes must still redeploy the tasks."""
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName="dev-litellm")
    ecs.register_task_definition(family="proxy", containerDefinitions=[{"name": "p", "image": "x", "memory": 128}])
    ecs.create_service(cluster="dev-litellm", serviceName="dev-litellm-proxy", taskDefinition="proxy", desiredCount=1)
    (before,) = ecs.describe_services(cluster="dev-litellm", services=["dev-litellm-proxy"])["services"]
    monkeypatch.setenv("ECS_CLUSTER", "dev-litellm")
    monkeypatch.setenv("ECS_SERVICE", "dev-litellm-proxy")
    real_client, failures = boto3.client, []

    def client(service: str, *args: Any, **kwargs: Any) -> Any:
        made = real_client(service, *args, **kwargs)
        if service == "ecs" and not failures:

            def throttled(**call: Any) -> None:
                failures.append(call)
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "UpdateService"
                )

            made.update_service = throttled
        return made

    token = issue_token(rotation.arn)
    for step in STEPS[:3]:
        rotation.invoke(step, token)
    monkeypatch.setattr(boto3, "client", client)
    with pytest.raises(ClientError, match="Rate exceeded"):
        rotation.invoke("finishSecret", token)
    assert "AWSCURRENT" in rotation.stages()[token], "the stage moved before the redeploy failed"

    rotation.invoke("finishSecret", token)  # Secrets Manager's retry

    (after,) = ecs.describe_services(cluster="dev-litellm", services=["dev-litellm-proxy"])["services"]
    assert len(failures) == 1
    assert after["deployments"][0]["id"] != before["deployments"][0]["id"], "the retry redeployed the service"


# ---- A confused deputy: setSecret acts with the RDS master's credentials on what AWSCURRENT says.
# As AWS's multi-user reference function does, it checks the users, the host and the current
# login before it uses them, and verifies the server's certificate.
# https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas (SecretsManagerRDSPostgreSQLRotationMultiUser)


def _tamper(rotation: Rotation, **changes: Any) -> None:
    """Write AWSCURRENT as someone allowed to edit the secret, but not to know the database's passwords, could."""
    value, client = {**rotation.value(), **changes}, rotation.client
    version = client.put_secret_value(SecretId=rotation.arn, SecretString=json.dumps(value), VersionStages=["edit"])
    # moto's PutSecretValue leaves AWSCURRENT where it was after a rotation; move it as AWS would.
    (current,) = [v for v, stages in rotation.stages().items() if "AWSCURRENT" in stages]
    client.update_secret_version_stage(
        SecretId=rotation.arn,
        VersionStage="AWSCURRENT",
        MoveToVersionId=version["VersionId"],
        RemoveFromVersionId=current,
    )
    assert rotation.value() == value


def _master_logs_in(server: pg.Postgres) -> bool:
    try:
        server.connect(pg.MASTER_USER, pg.MASTER_PASSWORD).close()
    except psycopg2.OperationalError:
        return False
    return True


def test_set_secret__a_secret_naming_the_master_as_its_alternate__is_refused_and_the_masters_password_kept(rotation):
    rotation.rotate()
    _tamper(rotation, username=f"{pg.MASTER_USER}_clone")  # the next rotation would set the password of rds_master

    with pytest.raises(handler.RotationError, match="master"):
        rotation.rotate()

    assert _master_logs_in(rotation.server)


def test_set_secret__a_user_other_than_the_gateways_two__is_refused(rotation):
    rotation.rotate()
    _tamper(rotation, username="reporting")

    with pytest.raises(handler.RotationError, match="reporting"):
        rotation.rotate()


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A server on another address that records whoever connects to it, and answers nothing."""
    import socket
    import threading

    sock, seen = socket.create_server(("127.0.0.2", 0)), []
    sock.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, peer = sock.accept()
            except TimeoutError:
                continue
            seen.append(peer[0])
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.2:{sock.getsockname()[1]}", seen
    stop.set()
    thread.join()
    sock.close()


def test_set_secret__a_host_other_than_the_instances__is_refused_before_any_password_is_sent(rotation, listener):
    rotation.rotate()
    address, seen = listener
    host, port = address.split(":")
    _tamper(rotation, host=host, port=int(port))

    with pytest.raises(handler.RotationError, match=r"127\.0\.0\.2.*dev-litellm-db"):
        rotation.rotate()

    assert seen == [], "the function connected to a host RDS does not know"


def test_set_secret__current_credentials_that_do_not_log_in__are_refused_and_no_password_is_reset(rotation):
    rotation.rotate()  # both users exist now
    current = rotation.value()
    _tamper(rotation, password="a password the attacker chose")

    with pytest.raises(handler.RotationError, match="AWSCURRENT"):
        rotation.rotate()

    with rotation.server.connect(current["username"], current["password"]):
        pass  # the user's real password still works: nothing reset it


def test_rotation__a_server_whose_certificate_the_rds_bundle_does_not_verify__is_refused(rotation, monkeypatch):
    """sslmode=require encrypts but believes any server; the function verifies it as verify-full does."""
    # The region's RDS root the zip carries, as on Lambda: it did not sign the test server's certificate.
    monkeypatch.setattr(handler, "CA_DIR", ROOT / "lambdas" / "db_rotation" / "rds-ca")
    before = rotation.value()

    with pytest.raises((handler.RotationError, psycopg2.OperationalError), match="certificate"):
        rotation.rotate()

    assert rotation.value() == before


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_rotation__calls_only_what_the_functions_role_allows(rotation, monkeypatch, deployed, env):
    """IAM is not evaluated in moto or the emulator, so the calls are recorded and held against the role."""
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName="dev-litellm")
    ecs.register_task_definition(family="proxy", containerDefinitions=[{"name": "p", "image": "x", "memory": 128}])
    ecs.create_service(cluster="dev-litellm", serviceName="dev-litellm-proxy", taskDefinition="proxy", desiredCount=1)
    monkeypatch.setenv("ECS_CLUSTER", "dev-litellm")
    monkeypatch.setenv("ECS_SERVICE", "dev-litellm-proxy")

    with recorded_aws_calls() as calls:
        rotation.rotate()

    allowed = role_actions(deployed[env]["database"].resource("DbRotationRole"))
    assert "rds:DescribeDBInstances" in calls and "ecs:UpdateService" in calls
    assert calls <= allowed, f"the role lacks {sorted(calls - allowed)}"


# ---- LiteLLM's own schema under the alternating logins ----------------------------------------------------

STAND_IN = ROOT / "emulator" / "llmgw_emulator" / "standins" / "prisma_migration.py"
GATEWAY_PYTHON = ROOT / ".venv-gateway" / "bin" / "python"
_APPLY = """
import os, runpy, sys
migrate = runpy.run_path(sys.argv[1])
up_to = sys.argv[2] or None
print(len(migrate["apply"](os.environ["LLMGW_TEST_DSN"], migrate["migrations_dir"](), up_to)))
"""


def _migrate_as(rotation: Rotation, secret: dict[str, Any], up_to: str | None = None) -> int:
    """Apply LiteLLM's migrations (litellm-proxy-extras at the pinned release) as ``secret``'s login."""
    import os
    import subprocess

    from psycopg2.extensions import make_dsn

    dsn = make_dsn(**libpq_parameters(secret["DATABASE_URL"], str(rotation.server.certificate)))
    result = subprocess.run(
        [str(GATEWAY_PYTHON), "-c", _APPLY, str(STAND_IN), up_to or ""],
        env={**os.environ, "LLMGW_TEST_DSN": dsn},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return int(result.stdout.strip().splitlines()[-1])


def test_litellm_schema__half_migrated_by_one_login__the_other_uses_every_table_and_migrates_the_rest(rotation):
    if not GATEWAY_PYTHON.exists():
        pytest.fail("needs .venv-gateway (make gateway-venv): LiteLLM's migrations ship in litellm-proxy-extras")
    (migrations,) = (ROOT / ".venv-gateway").glob("lib/python*/site-packages/litellm_proxy_extras/migrations")
    shipped = sorted(p.name for p in migrations.iterdir() if (p / "migration.sql").is_file())
    rotation.rotate()  # the first rotation creates both logins
    first = rotation.value()
    halfway = shipped[len(shipped) // 2]

    assert _migrate_as(rotation, first, up_to=halfway) == len(shipped) // 2 + 1
    rotation.rotate()
    second = rotation.value()
    assert second["username"] != first["username"]
    with rotation.connect(second) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'LiteLLM_%'")
        tables = [r[0] for r in cursor.fetchall()]
        for table in tables:  # privileges are checked before a statement runs, rows or none
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{table}" WHERE false')
            cursor.execute(f'DELETE FROM "{table}" WHERE false')
    conn.close()

    assert _migrate_as(rotation, second) == len(shipped) - (len(shipped) // 2 + 1)
    with rotation.connect(second) as conn, conn.cursor() as cursor:
        cursor.execute('SELECT count(*), count(finished_at) FROM "_prisma_migrations"')
        assert cursor.fetchone() == (len(shipped), len(shipped))
        cursor.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'LiteLLM_%'"
        )
        assert [r[0] for r in cursor.fetchall()] == [first["username"].removesuffix("_clone") + "_owner"]
    conn.close()
    assert len(tables) > 20, tables
