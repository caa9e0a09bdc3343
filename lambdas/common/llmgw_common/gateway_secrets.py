"""How the gateway's secret values are made: master keys, random strings, DATABASE_URL.

Shared by the rotation functions (packaged into each zip) and the seeding
hooks (installed with the Sceptre plugins), so a value made by one is
exactly what the other would make.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from urllib.parse import quote

MASTER_KEY_ENTROPY = 48  # random characters after "sk-", as the architecture guide sizes it
_ALPHANUMERIC = string.ascii_letters + string.digits


def random_string(length: int) -> str:
    """Letters and digits from the OS's CSPRNG."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


# Punctuation PostgreSQL and RDS accept in a password; DATABASE_URL percent-encodes it.
# RDS forbids / @ " and space in master passwords, so they stay out of all of them.
_PASSWORD_CHARACTERS = _ALPHANUMERIC + "!#$%&*+-.:;=?^_~"


def new_password(length: int = 32) -> str:
    """A database password with letters, digits and URL-special punctuation."""
    return "".join(secrets.choice(_PASSWORD_CHARACTERS) for _ in range(length))


def new_master_key() -> str:
    """A LiteLLM master key: ``sk-`` and 48 random letters and digits (about 285 bits)."""
    return "sk-" + random_string(MASTER_KEY_ENTROPY)


def is_master_key(value: object) -> bool:
    return isinstance(value, str) and value.startswith("sk-") and len(value) >= 3 + 32 and value[3:].isalnum()


class IncompleteSecretError(ValueError):
    """A database secret lacks a field the URL needs."""


def database_url(secret: Mapping[str, object], sslmode: str = "require") -> str:
    """The DATABASE_URL of a database secret: every part percent-encoded, TLS required by default.

    RDS PostgreSQL 15 refuses unencrypted connections (``rds.force_ssl=1``),
    and a generated password may hold ``: / ? # @ %``, which would otherwise
    break the URL.
    """
    missing = [k for k in ("username", "password", "host", "port", "dbname") if secret.get(k) in (None, "")]
    if missing:
        raise IncompleteSecretError(f"the database secret lacks {', '.join(missing)}")
    user, password = quote(str(secret["username"]), safe=""), quote(str(secret["password"]), safe="")
    host, port, name = str(secret["host"]), int(str(secret["port"])), quote(str(secret["dbname"]), safe="")
    return f"postgresql://{user}:{password}@{host}:{port}/{name}?sslmode={quote(sslmode, safe='')}"
