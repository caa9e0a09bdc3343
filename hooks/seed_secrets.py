"""Sceptre hook: give the security stack's secrets their values, once."""

from __future__ import annotations

import logging
import os
from typing import Any

from sceptre.exceptions import SceptreException
from sceptre.hooks import Hook


class SecretSeedingError(SceptreException):
    """A secret could not be seeded; the message names the key, never its value."""


def seed_security_secrets(
    manager: Any, outputs: dict[str, str], offered: dict[str, str], overwrite: bool, logger: logging.Logger
) -> None:
    """Fill the security stack's secrets (named by its ``outputs``) as the hook does, through ``manager``.

    ``manager`` is anything with Sceptre's ``ConnectionManager.call(service, command, kwargs)``; the
    taskcat run (tools/taskcat_gateway.py) passes a boto3 one. Logs key names, never a value.

    Raises:
        SecretValueError: an offered provider key is unusable; the message starts with the secret's label.
    """
    from .secret_store import read_json, write_json
    from .secret_values import SecretValueError, seed_master_key, seed_provider_keys, seed_ui_password

    plans = {
        "master-key": (outputs["MasterKeySecretArn"], seed_master_key),
        "ui-password": (outputs["UiPasswordSecretArn"], seed_ui_password),
        "api-keys": (outputs["ApiKeysSecretArn"], lambda current: seed_provider_keys(current, offered, overwrite)),
    }
    for label, (arn, seed) in plans.items():
        current = read_json(manager, arn)
        try:
            wanted, report = seed(current)
        except SecretValueError as err:
            raise SecretValueError(f"{label}: {err}") from None
        # The task role may invoke Bedrock only in the stack's BedrockRegion: a secret naming another
        # region would make every Bedrock call fail with AccessDeniedException, so nothing is written.
        allowed, stored = outputs.get("BedrockRegion"), str(wanted.get("AWS_BEDROCK_REGION", "")).strip()
        if label == "api-keys" and allowed and stored and stored != allowed:
            raise SecretValueError(
                f"{label}: AWS_BEDROCK_REGION is {stored}, but the task role may call Bedrock only in {allowed}"
                f" (BedrockRegion): launch with --var bedrock_region={stored}, or store {allowed}"
                f" (AWS_BEDROCK_REGION={allowed} and --var overwrite_provider_keys=true)"
            )
        if wanted != current:
            write_json(manager, arn, wanted)
        logger.info("secret %s: %s", label, report)
        if report.missing:
            logger.warning(
                "secret %s: %s not set in this shell; export it and launch again to store it",
                label,
                ", ".join(report.missing),
            )


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
        from .pipeline_macros import UnexpandedMacroError, refuse_macro
        from .secret_values import SecretValueError
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
        for key, value in offered.items():
            try:
                refuse_macro(key, value, self.stack.name.split("/")[0])
            except UnexpandedMacroError as err:
                raise SecretSeedingError(f"{self.stack.name}: {err}") from None
        try:
            seed_security_secrets(self.stack.connection_manager, outputs, offered, overwrite, self.logger)
        except SecretValueError as err:
            raise SecretSeedingError(f"{self.stack.name}: {err}") from None

    def _outputs(self) -> dict[str, str]:
        response = self.stack.connection_manager.call(
            service="cloudformation", command="describe_stacks", kwargs={"StackName": self.stack.external_name}
        )
        (stack,) = response["Stacks"]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
