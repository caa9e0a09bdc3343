"""Seed the stacks' secrets: fill what is absent or a placeholder, never overwrite what an operator stored."""

from __future__ import annotations

import logging
from typing import Any


def seed_security_secrets(
    manager: Any, outputs: dict[str, str], offered: dict[str, str], overwrite: bool, logger: logging.Logger
) -> None:
    """Fill the security stack's secrets (named by its ``outputs``) as the hook does, through ``manager``.

    ``manager`` is anything with Sceptre's ``ConnectionManager.call(service, command, kwargs)``; the
    taskcat run (tools/taskcat_gateway.py) passes a boto3 one. Logs key names, never a value.

    A secret whose value is refused is left as it is; the others are still seeded, so a stored master
    key the rule refuses does not also hold back a provider key being replaced.

    Raises:
        SecretValueError: a value is unusable; the message starts with each refused secret's label.
    """
    from llmgw.secrets.store import read_json, write_json
    from llmgw.secrets.values import SecretValueError, seed_master_key, seed_provider_keys, seed_ui_password

    plans = {
        "master-key": (outputs["MasterKeySecretArn"], seed_master_key),
        "ui-password": (outputs["UiPasswordSecretArn"], seed_ui_password),
        "api-keys": (outputs["ApiKeysSecretArn"], lambda current: seed_provider_keys(current, offered, overwrite)),
    }
    refused: list[str] = []
    for label, (arn, seed) in plans.items():
        current = read_json(manager, arn)
        try:
            wanted, report = seed(current)
        except SecretValueError as err:
            refused.append(f"{label}: {err}")
            continue
        # The task role may invoke Bedrock only in the stack's BedrockRegion: a secret naming another
        # region would make every Bedrock call fail with AccessDeniedException, so nothing is written.
        allowed, stored = outputs.get("BedrockRegion"), str(wanted.get("AWS_BEDROCK_REGION", "")).strip()
        if label == "api-keys" and allowed and stored and stored != allowed:
            refused.append(
                f"{label}: AWS_BEDROCK_REGION is {stored}, but the task role may call Bedrock only in {allowed}"
                f" (BedrockRegion): launch with --var bedrock_region={stored}, or store {allowed}"
                f" (AWS_BEDROCK_REGION={allowed} and --var overwrite_provider_keys=true)"
            )
            continue
        if wanted != current:
            write_json(manager, arn, wanted)
        logger.info("secret %s: %s", label, report)
        if report.missing:
            logger.warning(
                "secret %s: %s not set in this shell; export it and launch again to store it",
                label,
                ", ".join(report.missing),
            )
    if refused:
        raise SecretValueError("; ".join(refused))


def seed_database_url_secret(manager: Any, arn: str, region: str, logger: logging.Logger) -> None:
    """The hook's work through ``manager`` (Sceptre's ``ConnectionManager.call`` shape): taskcat runs use it too."""
    from llmgw.secrets.store import read_json, rotation_in_progress, write_json
    from llmgw.secrets.values import seed_database_url

    if rotation_in_progress(manager, arn):
        logger.warning("secret database: rotation in progress; DATABASE_URL left to it")
        return
    current = read_json(manager, arn)
    wanted, report = seed_database_url(current, region)
    if wanted != current:
        write_json(manager, arn, wanted)
    logger.info("secret database: %s", report)
