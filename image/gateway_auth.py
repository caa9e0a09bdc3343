"""LiteLLM custom auth for the gateway: every valid master key at every moment, and 401 for unknown keys.

LiteLLM accepts a single master key, read at start. This hook reads the
master-key secret itself, at run time and cached for
``LITELLM_MASTER_KEY_CACHE_SECONDS`` (30), so a rotation needs no redeploy:

- the AWSCURRENT key and, during a rotation, the AWSPENDING one (the
  rotation function waits until every task can have seen it before making it
  current, so a client that reads the new key is never refused);
- every earlier key in ``LITELLM_PREVIOUS_MASTER_KEYS`` until its own expiry
  (``LITELLM_PREVIOUS_MASTER_KEY`` and ``_EXPIRES`` name the newest).

An accepted key is mapped to the key LiteLLM started with, which it then
authenticates as the admin. The key a task started with is refused once the
secret no longer lists it as valid, so an old task cannot keep a retired key
alive. If the secret cannot be read, the last good read is used, or the
task's start-time environment (ECS injects the same fields). Every other key
falls through to LiteLLM's own checks (virtual keys in the database); without
a database, where LiteLLM would answer 400 "No connected db", this hook
answers 401.

Enabled in config.yaml with::

    general_settings:
      custom_auth: gateway_auth.user_api_key_auth
      custom_auth_settings: {mode: auto}   # an exception other than ProxyException falls through
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import time
from datetime import datetime
from typing import Any

from fastapi import Request
from litellm.proxy._types import ProxyException

logger = logging.getLogger(__name__)


class NotDecidedHere(Exception):
    """Let LiteLLM's own authentication decide (custom_auth_settings mode "auto")."""


def _matches(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _expiry(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return None  # an unreadable expiry grants nothing


class MasterKeys:
    """The master keys valid now: current and pending without end, earlier ones until their expiry.

    A plain class: LiteLLM loads this module without registering it in sys.modules, where a
    dataclass would look its annotations up.
    """

    def __init__(self) -> None:
        self.current: list[str] = []
        self.earlier: list[tuple[str, float]] = []

    @classmethod
    def from_values(cls, *values: dict[str, Any]) -> MasterKeys:
        """From the secret's AWSCURRENT value first, then (if there is one) its AWSPENDING value."""
        keys = cls()
        for value in values:
            if value.get("LITELLM_MASTER_KEY"):
                keys.current.append(str(value["LITELLM_MASTER_KEY"]))
            try:
                entries = json.loads(value.get("LITELLM_PREVIOUS_MASTER_KEYS") or "[]")
            except (TypeError, ValueError):
                entries = []
            entries = entries if isinstance(entries, list) else []
            entries.append(
                {
                    "key": value.get("LITELLM_PREVIOUS_MASTER_KEY"),
                    "expires": value.get("LITELLM_PREVIOUS_MASTER_KEY_EXPIRES"),
                }
            )
            for entry in entries:
                expires = _expiry(entry.get("expires")) if isinstance(entry, dict) else None
                if expires is not None and entry.get("key"):
                    keys.earlier.append((str(entry["key"]), expires))
        return keys

    def accepts(self, key: str, now: float | None = None) -> bool:
        moment = time.time() if now is None else now
        return any(_matches(key, k) for k in self.current) or any(
            _matches(key, k) and moment < expires for k, expires in self.earlier
        )


def _environment() -> dict[str, str]:
    names = ("LITELLM_MASTER_KEY", "LITELLM_PREVIOUS_MASTER_KEY", "LITELLM_PREVIOUS_MASTER_KEY_EXPIRES",
             "LITELLM_PREVIOUS_MASTER_KEYS")  # fmt: skip
    return {name: os.environ.get(name, "") for name in names}


def _client() -> Any:
    """One Secrets Manager client per process: boto3's default session is not safe to share across threads."""
    if _CACHE["client"] is None:
        import boto3
        from botocore.config import Config

        # Short timeouts: this runs on a request's path. total_max_attempts counts the first call.
        config = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 2})
        _CACHE["client"] = boto3.session.Session().client("secretsmanager", config=config)
    return _CACHE["client"]


def _read_secret(arn: str) -> MasterKeys:
    client = _client()
    current = json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    try:
        pending = json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSPENDING")["SecretString"])
    except client.exceptions.ResourceNotFoundException:
        pending = {}  # no rotation in flight, or its new value is not stored yet
    return MasterKeys.from_values(current, pending)


_CACHE: dict[str, Any] = {"keys": None, "read_at": 0.0, "client": None, "lock": None}
RETRY_AFTER_FAILURE_SECONDS = 5.0  # well inside the rotation's 35 s wait, so a brief outage delays no key


def _stale(ttl: float) -> bool:
    return _CACHE["keys"] is None or time.monotonic() - _CACHE["read_at"] >= ttl


async def master_keys() -> MasterKeys:
    """The valid keys, from the secret at most ``LITELLM_MASTER_KEY_CACHE_SECONDS`` old."""
    arn = os.environ.get("LITELLM_MASTER_KEY_SECRET_ARN")
    if not arn:
        return MasterKeys.from_values(_environment())
    ttl = float(os.environ.get("LITELLM_MASTER_KEY_CACHE_SECONDS", "30"))
    if not _stale(ttl):
        return _CACHE["keys"]
    _CACHE["lock"] = _CACHE["lock"] or asyncio.Lock()
    async with _CACHE["lock"]:  # one read per expiry, however many requests arrive meanwhile
        if _stale(ttl):
            try:
                _CACHE["keys"] = await asyncio.to_thread(_read_secret, arn)
                _CACHE["read_at"] = time.monotonic()
            except Exception as err:  # the secret's service out of reach must not lock the admin out
                logger.warning("gateway_auth: the master-key secret could not be read (%s); keeping the last keys", err)
                _CACHE["keys"] = _CACHE["keys"] or MasterKeys.from_values(_environment())
                _CACHE["read_at"] = time.monotonic() - ttl + RETRY_AFTER_FAILURE_SECONDS
    return _CACHE["keys"]


def previous_key_is_valid(key: str, now: float | None = None) -> bool:
    """Whether ``key`` is an earlier master key whose own grace has not ended (start-time environment)."""
    keys = MasterKeys.from_values(_environment())
    return any(_matches(key, k) and (time.time() if now is None else now) < e for k, e in keys.earlier)


def _refused() -> ProxyException:
    return ProxyException(message="Authentication Error: invalid or missing API key", type="auth_error",
                          param="api_key", code=401)  # fmt: skip


async def user_api_key_auth(request: Request, api_key: str) -> str:
    """Map any valid master key to the one LiteLLM started with; refuse what cannot be valid.

    Returns:
        The task's start-time master key, which LiteLLM then authenticates as the admin.

    Raises:
        ProxyException: 401, for the start-time key once it is retired, and without a database for
            any key that is not a valid master key.
        NotDecidedHere: for every other key, so LiteLLM's own checks apply.
    """
    key = api_key.removeprefix("Bearer ").strip()
    started_with = os.environ.get("LITELLM_MASTER_KEY", "")
    keys = await master_keys()
    if keys.accepts(key):
        return started_with
    if _matches(key, started_with) or not os.environ.get("DATABASE_URL"):
        raise _refused()
    raise NotDecidedHere
