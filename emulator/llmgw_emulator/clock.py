"""How fast the emulator's service clocks run: health checks, grace periods, drains and stop timeouts.

AWS's health checks run every 30 s by default, and a target needs several in
a row; a rehearsal that waited them out would take minutes per deploy.
``LLMGW_TIME_SCALE`` (default 0.1) multiplies the interval between health
checks, the load balancer's and the container's, and nothing else. What
bounds how a program behaves stays in real time, because the program runs in
real time: LiteLLM's start-up against the start period and the health-check
grace period, its answers against the timeouts, its open requests against
the deregistration delay, its shutdown against ``stopTimeout``, and its own
30 s master-key cache.
"""

from __future__ import annotations

import os

__all__ = ["scale", "scaled"]


def scale() -> float:
    """The factor from ``LLMGW_TIME_SCALE``; anything but a number in (0, 1] is an error, never a default."""
    raw = os.environ.get("LLMGW_TIME_SCALE", "0.1")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise ValueError(f"LLMGW_TIME_SCALE={raw!r} is not a number in (0, 1]")
    return value


def scaled(seconds: float) -> float:
    """``seconds`` of AWS time, in this machine's seconds."""
    return float(seconds) * scale()
