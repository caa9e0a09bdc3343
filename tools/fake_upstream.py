"""A fake OpenAI-compatible upstream, so the gateway works and is measured offline.

Answers ``GET /v1/models`` and ``POST /v1/chat/completions`` (plain and
``stream: true`` server-sent events) at once, with a fixed reply; it never
looks at the API key. Keep-alive HTTP/1.1, so it is never the bottleneck of a
benchmark of the proxy in front of it.

    python -m tools.fake_upstream --port 4010
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    words = REPLY.split(" ")
    parts = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    parts += [
        {
            **base,
            "choices": [
                {"index": 0, "delta": {"content": word + (" " if i < len(words) - 1 else "")}, "finish_reason": None}
            ],
        }
        for i, word in enumerate(words)
    ]
    parts.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return parts


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def log_message(self, format: str, *args: object) -> None:
        """Silent: a benchmark sends thousands of requests."""

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send(200, json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode())
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        model = request.get("model", "fake")
        if not request.get("stream"):
            self._send(200, json.dumps(completion(model)).encode())
            return
        body = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks(model)) + b"data: [DONE]\n\n"
        self._send(200, body, "text/event-stream")


def serve(port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    args = parser.parse_args(argv)
    server = serve(args.port, args.host)
    print(f"fake upstream: http://{args.host}:{args.port}/v1", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
