"""Sceptre hook: keep DATABASE_URL in the database secret consistent with its other fields."""

from __future__ import annotations

from sceptre.exceptions import InvalidHookArgumentTypeError, SceptreException
from sceptre.hooks import Hook


class DatabaseUrlSeedingError(SceptreException):
    """The database secret could not be completed; the message names the secret, never its value."""


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
        """Write DATABASE_URL if it is absent or differs from the fields.

        Raises:
            InvalidHookArgumentTypeError: the hook was given an argument (it takes none), or the stack
                has no ``DatabaseSecretArn`` parameter to find the secret by.
            DatabaseUrlSeedingError: the secret lacks a field the URL needs, or is not JSON.
        """
        if self.argument not in (None, ""):  # a bare tag reads as either
            raise InvalidHookArgumentTypeError(f"!seed_database_url takes no argument; got {self.argument!r}")
        arn = self.stack.parameters.get("DatabaseSecretArn")
        if not arn:
            raise InvalidHookArgumentTypeError(
                f"{self.stack.name}: !seed_database_url needs the stack parameter DatabaseSecretArn"
            )
        from llmgw.secrets.seeding import seed_database_url_secret
        from llmgw.secrets.store import SecretFormatError
        from llmgw.secrets.values import SecretValueError
        from llmgw.stacks import failed_launch

        failed = failed_launch(self.stack)
        if failed:
            self.logger.error("secret database: skipped: %s", failed)
            return
        try:
            seed_database_url_secret(self.stack.connection_manager, arn, self.stack.region, self.logger)
        except (SecretFormatError, SecretValueError) as err:
            raise DatabaseUrlSeedingError(f"{self.stack.name}: secret database: {err}") from None
