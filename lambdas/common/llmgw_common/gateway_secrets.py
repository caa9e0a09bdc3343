"""How the gateway's secret values are made: master keys, random strings, DATABASE_URL.

Shared by the rotation functions (packaged into each zip) and the seeding
hooks (installed with the Sceptre plugins), so a value made by one is
exactly what the other would make.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

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


# The one definition of a usable master key, for the seeding hook, the rotation function and
# image/entrypoint.sh (which spells the same rule in sh; tests/unit/core/test_master_key_rule.py holds them
# together). LiteLLM itself only requires the "sk-" prefix; 32 random letters or digits (190 bits)
# is this repository's floor, so an operator's short key is refused at seeding, not 30 days later.
MASTER_KEY_MIN_ENTROPY = 32
MASTER_KEY_RULE = f"sk- and at least {MASTER_KEY_MIN_ENTROPY} ASCII letters or digits"
_MASTER_KEY = re.compile(rf"sk-[A-Za-z0-9]{{{MASTER_KEY_MIN_ENTROPY},}}")


def is_master_key(value: object) -> bool:
    """Whether ``value`` is a master key this gateway accepts: ``MASTER_KEY_RULE``."""
    return isinstance(value, str) and _MASTER_KEY.fullmatch(value) is not None


class IncompleteSecretError(ValueError):
    """A database secret lacks a field the URL needs."""


# Where image/Dockerfile puts image/rds-ca/: one <region>.pem per region, the root of the CA
# the database template pins (rds-ca-rsa2048-g1).
GATEWAY_CA_DIR = "/app/gateway/rds-ca"
# LiteLLM connects through Prisma, whose engine reads only sslmode=disable|prefer|require and
# takes any other value, verify-full included, as prefer. It verifies the server (chain and
# host name) only with sslaccept=strict, against the root in sslcert; its default accepts any
# certificate. It reads only the first certificate of that file (native-tls's
# Certificate::from_pem), so the file is the region's root alone, not AWS's bundle.
# prisma-engines, quaint/src/connector/postgres/url.rs (parse_query_params);
# https://www.prisma.io/docs/orm/overview/databases/postgresql#configuring-an-ssl-connection


def gateway_ca_file(region: str) -> str:
    """The root DATABASE_URL tells the gateway to verify the database against, in the gateway's image."""
    if not region or "/" in region or region.startswith("."):
        raise ValueError(f"{region!r} is not a region name")
    return f"{GATEWAY_CA_DIR}/{region}.pem"


def _tls_query(region: str) -> dict[str, str]:
    return {"sslmode": "require", "sslaccept": "strict", "sslcert": gateway_ca_file(region)}


class UnverifiedUrlError(ValueError):
    """A DATABASE_URL that would not verify the database server's certificate."""


def database_url(secret: Mapping[str, object], region: str) -> str:
    """The DATABASE_URL of a database secret in ``region``: every part percent-encoded, the server verified.

    RDS PostgreSQL 15 refuses unencrypted connections (``rds.force_ssl=1``);
    TLS without verification would still send the password to whoever answers
    at the host. A generated password may hold ``: / ? # @ %``, which would
    otherwise break the URL.
    """
    missing = [k for k in ("username", "password", "host", "port", "dbname") if secret.get(k) in (None, "")]
    if missing:
        raise IncompleteSecretError(f"the database secret lacks {', '.join(missing)}")
    user, password = quote(str(secret["username"]), safe=""), quote(str(secret["password"]), safe="")
    host, port, name = str(secret["host"]), int(str(secret["port"])), quote(str(secret["dbname"]), safe="")
    query = "&".join(f"{k}={quote(v, safe='/')}" for k, v in _tls_query(region).items())
    return f"postgresql://{user}:{password}@{host}:{port}/{name}?{query}"


def libpq_parameters(url: str, root_certificate: str) -> dict[str, Any]:
    """psycopg2's connection for a DATABASE_URL: what Prisma connects to, verified as verify-full.

    libpq refuses Prisma's sslaccept, and its own sslcert means a client
    certificate, so the URL cannot be handed to libpq as it is.
    ``root_certificate`` is the caller's copy of the root the URL names.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    sslcert = query.get("sslcert", "")
    region = sslcert.removeprefix(GATEWAY_CA_DIR + "/").removesuffix(".pem")
    try:
        expected = _tls_query(region)
    except ValueError:
        expected = None
    if parts.scheme not in ("postgresql", "postgres") or query != expected:
        example = urlsplit(database_url(_EXAMPLE, "<region>")).query
        raise UnverifiedUrlError(f"DATABASE_URL must end with ?{example}")
    return {
        "host": parts.hostname,
        "port": parts.port,
        "dbname": unquote(parts.path.removeprefix("/")),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "sslmode": "verify-full",
        "sslrootcert": root_certificate,
    }


_EXAMPLE = {"username": "u", "password": "p", "host": "h", "port": 5432, "dbname": "d"}
