"""Sceptre hook: give the security stack's secrets their values, once."""

from __future__ import annotations

import os

from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError, SceptreException
from sceptre.hooks import Hook


class SecretSeedingError(SceptreException):
    """A secret could not be seeded; the message names the key, never its value."""


class SeedSecrets(Hook):
    """Fills the master key, salt key, UI password and provider keys of the security stack.

    Runs after every launch of the security stack (hooks also run when
    nothing changed, and after a failed stack is recreated), so it only fills
    what is absent or still a placeholder:

    - ``LITELLM_MASTER_KEY``: ``sk-`` and 48 random characters;
    - ``LITELLM_SALT_KEY``: generated once, never changed afterwards;
    - ``UI_PASSWORD``: 24 random characters;
    - ``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ``AWS_BEDROCK_REGION``: from
      the environment (a pipeline's secret variables), and a stored value is
      replaced only with ``overwrite_provider_keys`` true.

    It logs which keys it set, kept or found missing, never a value::

        hooks:
          after_launch:
            - !seed_secrets {overwrite_provider_keys: "{{ var.overwrite_provider_keys | default('false') }}"}
    """

    def run(self) -> None:
        """Seed the three secrets named by the stack's outputs.

        Raises:
            InvalidHookArgumentTypeError: the argument is not a mapping.
            InvalidHookArgumentValueError: it names another key, or overwrite_provider_keys is not true/false.
            SecretSeedingError: an offered provider key is unusable (names the key only), or a stored
                value is not JSON (names the secret).
        """
        overwrite = self._overwrite()
        from llmgw.pipeline_macros import UnexpandedMacroError, refuse_macro
        from llmgw.secrets.seeding import seed_security_secrets
        from llmgw.secrets.store import SecretFormatError
        from llmgw.secrets.values import PROVIDER_KEYS, SecretValueError
        from llmgw.stacks import failed_launch, stack_outputs

        failed = failed_launch(self.stack)
        if failed:
            self.logger.error("secrets: skipped: %s", failed)
            return
        offered = {key: os.environ.get(key, "") for key in PROVIDER_KEYS}
        try:
            for key, value in offered.items():
                refuse_macro(key, value, self.stack.name.split("/")[0])
            outputs = stack_outputs(self.stack.connection_manager, self.stack.external_name)
            seed_security_secrets(self.stack.connection_manager, outputs, offered, overwrite, self.logger)
        except (UnexpandedMacroError, SecretValueError, SecretFormatError) as err:
            raise SecretSeedingError(f"{self.stack.name}: {err}") from None

    def _overwrite(self) -> bool:
        argument = {} if self.argument in (None, "") else self.argument
        if not isinstance(argument, dict):
            raise InvalidHookArgumentTypeError(
                f"!seed_secrets takes a mapping such as {{overwrite_provider_keys: 'false'}}; got {argument!r}"
            )
        unknown = sorted(set(argument) - {"overwrite_provider_keys"})
        if unknown:
            raise InvalidHookArgumentValueError(
                f"!seed_secrets knows only overwrite_provider_keys; got {', '.join(map(str, unknown))}"
            )
        value = str(argument.get("overwrite_provider_keys", "false")).strip().lower()
        if value not in ("true", "false"):
            raise InvalidHookArgumentValueError(
                f"!seed_secrets: overwrite_provider_keys must be true or false; got {value!r}"
            )
        return value == "true"
