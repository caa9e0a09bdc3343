"""Rotates the gateway's PostgreSQL password every 30 days with two alternating users.

The database secret names one login user; each rotation sets a new password
on the *other* user (``litellm`` <-> ``litellm_clone``) and makes it current.
Connections and tasks using the previous user keep working until the next
rotation, 30 days later, long after finishSecret has redeployed the service.
Both users are members of one owner role and act as it, so tables made by
either (LiteLLM migrates at start) belong to both.

The users are managed with the RDS master credentials from ``MASTER_SECRET_ARN``
(the secret RDS manages). Because the function acts as the master on what the
database secret says, setSecret first checks it as AWS's multi-user reference
function does: the users are the gateway's two and not the master, the host is
the instance's endpoint as RDS reports it, and AWSCURRENT's own login works.
Every connection verifies the server (``verify-full``) against the region's
RDS root in the zip, the same one file DATABASE_URL makes Prisma verify with.
``password`` and ``DATABASE_URL`` always change together, and the URL is
tested before it becomes current.

Environment: ``MASTER_SECRET_ARN``, ``DB_INSTANCE_IDENTIFIER``, ``DB_USERNAME``
(the gateway's user; its alternate is ``<DB_USERNAME>_clone``), ``ECS_CLUSTER``,
``ECS_SERVICE``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

from llmgw_common import aws_clients
from llmgw_common.gateway_secrets import UnverifiedUrlError, database_url, libpq_parameters, new_password
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
# One <region>.pem per region beside this file in the zip: the root of the CA the database
# template pins (image/rds-ca/), the very file DATABASE_URL names for Prisma; in the rehearsal, its CA.
CA_DIR = Path(__file__).with_name("rds-ca")
# Roles RDS and PostgreSQL keep for themselves; a rotation never sets their passwords.
RESERVED_PREFIXES = ("rds", "pg_")


def alternate_user(username: str) -> str:
    return username.removesuffix(CLONE_SUFFIX) if username.endswith(CLONE_SUFFIX) else username + CLONE_SUFFIX


def owner_role(username: str) -> str:
    return username.removesuffix(CLONE_SUFFIX) + "_owner"


def region() -> str:
    return os.environ["AWS_REGION"]  # set by Lambda


def root_certificate() -> str:
    return str(CA_DIR / f"{region()}.pem")


def connect(secret: dict[str, Any], username: str | None = None, password: str | None = None) -> Any:
    return psycopg2.connect(
        host=secret["host"],
        port=int(secret["port"]),
        dbname=secret["dbname"],
        user=username or secret["username"],
        password=password if password is not None else secret["password"],
        sslmode="verify-full",
        sslrootcert=root_certificate(),
        connect_timeout=5,
    )


def can_log_in(secret: dict[str, Any]) -> bool:
    """Whether the secret's own user and password log in; a server that fails verification raises."""
    try:
        connect(secret).close()
    except psycopg2.OperationalError as error:
        # libpq gives no SQLSTATE for a refused login; with scram-sha-256 (RDS's default) an
        # unknown user gets this same message, so a missing database or a TLS failure still raises.
        if "password authentication failed" in str(error):
            return False
        raise
    return True


def create_secret(client: Any, arn: str, token: str) -> None:
    """Stage the alternate user with a new password and the matching DATABASE_URL."""
    if pending_value(client, arn, token) is not None:
        logger.info("createSecret: version %s already staged", token)
        return
    current = current_value(client, arn)
    pending = {**current, "username": alternate_user(current["username"]), "password": new_password()}
    pending["DATABASE_URL"] = database_url(pending, region())
    store_pending(client, arn, token, pending)
    logger.info("createSecret: staged version %s for user %s", token, pending["username"])


