"""Stands in for ``litellm/proxy/prisma_migration.py`` of LiteLLM's image in the emulator's tasks.

LiteLLM's script runs ``prisma migrate deploy`` over the migrations that
``litellm-proxy-extras`` ships; Prisma's engines are downloaded at run time
from a host these machines cannot reach. This applies the same SQL files, of
the ``litellm-proxy-extras`` that ``.venv-gateway`` holds, the way
``prisma migrate deploy`` does on PostgreSQL:

- under Prisma's advisory lock (72707369), so two runs never interleave;
- ``_prisma_migrations`` created as Prisma creates it, one row per migration
  with its SHA-256 checksum, ``started_at``, ``finished_at`` and
  ``applied_steps_count``;
- each pending migration, oldest first, as one script (one implicit
  transaction, unless it is the single statement that must run outside one);
- a migration that fails keeps its row with ``finished_at`` empty and its
  error in ``logs``, and exits 1 with Prisma's P3018; a later run finds it
  and refuses with P3009 until it is resolved, as Prisma does.

It does not model LiteLLM's own recovery around Prisma (its v2 resolver's
``prisma migrate diff`` and ``resolve`` calls). With ``DISABLE_SCHEMA_UPDATE``
true it applies nothing, as LiteLLM's start-up does.
https://www.prisma.io/docs/orm/prisma-migrate/workflows/patching-and-hotfixing
"""

from __future__ import annotations

import hashlib
import os
import sys
import uuid
from pathlib import Path

STAND_IN = (
    "emulator: stand-in: applying litellm-proxy-extras' migration SQL as `prisma migrate deploy` would "
    "(Prisma's engines cannot be downloaded here)"
)
PRISMA_LOCK = 72707369
# Prisma's own definition of its history table (PostgreSQL).
HISTORY_TABLE = """
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)
"""


class MigrationFailed(Exception):
    """A migration could not be applied; the message is Prisma's."""


def migrations_dir() -> Path:
    import litellm_proxy_extras

    return Path(litellm_proxy_extras.__file__).parent / "migrations"


def shipped(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if (p / "migration.sql").is_file())


def apply(conninfo: str, directory: Path, up_to: str | None = None) -> list[str]:
    """Apply the pending migrations of ``directory`` (through ``up_to``, if given); return their names."""
    import psycopg

    names = [n for n in shipped(directory) if up_to is None or n <= up_to]
    done: list[str] = []
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (PRISMA_LOCK,))
        try:
            connection.execute(HISTORY_TABLE)
            rows = connection.execute(
                'SELECT migration_name, finished_at, rolled_back_at, started_at FROM "_prisma_migrations"'
            ).fetchall()
            failed = [r for r in rows if r[1] is None and r[2] is None]
            if failed:
                name, _, _, started = failed[0]
                raise MigrationFailed(
                    "Error: P3009\n\nmigrate found failed migrations in the target database, new migrations will "
                    "not be applied. Read more about how to resolve migration issues in a production database: "
                    f"https://pris.ly/d/migrate-resolve\nThe `{name}` migration started at {started} failed"
                )
            applied = {r[0] for r in rows if r[1] is not None and r[2] is None}
            for name in names:
                if name not in applied:
                    _apply_one(connection, directory / name)
                    done.append(name)
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (PRISMA_LOCK,))
    return done


def _apply_one(connection: object, directory: Path) -> None:
    import psycopg

    script = (directory / "migration.sql").read_bytes()
    row_id = str(uuid.uuid4())
    connection.execute(  # type: ignore[attr-defined]
        'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) '
        "VALUES (%s, %s, %s, now(), 0)",
        (row_id, hashlib.sha256(script).hexdigest(), directory.name),
    )
    print(f"Applying migration `{directory.name}`", flush=True)
    try:
        # No parameters: psycopg sends the script with the simple query protocol, as Prisma does.
        connection.execute(script.decode())  # type: ignore[attr-defined]
    except psycopg.Error as err:
        error = str(err).strip()
        connection.execute(  # type: ignore[attr-defined]
            'UPDATE "_prisma_migrations" SET logs = %s WHERE id = %s', (error, row_id)
        )
        code = getattr(err, "sqlstate", None) or "?"
        raise MigrationFailed(
            f"Error: P3018\n\nA migration failed to apply. New migrations cannot be applied before the error is "
            f"recovered from. Read more about how to resolve migration issues in a production database: "
            f"https://pris.ly/d/migrate-resolve\n\nMigration name: {directory.name}\n\n"
            f"Database error code: {code}\n\nDatabase error:\n{error}"
        ) from None
    connection.execute(  # type: ignore[attr-defined]
        'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = %s', (row_id,)
    )


def main() -> int:
    print(STAND_IN, flush=True)
    if os.environ.get("DISABLE_SCHEMA_UPDATE", "").lower() == "true":
        print("DISABLE_SCHEMA_UPDATE is true: no migration applied", flush=True)
        return 0
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set: no database to migrate", flush=True)
        return 1
    from litellm_proxy_extras.utils import ProxyExtrasDBManager

    directory = migrations_dir()
    print(f"{len(shipped(directory))} migrations found in prisma/migrations", flush=True)
    try:
        done = apply(ProxyExtrasDBManager._strip_prisma_query_params(url), directory)
    except MigrationFailed as failure:
        print(str(failure), flush=True)
        return 1
    if done:
        print("The following migration(s) have been applied:", *done, "All migrations have been successfully "
              "applied.", sep="\n", flush=True)  # fmt: skip
    else:
        print("No pending migrations to apply.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
