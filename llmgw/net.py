"""Local network helpers shared by the emulator, the tools and the tests."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at ``host`` now (the OS picks it; a race with another binder is possible)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
