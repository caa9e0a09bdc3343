"""Sceptre hook: give the security stack's secrets their values, once."""

from __future__ import annotations

import os

from sceptre.exceptions import SceptreException
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
            SecretSeedingError: an offered provider key is unusable (names the key only).
        """
        from .secret_store import read_json, write_json
        from .secret_values import SecretValueError, seed_master_key, seed_provider_keys, seed_ui_password
        from .stack_state import failed_launch

        failed = failed_launch(self.stack)
        if failed:
            self.logger.error("secrets: skipped: %s", failed)
            return

        argument = self.argument if isinstance(self.argument, dict) else {}
        overwrite = str(argument.get("overwrite_provider_keys", "false")).lower() == "true"
        outputs = self._outputs()
        offered = {
            key: os.environ.get(key, "") for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AWS_BEDROCK_REGION")
        }
        plans = {
            "master-key": (outputs["MasterKeySecretArn"], seed_master_key),
            "ui-password": (outputs["UiPasswordSecretArn"], seed_ui_password),
            "api-keys": (outputs["ApiKeysSecretArn"], lambda current: seed_provider_keys(current, offered, overwrite)),
        }
        manager = self.stack.connection_manager
        for label, (arn, seed) in plans.items():
            current = read_json(manager, arn)
            try:
                wanted, report = seed(current)
            except SecretValueError as err:
                raise SecretSeedingError(f"{self.stack.name}: {label}: {err}") from None
            if wanted != current:
                write_json(manager, arn, wanted)
            self.logger.info("secret %s: %s", label, report)
            if report.missing:
                self.logger.warning(
                    "secret %s: %s not set in this shell; export it and launch again to store it",
                    label,
                    ", ".join(report.missing),
                )

    def _outputs(self) -> dict[str, str]:
        response = self.stack.connection_manager.call(
            service="cloudformation", command="describe_stacks", kwargs={"StackName": self.stack.external_name}
        )
        (stack,) = response["Stacks"]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
