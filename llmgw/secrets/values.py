"""What the gateway's secrets should hold, decided without touching AWS.

Each ``seed_*`` function takes a secret's current JSON and returns the JSON
it should hold plus a :class:`Report` of key names (never values). A value
that is present is kept: seeding twice changes nothing, and nothing an
operator set is overwritten unless asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from llmgw_common.gateway_secrets import (
    MASTER_KEY_RULE,
    IncompleteSecretError,
    database_url,
    is_master_key,
    new_master_key,
    random_string,
)

SALT_KEY_LENGTH = 64
UI_PASSWORD_LENGTH = 24
PLACEHOLDERS = {"", "UNSEEDED"}
PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AWS_BEDROCK_REGION")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class SecretValueError(ValueError):
    """A value offered for a secret is unusable; the message names the key, never the value."""


__all__ = ["Report", "SecretValueError", "database_url", "new_master_key", "random_string", "seed_database_url"]


@dataclass
class Report:
    """Which keys were set, kept or are missing. Holds names only, so it is safe to log."""

    set: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"{verb} {', '.join(keys)}" for verb, keys in (("set", self.set), ("kept", self.kept)) if keys]
        if self.missing:
            parts.append(f"missing {', '.join(self.missing)}")
        return "; ".join(parts) or "nothing to do"


def _unset(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in PLACEHOLDERS)


def seed_master_key(current: Mapping[str, str]) -> tuple[dict[str, str], Report]:
    """Generate the master key if absent; generate the salt key only if absent.

    Raises:
        SecretValueError: the stored master key is set but breaks ``MASTER_KEY_RULE``. It is an
            operator's value, so it is not overwritten, and the gateway and its rotation would refuse it.
    """
    value, report = dict(current), Report()
    master = current.get("LITELLM_MASTER_KEY")
    if _unset(master):
        value["LITELLM_MASTER_KEY"] = new_master_key()
        report.set.append("LITELLM_MASTER_KEY")
    elif is_master_key(master):
        report.kept.append("LITELLM_MASTER_KEY")
    else:
        raise SecretValueError(
            f"LITELLM_MASTER_KEY is set but is not a master key this gateway accepts ({MASTER_KEY_RULE}):"
            " the gateway would not start and its rotation would refuse it; nothing was written: store a key"
            " that follows the rule, or UNSEEDED to have one generated"
        )
    # Written by the rotation function; present from the start because ECS cannot inject a missing key.
    for key in ("LITELLM_PREVIOUS_MASTER_KEY", "LITELLM_PREVIOUS_MASTER_KEY_EXPIRES"):
        value.setdefault(key, "")
    value.setdefault("LITELLM_PREVIOUS_MASTER_KEYS", "[]")
    # The salt key encrypts credentials stored in the database: once set, it never changes.
    if _unset(current.get("LITELLM_SALT_KEY")):
        value["LITELLM_SALT_KEY"] = random_string(SALT_KEY_LENGTH)
        report.set.append("LITELLM_SALT_KEY")
    else:
        report.kept.append("LITELLM_SALT_KEY")
    return value, report


def seed_ui_password(current: Mapping[str, str]) -> tuple[dict[str, str], Report]:
    """Generate the 24-character UI password once; keep the user name, default ``admin``."""
    value, report = dict(current), Report()
    if _unset(current.get("UI_USERNAME")):
        value["UI_USERNAME"] = "admin"
        report.set.append("UI_USERNAME")
    else:
        report.kept.append("UI_USERNAME")
    if _unset(current.get("UI_PASSWORD")):
        value["UI_PASSWORD"] = random_string(UI_PASSWORD_LENGTH)
        report.set.append("UI_PASSWORD")
    else:
        report.kept.append("UI_PASSWORD")
    return value, report


def clean_provider_value(key: str, raw: str) -> str:
    """Strip surrounding whitespace; refuse line breaks and control characters inside a key."""
    value = raw.strip()
    if any(ch in value for ch in "\r\n") or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise SecretValueError(f"{key} contains a line break or control character; pass the key alone, on one line")
    if key == "AWS_BEDROCK_REGION" and value and not _REGION.match(value):
        raise SecretValueError("AWS_BEDROCK_REGION should be a region name such as us-east-1")
    return value


def seed_provider_keys(
    current: Mapping[str, str], offered: Mapping[str, str], overwrite: bool = False
) -> tuple[dict[str, str], Report]:
    """Fill empty provider keys from ``offered`` (the environment); overwrite only if asked.

    Keys neither stored nor offered are reported missing, never invented.
    """
    value, report = dict(current), Report()
    for key in PROVIDER_KEYS:
        stored = current.get(key, "")
        given = clean_provider_value(key, offered[key]) if offered.get(key, "").strip() else ""
        if given and (_unset(stored) or (overwrite and given != stored)):
            value[key] = given
            report.set.append(key)
        elif not _unset(stored):
            report.kept.append(key)
        else:
            value.setdefault(key, "")
            report.missing.append(key)
    return value, report


def seed_database_url(current: Mapping[str, object], region: str) -> tuple[dict[str, object], Report]:
    """Write DATABASE_URL from the other fields when it is absent or stale.

    A URL in the earlier form (``?sslmode=require``, no verification) for the
    same login is kept: the tasks running now come from an image without the
    RDS roots, and one of them restarting on a URL naming a file it lacks
    would fail to start. The next rotation, whose redeploy starts tasks from
    the new image, writes the verifying URL.
    """
    value, report = dict(current), Report()
    try:
        url = database_url(current, region)
    except IncompleteSecretError as err:
        raise SecretValueError(str(err)) from None
    stored = current.get("DATABASE_URL")
    if stored == url:
        report.kept.append("DATABASE_URL")
    elif stored == url.split("?", 1)[0] + "?sslmode=require":
        report.kept.append("DATABASE_URL (without server verification until the next rotation)")
    else:
        value["DATABASE_URL"] = url
        report.set.append("DATABASE_URL")
    return value, report
