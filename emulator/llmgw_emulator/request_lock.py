"""One request at a time, except while a request waits on code that calls back into the emulator.

moto's backends are not thread-safe, so the server handles one request at a
time. A Lambda function the emulator runs (a rotation step, say) calls the
emulator's own APIs while the request that started it is still open; holding
the lock then would deadlock. :meth:`ServerLock.released` lets such a wait
give the lock up and take it back, so moto's code still never runs twice at
once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["SERVER_LOCK", "ServerLock"]


class ServerLock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Run the block as the only thread inside moto (unless the block hands the lock over)."""
        self._lock.acquire()
        me = threading.get_ident()
        self._owner = me
        try:
            yield
        finally:
            if self._owner == me:
                self._owner = None
                self._lock.release()

    def holding(self) -> bool:
        """Whether this thread holds the lock."""
        return self._owner == threading.get_ident()

    def hand_over(self, worker: threading.Thread, granted: threading.Event) -> None:
        """Give the lock this thread holds to ``worker`` (started, waiting on ``granted``), which releases it.

        For an operation that goes on after its request has been answered,
        as CloudFormation's stack operations do.
        """
        if self._owner != threading.get_ident():
            raise RuntimeError("hand_over() needs the server lock")
        self._owner = worker.ident
        granted.set()

    def release_handed_over(self) -> None:
        """The worker's end: give the lock up for good."""
        self._owner = None
        self._lock.release()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Give the lock up for the block if this thread holds it; outside the server, do nothing."""
        if self._owner != threading.get_ident():
            yield
            return
        self._owner = None
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._owner = threading.get_ident()


SERVER_LOCK = ServerLock()
