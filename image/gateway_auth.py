"""LiteLLM custom auth for the gateway: the previous master key's grace period, and 401 for unknown keys.

LiteLLM accepts a single master key, read at start. After a rotation the
tasks are redeployed with the new key, and this hook keeps the previous one
valid until ``LITELLM_PREVIOUS_MASTER_KEY_EXPIRES`` (both come from the
master-key secret, written by the rotation function). Every other key falls
through to LiteLLM's own checks (master key, virtual keys in the database).

Without a database LiteLLM answers an unknown key with 400 "No connected db";
since no virtual key can exist then, this hook answers 401 instead.

Enabled in config.yaml with::

    general_settings:
      custom_auth: gateway_auth.user_api_key_auth
      custom_auth_settings: {mode: auto}   # an exception other than ProxyException falls through
"""

from __future__ import annotations

import hmac
import os
import time
from datetime import datetime

from fastapi import Request
from litellm.proxy._types import ProxyException


class NotDecidedHere(Exception):
    """Let LiteLLM's own authentication decide (custom_auth_settings mode "auto")."""


def _matches(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def previous_key_is_valid(key: str, now: float | None = None) -> bool:
    """Whether ``key`` is the previous master key and its grace period has not ended."""
    previous = os.environ.get("LITELLM_PREVIOUS_MASTER_KEY", "")
    expires = os.environ.get("LITELLM_PREVIOUS_MASTER_KEY_EXPIRES", "")
    if not (_matches(key, previous) and expires):
        return False
    try:
        deadline = datetime.fromisoformat(expires).timestamp()
    except ValueError:
        return False  # an unreadable expiry grants nothing
    return (time.time() if now is None else now) < deadline


async def user_api_key_auth(request: Request, api_key: str) -> str:
    """Map a still-valid previous master key to the current one; refuse what cannot be valid.

    Returns:
        The current master key, which LiteLLM then authenticates as the admin.

    Raises:
        ProxyException: 401, when no database is configured and the key is not the master key.
        NotDecidedHere: for every other key, so LiteLLM's own checks apply.
    """
    key = api_key.removeprefix("Bearer ").strip()
    master = os.environ.get("LITELLM_MASTER_KEY", "")
    if previous_key_is_valid(key):
        return master
    if not os.environ.get("DATABASE_URL") and not _matches(key, master):
        raise ProxyException(
            message="Authentication Error: invalid or missing API key",
            type="auth_error",
            param="api_key",
            code=401,
        )
    raise NotDecidedHere
