"""Refuse to serve until the shared-state cache answers, when the task is given one (REDIS_HOST).

LiteLLM falls back to per-process state, with one warning line, when the Redis its REDIS_*
variables name does not answer within 2 seconds of start-up. A task that started during a
cache failover would then enforce its own limits until it is replaced. Failing here instead
keeps it out of the target group: ECS replaces it, and the deployment circuit breaker stops
a rollout whose tasks cannot reach the cache.

Exit 0 when the cache answers PING (or no cache is configured); 69 (EX_UNAVAILABLE) with one
line naming the host and the error otherwise. The password is never printed.
"""

from __future__ import annotations

import os
import sys
import time


def main() -> int:
    host = os.environ.get("REDIS_HOST", "")
    if not host:
        return 0
    import redis

    port = int(os.environ.get("REDIS_PORT", "6379"))
    wait = float(os.environ.get("REDIS_WAIT_SECONDS", "60"))
    client = redis.Redis(
        host=host,
        port=port,
        password=os.environ.get("REDIS_PASSWORD") or None,
        ssl=os.environ.get("REDIS_SSL", "").lower() == "true",
        ssl_ca_certs=os.environ.get("REDIS_SSL_CA_CERTS") or None,
        socket_connect_timeout=5,
        socket_timeout=5,
    )
    deadline = time.monotonic() + wait
    while True:
        try:
            client.ping()
            return 0
        except redis.exceptions.AuthenticationError as err:
            # A wrong token does not heal by waiting.
            where = f"{host}:{port}"
            print(f"entrypoint: the shared-state cache at {where} refused REDIS_PASSWORD ({err})", file=sys.stderr)
            return 69
        except (redis.exceptions.RedisError, OSError) as err:
            if time.monotonic() > deadline:
                print(
                    f"entrypoint: the shared-state cache at {host}:{port} did not answer in {wait:.0f} s "
                    f"({type(err).__name__}: {err}); refusing to serve with per-task limits",
                    file=sys.stderr,
                )
                return 69
            time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
