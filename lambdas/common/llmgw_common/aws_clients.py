"""AWS clients whose calls give up well inside the rotation function's timeout.

botocore's defaults (60 s connect, 60 s read, retried) outlast a 60-second
function: a stuck call would end the invocation with Task timed out, which
Secrets Manager sees only as a failed invocation, with no step's error in the
log. With these, the worst case of one call is ``WORST_CASE_CALL_SECONDS``.
https://docs.aws.amazon.com/boto3/latest/guide/configuration.html
"""

from __future__ import annotations

from typing import Any

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 3
# Every attempt may wait for both timeouts; the standard retry mode's backoff
# between attempts is capped at 20 s, but with jitter it is below 1 s and 2 s here.
WORST_CASE_CALL_SECONDS = MAX_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + 1 + 2


def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        # total_max_attempts counts the first call; botocore's max_attempts counts only retries.
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    )
    return boto3.client(service, config=config)
