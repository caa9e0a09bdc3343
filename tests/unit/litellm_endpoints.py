"""A small HTTP server with exactly the LiteLLM endpoints ``tools.ops smoke`` calls, as LiteLLM documents them.

It tests the smoke client, not LiteLLM: a database-backed LiteLLM cannot run on
these machines (Prisma's engines are downloaded at run time from a host they
cannot reach), so the deployed run is what tests the gateway. Each endpoint
answers as LiteLLM 1.106's does (``litellm/proxy/``): ``/health/liveliness``,
``/health/readiness`` (``{"status": "healthy", "db": "connected"}``, 503 when a
configured database is down), ``/v1/models``, ``/v1/chat/completions``,
``/key/generate``, ``/key/info?key=<sha256>``, ``/key/delete`` and the UI's
``POST /login`` (303 to ``/ui?login=success`` with a ``token`` cookie). Spend
appears ``batch_write_seconds`` after a completion, as LiteLLM's batch writer
records it. ``faults`` turns one behaviour off, to prove the client notices.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tools.ops import ADMIN_UI_REFUSAL

MASTER_KEY = "sk-master-for-the-endpoint-double"
UI = ("admin", "ui-password-for-the-double")


@dataclass
class State:
    batch_write_seconds: float = 0.2
    # "db-down", "no-spend", "login-no-cookie", "accepts-any-key", "delete-keeps-the-key",
    # "login-refused-by-the-load-balancer"
    faults: set[str] = field(default_factory=set)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha256 -> info
    calls: list[str] = field(default_factory=list)


def _handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _key(self) -> str | None:
            header = self.headers.get("Authorization", "")
            return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _authorised(self, master_only: bool = False) -> str | None:
            key = self._key()
            if "accepts-any-key" in state.faults and key:
                return key
            hashed = hashlib.sha256((key or "").encode()).hexdigest()
            if key == MASTER_KEY or (not master_only and hashed in state.keys):
                return key
            self._send(401, {"error": {"message": "Authentication Error, Invalid proxy server token passed."}})
            return None

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            state.calls.append(f"GET {url.path}")
            if url.path == "/health/liveliness":
                self._send(200, "I'm alive!")
            elif url.path == "/health/readiness":
                down = "db-down" in state.faults
                self._send(503 if down else 200, {"status": "healthy", "db": "disconnected" if down else "connected"})
            elif url.path == "/v1/models" and self._authorised():
                self._send(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})
            elif url.path == "/key/info" and self._authorised(master_only=True):
                hashed = parse_qs(url.query).get("key", [""])[0]
                info = state.keys.get(hashed)
                if info is None:
                    self._send(404, {"detail": {"error": "key not found"}})
                    return
                spend = 0.0 if "no-spend" in state.faults else sum(
                    cost for at, cost in info["completions"] if time.monotonic() - at >= state.batch_write_seconds
                )  # fmt: skip
                self._send(200, {"key": hashed, "info": {"key_alias": info["alias"], "spend": spend}})

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            state.calls.append(f"POST {url.path}")
            body = self._body()
            if url.path == "/login" and "login-refused-by-the-load-balancer" in state.faults:
                # as the alb stack's AdminUiRefused rule answers outside AdminUiCidr
                refusal = ADMIN_UI_REFUSAL.encode()
                self.send_response(403)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(refusal)))
                self.end_headers()
                self.wfile.write(refusal)
            elif url.path == "/login":
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                if (form.get("username"), form.get("password")) != UI:
                    self._send(401, {"error": {"message": "Invalid credentials used to access UI."}})
                    return
                cookie = {} if "login-no-cookie" in state.faults else {"Set-Cookie": "token=jwt; Path=/; SameSite=lax"}
                self._send(303, None, {"Location": "http://gateway/ui?login=success", **cookie})
            elif url.path == "/v1/chat/completions" and self._authorised():
                hashed = hashlib.sha256((self._key() or "").encode()).hexdigest()
                if hashed in state.keys:
                    state.keys[hashed]["completions"].append((time.monotonic(), 0.000012))
                self._send(200, {"choices": [{"message": {"role": "assistant", "content": "ok"}}],
                                 "usage": {"prompt_tokens": 12, "completion_tokens": 1}})  # fmt: skip
            elif url.path == "/key/generate" and self._authorised(master_only=True):
                request = json.loads(body or b"{}")
                key = "sk-" + secrets.token_urlsafe(16)
                state.keys[hashlib.sha256(key.encode()).hexdigest()] = {
                    "alias": request.get("key_alias"), "models": request.get("models"), "completions": []
                }  # fmt: skip
                self._send(200, {"key": key, "key_alias": request.get("key_alias"), "expires": None})
            elif url.path == "/key/delete" and self._authorised(master_only=True):
                request = json.loads(body or b"{}")
                # LiteLLM 1.106 answers 200 whether or not it deleted anything.
                keep = "delete-keeps-the-key" in state.faults
                deleted = [k for k in request.get("keys", []) if not keep and state.keys.pop(k, None) is not None]
                self._send(200, {"deleted_keys": deleted})

    return Handler


class LiteLLMEndpoints:
    def __init__(self) -> None:
        self.state = State()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
