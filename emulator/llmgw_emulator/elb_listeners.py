"""Listeners of the emulator's Application Load Balancers: each one a local HTTP(S) reverse proxy.

A listener is served on 127.0.0.1 at a local port (``LLMGW_LISTENER_PORTS``
maps listener ports to local ones, e.g. ``80=4000``; the rest get free
ports; ``/moto-api/llmgw/load-balancers`` lists them). It applies the
deployed rules as the ALB does: lowest priority first, the default actions
when none matches.

- Conditions: ``path-pattern`` (case-sensitive, ``*`` any characters and
  ``?`` one, matched against the path without the query string),
  ``query-string`` and ``source-ip`` (the connecting address: the ALB sees a
  proxy's, not the client's behind it). A rule with any other condition
  answers 500 naming it, rather than being skipped.
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html
- Actions: ``forward`` (to one target group, or ``ForwardConfig``'s first),
  ``fixed-response`` and ``redirect``. An HTTPS listener serves TLS with a
  certificate from the emulator's CA for its ACM certificate's domain.
- Forwarding answers like the ALB: 503 with no target to send to, 502 when
  the target refuses or breaks the connection, 504 when it does not answer
  within the load balancer's ``idle_timeout.timeout_seconds``. The proxy adds
  ``X-Forwarded-For``, ``X-Forwarded-Proto`` and ``X-Forwarded-Port``.
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html
"""

from __future__ import annotations

import http.client
import http.server
import ipaddress
import os
import re
import socket
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from .elb_targets import TargetGroup

__all__ = ["Listener", "ListenerConfig", "listener_ports"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}

_ALB_PAGES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


# The Application Load Balancer listener attributes that insert a response header, and the header
# each sets ("HTTP header modification for your Application Load Balancer", Elastic Load Balancing
# user guide). The others (CORS, the mTLS header renames, routing.http.response.server.enabled) are
# not modelled, so a template that sets one fails here instead of passing unseen.
RESPONSE_HEADER_ATTRIBUTES = {
    "routing.http.response.strict_transport_security.header_value": "Strict-Transport-Security",
    "routing.http.response.x_content_type_options.header_value": "X-Content-Type-Options",
    "routing.http.response.x_frame_options.header_value": "X-Frame-Options",
    "routing.http.response.content_security_policy.header_value": "Content-Security-Policy",
}


def listener_ports() -> dict[int, int]:
    """``LLMGW_LISTENER_PORTS`` ("80=4000,443=4443"): the local port for a listener port."""
    raw = os.environ.get("LLMGW_LISTENER_PORTS", "")
    ports: dict[int, int] = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        left, sep, right = item.partition("=")
        if not (sep and left.isdigit() and right.isdigit()):
            raise ValueError(f"LLMGW_LISTENER_PORTS item {item!r} is not LISTENER_PORT=LOCAL_PORT")
        ports[int(left)] = int(right)
    return ports


@dataclass
class Rule:
    priority: int
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]


@dataclass
class ListenerConfig:
    """What a listener does, snapshotted from moto's model under the server lock."""

    arn: str
    load_balancer_arn: str
    protocol: str
    port: int
    idle_timeout: int
    default_actions: list[dict[str, Any]]
    rules: list[Rule] = field(default_factory=list)
    certificate_domain: str | None = None
    # Headers the listener's attributes insert into every response it sends, replacing a target's own.
    response_headers: dict[str, str] = field(default_factory=dict)


def _path_matches(pattern: str, path: str) -> bool:
    expression = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(expression, path, flags=re.DOTALL) is not None


def _wildcard_matches(pattern: str, text: str) -> bool:
    """ALB's condition wildcards, case-insensitive: * is any run of characters, ? exactly one."""
    expression = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(expression, text, flags=re.DOTALL | re.IGNORECASE) is not None


