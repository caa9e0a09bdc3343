"""Sceptre hook: keep DATABASE_URL in the database secret consistent with its other fields."""

from __future__ import annotations

import logging
from typing import Any

from sceptre.hooks import Hook


class SeedDatabaseUrl(Hook):
    """Writes the percent-encoded ``DATABASE_URL`` (TLS, the server verified) into the database secret.

    After the database stack launches, the secret holds the username and
    password from the security stack and the host and port from the secret
    target attachment; this hook adds the URL the gateway reads, or fixes a
    stale one. It leaves the secret alone while a rotation is in progress,
    because the rotation function writes the URL with the new password::

        hooks:
          after_launch:
            - !seed_database_url
    """

    def run(self) -> None:
        """Write DATABASE_URL if it is absent or differs from the fields."""
        from .stack_state import failed_launch

        failed = failed_launch(self.stack)
        if failed:
            self.logger.error("secret database: skipped: %s", failed)
            return
        seed_database_url_secret(
            self.stack.connection_manager, self.stack.parameters["DatabaseSecretArn"], self.stack.region, self.logger
        )


def seed_database_url_secret(manager: Any, arn: str, region: str, logger: logging.Logger) -> None:
    """The hook's work through ``manager`` (Sceptre's ``ConnectionManager.call`` shape): taskcat runs use it too."""
    from .secret_store import read_json, rotation_in_progress, write_json
    from .secret_values import seed_database_url

    if rotation_in_progress(manager, arn):
        logger.warning("secret database: rotation in progress; DATABASE_URL left to it")
        return
    current = read_json(manager, arn)
    wanted, report = seed_database_url(current, region)
    if wanted != current:
        write_json(manager, arn, wanted)
    logger.info("secret database: %s", report)
