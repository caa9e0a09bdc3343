"""Sceptre resolver: the S3 key of a rotation function's zip, derived from its sources."""

from __future__ import annotations

from pathlib import Path

from sceptre.exceptions import InvalidConfigFileError
from sceptre.resolvers import Resolver


class LambdaCodeKey(Resolver):
    """Resolves to ``lambdas/<name>-<hash>.zip``, the key ``!upload_lambdas`` uploads to::

    DbRotationCodeKey: !lambda_code_key db_rotation
    """

    def resolve(self) -> str:
        """Return the content-addressed key of ``lambdas/<argument>``.

        Raises:
            InvalidConfigFileError: the argument names no function directory.
        """
        from llmgw.lambda_package import LambdaPackageError, code_key

        project = Path(self.stack.stack_group_config.get("project_path", "."))
        if not isinstance(self.argument, str) or not self.argument.strip():
            raise InvalidConfigFileError(
                f"{self.stack.name}: !lambda_code_key needs a function's folder under lambdas/; got {self.argument!r}"
            )
        try:
            return code_key(project, self.argument)
        except LambdaPackageError as err:
            raise InvalidConfigFileError(f"{self.stack.name}: !lambda_code_key {self.argument!r}: {err}") from err
