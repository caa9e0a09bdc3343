"""How fast the emulator's service clocks run: health checks, grace periods, drains and stop timeouts.

AWS's defaults are made for fleets (a 30 s health-check interval, a 600 s
grace period); a rehearsal that waited them out would take minutes per
deploy. ``LLMGW_TIME_SCALE`` (default 0.1) multiplies every such period the
emulator waits on AWS's behalf, so their order, thresholds and ratios stay
AWS's. Nothing a program inside a task does is scaled: LiteLLM's own start-up,
its 30 s master-key cache and its timeouts run in real time.
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