def _query_matches(condition: dict[str, Any], query: str) -> bool:
    """A query-string condition: any of its key/value pairs is in the query ("Listener rules for your
    Application Load Balancer", query string conditions: not case-sensitive, * and ? wildcards, a
    pair without a key matches any parameter's value)."""
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    wanted = (condition.get("QueryStringConfig") or {}).get("Values") or []
    return any(
        ("Key" not in pair or _wildcard_matches(str(pair["Key"]), key)) and _wildcard_matches(str(pair["Value"]), value)
        for pair in wanted
        for key, value in pairs
    )


def _source_matches(condition: dict[str, Any], client: str) -> bool:
    """A source-ip condition: the connection's address is in one of its CIDR blocks."""
    values = (condition.get("SourceIpConfig") or {}).get("Values") or []
    address = ipaddress.ip_address(client)
    return any(address in ipaddress.ip_network(str(v), strict=False) for v in values)


def _rule_matches(rule: Rule, path: str, query: str = "", client: str = "127.0.0.1") -> bool:
    for condition in rule.conditions:
        field_name = condition.get("Field") or condition.get("field")
        if field_name == "query-string":
            if not _query_matches(condition, query):
                return False
            continue
        if field_name == "source-ip":
            if not _source_matches(condition, client):
                return False
            continue
        if field_name != "path-pattern":
            raise NotImplementedError(f"the emulator's load balancer does not evaluate {field_name} conditions")
        values = (condition.get("PathPatternConfig") or {}).get("Values") or condition.get("Values") or []
        if not any(_path_matches(v, path) for v in values):
            return False
    return True


class Listener:
    """One listener's proxy server; ``update`` swaps in new rules without dropping a connection."""

    def __init__(self, config: ListenerConfig, groups: dict[str, TargetGroup], local_port: int, tls_files: Any):
        self.config = config
        self.groups = groups
        handler = _handler_for(self)
        server_class = type("Server", (http.server.ThreadingHTTPServer,), {"daemon_threads": True})
        self.server = server_class(("127.0.0.1", local_port), handler)
        self.tls: ssl.SSLContext | None = None
        if config.protocol == "HTTPS":
            key_path, certificate_path = tls_files(config.certificate_domain or "localhost")
            self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls.minimum_version = ssl.TLSVersion.TLSv1_2
            self.tls.load_cert_chain(certificate_path, key_path)
        self.local_port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, name=f"alb-{config.port}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        scheme = "https" if self.config.protocol == "HTTPS" else "http"
        return f"{scheme}://127.0.0.1:{self.local_port}"

    def update(self, config: ListenerConfig, groups: dict[str, TargetGroup]) -> None:
        self.config, self.groups = config, groups

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def actions_for(self, path: str, query: str = "", client: str = "127.0.0.1") -> list[dict[str, Any]]:
        for rule in sorted(self.config.rules, key=lambda r: r.priority):
            if _rule_matches(rule, path, query, client):
                return rule.actions
        return self.config.default_actions


