"""A fake OpenAI-compatible upstream, so the gateway works and is measured offline.

Answers ``GET /v1/models`` and ``POST /v1/chat/completions`` (plain and
``stream: true`` server-sent events) at once, with a fixed reply; it never
looks at the API key. A last message of ``take N seconds`` makes it answer
after N seconds, like a long completion, for tests of what a deploy does to
requests in flight. One asyncio event loop with keep-alive HTTP/1.1, so its
own latency stays near a millisecond and it is never the bottleneck of a
benchmark of the proxy in front of it. Standard library only.

    python -m tools.fake_upstream --port 4010
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
import time
import uuid

REPLY = "Hello from the fake upstream."


def completion(model: str) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15},
    }


def chunks(model: str) -> list[dict]:
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk", "created": int(time.time())}
    base["model"] = model
    words = REPLY.split(" ")
    deltas = [{"role": "assistant", "content": ""}]
    deltas += [{"content": word + (" " if i < len(words) - 1 else "")} for i, word in enumerate(words)]
    parts = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    parts.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return parts


def delay_of(body: bytes) -> float:
    """The seconds a request asks the upstream to take (``take N seconds``), else 0."""
    try:
        messages = json.loads(body or b"{}").get("messages") or [{}]
        words = str(messages[-1].get("content", "")).split()
    except (ValueError, AttributeError):
        return 0.0
    if len(words) == 3 and words[0] == "take" and words[2] == "seconds":
        with contextlib.suppress(ValueError):
            return min(float(words[1]), 900.0)
    return 0.0


def respond(method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
    """(status, content type, body) for one request."""
    path = path.split("?")[0].rstrip("/")
    if method == "GET" and path in ("/v1/models", "/models"):
        return (
            200,
            "application/json",
            json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode(),
        )
    if method == "POST" and path.endswith("/chat/completions"):
        request = json.loads(body or b"{}")
        model = request.get("model", "fake")
        if not request.get("stream"):
            return 200, "application/json", json.dumps(completion(model)).encode()
        events = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks(model)) + b"data: [DONE]\n\n"
        return 200, "text/event-stream", events
    return 404, "application/json", b'{"error": {"message": "not found"}}'


async def _connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if method == "POST" and (delay := delay_of(body)):
                await asyncio.sleep(delay)
            status, content_type, payload = respond(method, path, body)
            writer.write(
                f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    writer.close()


class Upstream:
    """The server running on its own thread; ``port`` is known once ``start`` returns."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()

    async def _serve(self) -> None:
        server = await asyncio.start_server(_connection, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await server.serve_forever()

    def _run(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._serve())

    def start(self) -> Upstream:
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def stop(self) -> None:
        for task in asyncio.all_tasks(self._loop):
            self._loop.call_soon_threadsafe(task.cancel)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    args = parser.parse_args(argv)

    async def forever() -> None:
        server = await asyncio.start_server(_connection, args.host, args.port)
        print(f"fake upstream: http://{args.host}:{args.port}/v1", flush=True)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(forever())
    return 0


if __name__ == "__main__":
    sys.exit(main())
