"""The database rotation function, run step by step as Secrets Manager runs it.

Real PostgreSQL 15 (TLS only, a non-superuser master as on RDS), moto's
Secrets Manager and ECS in-process. Each test uses its own user names, so the
tests share one server.
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

from llmgw_common.gateway_secrets import database_url
from tests.integration import postgres as pg
from tests.integration.rotation_calls import STEPS, enable_rotation, event, issue_token
from tools.render import ROOT


def load_handler(function: str) -> Any:
    """Import a function's handler.py under a unique name (both functions call it handler)."""
    spec = importlib.util.spec_from_file_location(f"{function}_handler", ROOT / "lambdas" / function / "handler.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


handler = load_handler("db_rotation")


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

    def connects(self, secret: dict[str, Any]) -> bool:
        try:
            psycopg2.connect(secret["DATABASE_URL"], connect_timeout=5).close()
        except psycopg2.OperationalError:
            return False
        return True


@pytest.fixture
def rotation(server, monkeypatch) -> Iterator[Rotation]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("DB_SSLMODE", "require")
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
        initial["DATABASE_URL"] = database_url(initial)
        arn = client.create_secret(Name=f"database-{uuid.uuid4().hex[:6]}", SecretString=json.dumps(initial))["ARN"]
        enable_rotation(arn)
        yield Rotation(client, arn, server)


def test_rotation__new_awscurrent_credentials_and_url_connect(rotation):
    before = rotation.value()

    rotation.rotate()

    after = rotation.value()
    assert after["username"] != before["username"] and after["password"] != before["password"]
    assert after["DATABASE_URL"] == database_url(after)
    assert rotation.connects(after)
    with rotation.server.connect(after["username"], after["password"]) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT session_user, current_user")  # logs in as itself, acts as the owner role
        assert cursor.fetchone() == (after["username"], after["username"].removesuffix("_clone") + "_owner")


def test_rotation__previous_credentials_keep_working_until_the_next_rotation(rotation):
    rotation.rotate()  # the first rotation creates both users
    first = rotation.value()
    open_connection = psycopg2.connect(first["DATABASE_URL"])

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
    with psycopg2.connect(first["DATABASE_URL"]) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE TABLE spend_{uuid.uuid4().hex[:6]} (x int)")  # as LiteLLM's migrations do
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename DESC LIMIT 1")
        (table,) = cursor.fetchone()
    conn.close()

    rotation.rotate()

    with psycopg2.connect(rotation.value()["DATABASE_URL"]) as conn, conn.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} VALUES (1)")
        cursor.execute(f"DROP TABLE {table}")
    conn.close()


def test_rotation__password_with_url_special_characters__gives_a_url_that_connects(rotation, monkeypatch):
    special = "p@ss:w/rd?#%25&+="
    monkeypatch.setattr(handler, "new_password", lambda: special)

    rotation.rotate()

    current = rotation.value()
    assert current["password"] == special
    assert psycopg2.extensions.parse_dsn(current["DATABASE_URL"])["password"] == special
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
    assert final["DATABASE_URL"] == database_url(final)
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