def _handler_for(listener: Listener) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "awselb/2.0"
        sys_version = ""
        # Headers and body go out in separate writes; with Nagle's algorithm and the client's
        # delayed ACK, each response would wait 40 ms.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            if listener.tls is not None:
                # The handshake runs here, on the connection's own thread, so a client that stalls
                # in it holds up nobody else.
                self.request.settimeout(listener.config.idle_timeout)
                self.request = listener.tls.wrap_socket(self.request, server_side=True)
            super().setup()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the ALB's access log is not modelled here; requests stay quiet

        def _any(self) -> None:
            path, _, query = self.path.partition("?")
            body = self._body()
            try:
                actions = listener.actions_for(path, query, self.client_address[0])
            except NotImplementedError as err:
                self._reply(500, str(err).encode(), "text/plain")
                return
            action = sorted(actions, key=lambda a: int(a.get("Order", 1)))[0] if actions else {}
            kind = action.get("Type")
            if kind == "fixed-response":
                config = action.get("FixedResponseConfig") or {}
                self._reply(
                    int(config.get("StatusCode", 200)),
                    str(config.get("MessageBody", "")).encode(),
                    str(config.get("ContentType", "text/plain")),
                )
            elif kind == "redirect":
                self._redirect(action.get("RedirectConfig") or {})
            elif kind == "forward":
                self._forward(action, body)
            else:
                self._reply(500, f"the emulator's load balancer does not perform {kind} actions".encode(), "text/plain")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _any

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _reply(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in {**(extra or {}), **listener.config.response_headers}.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _alb_error(self, status: int) -> None:
            title = _ALB_PAGES[status]
            page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            page += "</body>\r\n</html>\r\n"
            self._reply(status, page.encode(), "text/html")

        def _redirect(self, config: dict[str, Any]) -> None:
            host = self.headers.get("Host", "").split(":")[0]
            protocol = str(config.get("Protocol", "#{protocol}")).replace("#{protocol}", listener.config.protocol)
            port = str(config.get("Port", "#{port}")).replace("#{port}", str(listener.config.port))
            path, _, query = self.path.partition("?")
            location = f"{protocol.lower()}://{config.get('Host', '#{host}').replace('#{host}', host)}:{port}"
            location += str(config.get("Path", "/#{path}")).replace("/#{path}", path)
            if query or config.get("Query"):
                location += "?" + str(config.get("Query", "#{query}")).replace("#{query}", query)
            status = 301 if config.get("StatusCode", "HTTP_301") == "HTTP_301" else 302
            self._reply(status, b"", "text/html", {"Location": location})

        def _forward(self, action: dict[str, Any], body: bytes) -> None:
            weighted = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
            if len(weighted) > 1:
                message = b"the emulator's load balancer does not split a forward across target groups"
                self._reply(500, message, "text/plain")
                return
            arn = action.get("TargetGroupArn") or (weighted[0].get("TargetGroupArn") if weighted else None)
            group = listener.groups.get(str(arn))
            target = group.pick() if group else None
            if group is None or target is None:
                self._alb_error(503)
                return
            try:
                self._proxy_to(target.local_port, body, listener.config.idle_timeout)
            finally:
                group.done(target)

        def _proxy_to(self, port: int, body: bytes, idle_timeout: int) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            client = self.client_address[0]
            previous = self.headers.get("X-Forwarded-For")
            headers["X-Forwarded-For"] = f"{previous}, {client}" if previous else client
            headers["X-Forwarded-Proto"] = listener.config.protocol.lower()
            headers["X-Forwarded-Port"] = str(listener.config.port)
            headers["Host"] = self.headers.get("Host", "")
            if body or self.command in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=idle_timeout)
            try:
                try:
                    upstream.connect()
                    upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                except TimeoutError:
                    self._alb_error(504)
                    return
                except (OSError, http.client.HTTPException):
                    self._alb_error(502)
                    return
                self._relay(response)
            finally:
                upstream.close()

        def _relay(self, response: http.client.HTTPResponse) -> None:
            length = response.getheader("Content-Length")
            self.send_response(response.status, response.reason)
            inserted = {k.lower() for k in listener.config.response_headers}
            for key, value in response.getheaders():
                if key.lower() not in _HOP_BY_HOP and key.lower() not in inserted:
                    self.send_header(key, value)
            for key, value in listener.config.response_headers.items():
                self.send_header(key, value)
            chunked = length is None and self.command != "HEAD"
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", length or "0")
            self.end_headers()
            if self.command == "HEAD":
                return
            while True:
                try:
                    piece = response.read1(65536)
                except (OSError, http.client.HTTPException):
                    self.close_connection = True  # the target broke off: so does the ALB
                    return
                if not piece:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                self.wfile.flush()
            if chunked:
                self.wfile.write(b"0\r\n\r\n")

    return Handler


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
