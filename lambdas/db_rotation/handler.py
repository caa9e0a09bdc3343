"""Rotates the gateway's PostgreSQL password every 30 days with two alternating users.

The database secret names one login user; each rotation sets a new password
on the *other* user (``litellm`` <-> ``litellm_clone``) and makes it current.
Connections and tasks using the previous user keep working until the next
rotation, 30 days later, long after finishSecret has redeployed the service.
Both users are members of one owner role and act as it, so tables made by
either (LiteLLM migrates at start) belong to both.

The users are managed with the RDS master credentials from ``MASTER_SECRET_ARN``
(the secret RDS manages). ``password`` and ``DATABASE_URL`` always change
together, and the URL is tested before it becomes current.

Environment: ``MASTER_SECRET_ARN``, ``DB_SSLMODE`` (require), ``ECS_CLUSTER``, ``ECS_SERVICE``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import psycopg2
from psycopg2 import sql

from llmgw_common import aws_clients
from llmgw_common.gateway_secrets import database_url, new_password
from llmgw_common.rotation import (
    RotationError,
    current_value,
    dispatch,
    finish_secret,
    logger,
    pending_value,
    store_pending,
)

CLONE_SUFFIX = "_clone"


def sslmode() -> str:
    return os.environ.get("DB_SSLMODE", "require")


def alternate_user(username: str) -> str:
    return username.removesuffix(CLONE_SUFFIX) if username.endswith(CLONE_SUFFIX) else username + CLONE_SUFFIX


def owner_role(username: str) -> str:
    return username.removesuffix(CLONE_SUFFIX) + "_owner"


def connect(secret: dict[str, Any], username: str | None = None, password: str | None = None) -> Any:
    return psycopg2.connect(
        host=secret["host"],
        port=int(secret["port"]),
        dbname=secret["dbname"],
        user=username or secret["username"],
        password=password if password is not None else secret["password"],
        sslmode=sslmode(),
        connect_timeout=5,
    )


def can_log_in(url: str) -> bool:
    try:
        psycopg2.connect(url, connect_timeout=5).close()
    except psycopg2.OperationalError:
        return False
    return True


def create_secret(client: Any, arn: str, token: str) -> None:
    """Stage the alternate user with a new password and the matching DATABASE_URL."""
    if pending_value(client, arn, token) is not None:
        logger.info("createSecret: version %s already staged", token)
        return
    current = current_value(client, arn)
    pending = {**current, "username": alternate_user(current["username"]), "password": new_password()}
    pending["DATABASE_URL"] = database_url(pending, sslmode())
    store_pending(client, arn, token, pending)
    logger.info("createSecret: staged version %s for user %s", token, pending["username"])


def _ensure_login(cursor: Any, username: str, password: str, owner: str) -> None:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (username,))
    if cursor.fetchone() is None:
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(username)))
    cursor.execute(
        sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(sql.Identifier(username), sql.Literal(password))
    )
    cursor.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner), sql.Identifier(username)))
    # Act as the owner role, so objects either user creates belong to both.
    cursor.execute(sql.SQL("ALTER ROLE {} SET role TO {}").format(sql.Identifier(username), sql.Identifier(owner)))


def set_secret(client: Any, arn: str, token: str) -> None:
    """Give the pending user its password, creating the users and owner role on first use."""
    pending, current = pending_value(client, arn, token), current_value(client, arn)
    if pending is None:
        raise RotationError(f"setSecret: version {token} was never staged")
    if can_log_in(pending["DATABASE_URL"]):
        logger.info("setSecret: user %s already has the staged password", pending["username"])
        return
    master = json.loads(client.get_secret_value(SecretId=os.environ["MASTER_SECRET_ARN"])["SecretString"])
    owner = owner_role(current["username"])
    with connect(current, master["username"], master["password"]) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,))
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(owner)))
            # The master may hand the schema to a role only as its member (PostgreSQL 15, RDS alike).
            cursor.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(owner)))
            cursor.execute(
                sql.SQL("GRANT ALL ON DATABASE {} TO {}").format(
                    sql.Identifier(current["dbname"]), sql.Identifier(owner)
                )
            )
            cursor.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))
        # The first rotation also creates the user the initial secret names, so AWSCURRENT works.
        if not can_log_in(current.get("DATABASE_URL") or database_url(current, sslmode())):
            _ensure_login(cursor, current["username"], current["password"], owner)
        _ensure_login(cursor, pending["username"], pending["password"], owner)
    conn.close()
    logger.info("setSecret: set the password of user %s", pending["username"])


def test_secret(client: Any, arn: str, token: str) -> None:
    """Log in through the staged DATABASE_URL itself, so a URL that does not parse never becomes current."""
    pending = pending_value(client, arn, token)
    if pending is None:
        raise RotationError(f"testSecret: version {token} was never staged")
    if pending["DATABASE_URL"] != database_url(pending, sslmode()):
        raise RotationError(f"testSecret: version {token}: DATABASE_URL does not match the other fields")
    with psycopg2.connect(pending["DATABASE_URL"], connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT current_user, has_database_privilege(current_database(), 'CONNECT')")
        user, allowed = cursor.fetchone()
    conn.close()
    if not allowed:
        raise RotationError(f"testSecret: user {user} cannot use the database")
    logger.info("testSecret: user %s logs in with version %s", pending["username"], token)


STEPS = {
    "createSecret": create_secret,
    "setSecret": set_secret,
    "testSecret": test_secret,
    "finishSecret": finish_secret,
}


def lambda_handler(event: dict[str, str], context: Any) -> None:
    dispatch(event, STEPS, aws_clients.client("secretsmanager"))
