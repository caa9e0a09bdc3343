"""The gateway's one-shot database migration: the litellm stack runs it as an ECS task before every rollout.

Serving tasks start with DISABLE_SCHEMA_UPDATE=true, so this is the only
place the schema changes (litellm.yaml.j2, ``Migration``). In order:

1. Refuse an image older than the schema: if ``_prisma_migrations`` holds a
   migration newer than every one this image's LiteLLM ships, a newer
   release migrated the database, and this older one may not understand it
   (LiteLLM only warns). ``ALLOW_OLDER_IMAGE=true`` lets it through, once the
   operator has read the releases in between.
2. Run LiteLLM's own migration entrypoint, as its Helm chart's migration job
   does (``python litellm/proxy/prisma_migration.py`` in /app), which applies
   ``litellm-proxy-extras``' migrations with ``prisma migrate deploy`` under
   LiteLLM's and Prisma's database locks.

The last line printed says what happened; the migration custom resource
reports it when it fails, so it names the cause.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

EX_REFUSED = 65


def _shipped() -> list[str]:
    import litellm_proxy_extras

    directory = Path(litellm_proxy_extras.__file__).parent / "migrations"
    return sorted(p.name for p in directory.iterdir() if (p / "migration.sql").is_file())


def _applied(database_url: str) -> list[str]:
    import psycopg
    from litellm_proxy_extras.utils import ProxyExtrasDBManager

    # Prisma's URL dialect (sslcert is the CA) translated for libpq by LiteLLM itself.
    conninfo = ProxyExtrasDBManager._strip_prisma_query_params(database_url)
    with psycopg.connect(conninfo, connect_timeout=10) as connection:
        exists = connection.execute("SELECT to_regclass('public._prisma_migrations') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return []
        rows = connection.execute(
            'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL'
        ).fetchall()
    return [r[0] for r in rows]


def _timestamp(name: str) -> int:
    match = re.match(r"(\d{14})_", name)
    return int(match.group(1)) if match else 0


def newer_than_image(applied: list[str], shipped: list[str]) -> list[str]:
    """Applied migrations this image does not ship and that are newer than all it does."""
    newest = max((_timestamp(n) for n in shipped), default=0)
    known = set(shipped)
    return sorted(n for n in applied if n not in known and _timestamp(n) > newest)


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        print("migrate: DATABASE_URL is not set; the task definition must pass the database secret", flush=True)
        return 64
    shipped = _shipped()
    print(f"migrate: this image ships {len(shipped)} migrations, the newest {shipped[-1]}", flush=True)
    ahead = newer_than_image(_applied(database_url), shipped)
    if ahead and os.environ.get("ALLOW_OLDER_IMAGE", "false").lower() != "true":
        print(
            f"migrate: refused: the database holds {len(ahead)} migration(s) newer than this image knows "
            f"(newest {ahead[-1]}); a newer LiteLLM migrated it. Deploy that release again, or set "
            "--var allow_older_image=true once its release notes say this one runs on that schema",
            flush=True,
        )
        return EX_REFUSED
    if ahead:
        print(f"migrate: AllowOlderImage is true: running on a schema {len(ahead)} migration(s) ahead", flush=True)
    environment = {**os.environ, "DISABLE_SCHEMA_UPDATE": "false"}
    child = subprocess.Popen(
        [sys.executable, "litellm/proxy/prisma_migration.py"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    last = ""
    assert child.stdout is not None
    for line in child.stdout:
        print(line, end="", flush=True)
        if line.strip():
            last = line.strip()
    code = child.wait()
    if code != 0:
        print(f"migrate: failed: LiteLLM's migration exited {code}: {last[:400]}", flush=True)
        return code
    print(f"migrate: done: the schema is at {shipped[-1]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
