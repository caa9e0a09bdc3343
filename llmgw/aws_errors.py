"""botocore's ClientError, read the same way everywhere: its code, and one line to show."""

from __future__ import annotations


def error_code(err: Exception) -> str:
    """The service's error code (``NoSuchBucket``, ``AccessDenied``), or empty if it gave none."""
    return str((getattr(err, "response", None) or {}).get("Error", {}).get("Code", ""))


def error_line(err: Exception) -> str:
    """``Code: Message``, as the service said it, in one line."""
    error = (getattr(err, "response", None) or {}).get("Error", {})
    return f"{error.get('Code')}: {' '.join(str(error.get('Message')).split())}"