def _check_users(current: dict[str, Any], pending: dict[str, Any], master_user: str) -> None:
    """Only the gateway's two users, never the master or a role RDS keeps, get a password set."""
    gateway_user = os.environ["DB_USERNAME"]
    allowed = {gateway_user, alternate_user(gateway_user)}
    if master_user in allowed or gateway_user.startswith(RESERVED_PREFIXES):
        raise RotationError(f"setSecret: DB_USERNAME {gateway_user} is the RDS master or a reserved role")
    for name in (current["username"], pending["username"]):
        if name not in allowed:
            raise RotationError(f"setSecret: user {name} is not the gateway's ({' or '.join(sorted(allowed))})")
    if pending["username"] != alternate_user(current["username"]):
        raise RotationError(f"setSecret: user {pending['username']} is not the alternate of {current['username']}")


def _check_endpoint(current: dict[str, Any], pending: dict[str, Any]) -> None:
    """The secret's host and port are the instance's, as RDS reports them; nothing is sent anywhere else."""
    identifier = os.environ["DB_INSTANCE_IDENTIFIER"]
    (instance,) = aws_clients.client("rds").describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    endpoint = (instance["Endpoint"]["Address"], int(instance["Endpoint"]["Port"]))
    for stage, secret in (("AWSCURRENT", current), ("AWSPENDING", pending)):
        if (secret["host"], int(secret["port"])) != endpoint:
            raise RotationError(
                f"setSecret: {stage} names {secret['host']}:{secret['port']}, "
                f"not {identifier}'s endpoint {endpoint[0]}:{endpoint[1]}"
            )
    if pending["dbname"] != current["dbname"]:
        raise RotationError(f"setSecret: AWSPENDING names database {pending['dbname']}, not {current['dbname']}")


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


def _ensure_owner(cursor: Any, owner: str, dbname: str) -> None:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,))
    if cursor.fetchone() is None:
        cursor.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(owner)))
        # The master may hand the schema to a role only as its member (PostgreSQL 15, RDS alike).
        cursor.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(owner)))
        cursor.execute(sql.SQL("GRANT ALL ON DATABASE {} TO {}").format(sql.Identifier(dbname), sql.Identifier(owner)))
        cursor.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))


def set_secret(client: Any, arn: str, token: str) -> None:
    """Give the pending user its password, creating the users and owner role on first use."""
    pending, current = pending_value(client, arn, token), current_value(client, arn)
    if pending is None:
        raise RotationError(f"setSecret: version {token} was never staged")
    master = json.loads(client.get_secret_value(SecretId=os.environ["MASTER_SECRET_ARN"])["SecretString"])
    _check_users(current, pending, master["username"])
    _check_endpoint(current, pending)
    if can_log_in(pending):
        logger.info("setSecret: user %s already has the staged password", pending["username"])
        return
    current_works = can_log_in(current)
    owner = owner_role(current["username"])
    with connect(current, master["username"], master["password"]) as conn, conn.cursor() as cursor:
        if not current_works:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (current["username"],))
            # A user that exists must prove AWSCURRENT by logging in; only the very first
            # rotation, before any user exists, may create the one the initial secret names.
            if cursor.fetchone() is not None or current["username"] != os.environ["DB_USERNAME"]:
                raise RotationError(f"setSecret: AWSCURRENT's credentials for {current['username']} do not log in")
        _ensure_owner(cursor, owner, current["dbname"])
        if not current_works:
            _ensure_login(cursor, current["username"], current["password"], owner)
        _ensure_login(cursor, pending["username"], pending["password"], owner)
    conn.close()
    logger.info("setSecret: set the password of user %s", pending["username"])


def test_secret(client: Any, arn: str, token: str) -> None:
    """Log in through the staged DATABASE_URL itself, so a URL that does not parse never becomes current."""
    pending = pending_value(client, arn, token)
    if pending is None:
        raise RotationError(f"testSecret: version {token} was never staged")
    if pending["DATABASE_URL"] != database_url(pending, region()):
        raise RotationError(f"testSecret: version {token}: DATABASE_URL does not match the other fields")
    try:
        parameters = libpq_parameters(pending["DATABASE_URL"], root_certificate())
    except UnverifiedUrlError as error:
        raise RotationError(f"testSecret: version {token}: {error}") from error
    with psycopg2.connect(**parameters, connect_timeout=5) as conn, conn.cursor() as cursor:
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
