"""A bounded load through the gateway: a few requests a second, every response counted.

Each ``Client`` sends one chat completion at a time, ``rate`` times a second,
with the key its ``key`` callable gives at that moment, and records the
status (0 for a failed connection) and when it was sent. A scenario runs a
few clients at once around whatever it does to the service, then holds the
records against what it expects.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

SCENARIO_LINES: list[str] = []  # the running test's; tests/conftest.py carries them on its report to the run's summary
BODY = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}).encode()


@dataclass
class Result:
    sent_at: float
    status: int
    detail: str


@dataclass
class Client:
    name: str
    url: str
    key: Callable[[], str]
    rate: float = 2.0
    results: list[Result] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Client:
        self._thread = threading.Thread(target=self._run, name=f"load-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=120)

    def _run(self) -> None:
        parts = urlsplit(self.url)
        while not self._stop.is_set():
            began = time.monotonic()
            self.results.append(self.send(parts.hostname or "127.0.0.1", parts.port or 80))
            self._stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - began)))

    def send(self, host: str, port: int) -> Result:
        sent = time.time()
        connection = http.client.HTTPConnection(host, port, timeout=60)
        try:
            connection.request(
                "POST",
                "/v1/chat/completions",
                body=BODY,
                headers={"Authorization": f"Bearer {self.key()}", "Content-Type": "application/json"},
            )
            response = connection.getresponse()
            body = response.read()
            return Result(sent, response.status, "" if response.status == 200 else body[:200].decode(errors="replace"))
        except (OSError, http.client.HTTPException) as err:
            return Result(sent, 0, f"{type(err).__name__}: {err}")
        finally:
            connection.close()

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status != 200]


def run_clients(clients: list[Client]) -> list[Client]:
    for client in clients:
        client.start()
    return clients


def stop_clients(clients: list[Client]) -> None:
    for client in clients:
        client._stop.set()
    for client in clients:
        client.stop()


def report(scenario: str, clients: list[Client]) -> str:
    """One line per client, the way each scenario prints its count and failures."""
    lines = []
    for client in clients:
        failed = client.failures
        # one line, whatever the detail holds (a 502's HTML page spans many)
        detail = " ".join(failed[0].detail.split())[:120] if failed else ""
        first = f"; first: {failed[0].status} {detail}" if failed else ""
        lines.append(f"{scenario}: {client.name}: {len(client.results)} requests, {len(failed)} failed{first}")
    SCENARIO_LINES.extend(lines)
    text = "\n".join(lines)
    print(text)
    return text
