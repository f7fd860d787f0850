"""A local API Gateway HTTP API: HTTP request → payload format 2.0 event → real handler → HTTP response.

Routes come from the functions' `HttpApi` events in the template, chosen the way API Gateway
chooses them (the most specific path wins; `ANY` and greedy `{proxy+}` paths last).
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from faqbot.local.emulator import HOST, ensure_port_free
from faqbot.local.handlers import LOCAL_ACCOUNT_ID
from faqbot.local.resources import HttpRoute

Invoke = Callable[[str, dict[str, Any]], Any]
Echo = Callable[[str], None]

API_ID = "local"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_TEXT_TYPES = re.compile(
    r"^(text/|application/(json|.*\+json|xml|.*\+xml|javascript|x-www-form-urlencoded|graphql))", re.IGNORECASE
)
_NOT_FOUND = {"message": "Not Found"}
_INTERNAL_ERROR = {"message": "Internal Server Error"}


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    path_parameters: dict[str, str]


class Router:
    """Finds the route API Gateway would pick for a method and path."""

    def __init__(self, routes: Sequence[HttpRoute]) -> None:
        compiled = [(_priority(route), _path_pattern(route.path), route) for route in routes]
        self._routes = sorted(compiled, key=lambda item: item[0])

    def match(self, method: str, path: str) -> RouteMatch | None:
        for _, pattern, route in self._routes:
            if route.method not in {"ANY", method.upper()}:
                continue
            found = pattern.fullmatch(path)
            if found:
                return RouteMatch(route, {k: unquote(v) for k, v in found.groupdict().items()})
        return None


def _path_pattern(path: str) -> re.Pattern[str]:
    if path == "$default":
        return re.compile(r"/.*")
    parts = []
    for segment in path.strip("/").split("/"):
        parameter = re.fullmatch(r"\{([A-Za-z0-9_]+)(\+?)\}", segment)
        if parameter and parameter.group(2):
            parts.append(f"(?P<{parameter.group(1)}>.+)")
        elif parameter:
            parts.append(f"(?P<{parameter.group(1)}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts))


def _priority(route: HttpRoute) -> tuple[bool, bool, int, int, bool]:
    """Sort key: exact paths before templated ones, greedy and $default last, ANY after a method."""
    segments = route.path.strip("/").split("/")
    greedy = any(s.endswith("+}") for s in segments)
    parameters = sum(1 for s in segments if s.startswith("{"))
    return (route.path == "$default", greedy, parameters, -len(segments), route.method == "ANY")


def build_event(
    *,
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    match: RouteMatch,
    source_ip: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API (payload format 2.0) event for one request."""
    now = now or datetime.now(UTC)
    split = urlsplit(target)
    raw_path = split.path or "/"
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(split.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": raw_path,
        "rawQueryString": split.query,
        "headers": joined,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": joined.get("host", HOST),
            "domainPrefix": joined.get("host", HOST).split(".")[0].split(":")[0],
            "http": {
                "method": method.upper(),
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": match.route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if body:
        if _TEXT_TYPES.match(joined.get("content-type", "text/plain")):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode("ascii")
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_result(response: Any) -> HttpResult:
    """Turn a handler's return value into HTTP, as API Gateway does for payload format 2.0.

    A dict with `statusCode` is the full response; anything else (a dict without it, a list, a
    string) is sent as a 200 JSON body.
    """
    if not (isinstance(response, Mapping) and "statusCode" in response):
        body = json.dumps(response, ensure_ascii=False).encode("utf-8")
        return HttpResult(200, [("content-type", "application/json")], body)
    headers = [(str(k), str(v)) for k, v in (response.get("headers") or {}).items()]
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("set-cookie", str(cookie)) for cookie in response.get("cookies") or [])
    raw = response.get("body")
    if raw is None:
        body = b""
    elif response.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = (raw if isinstance(raw, str) else json.dumps(raw)).encode("utf-8")
    return HttpResult(int(response["statusCode"]), headers, body)


def _json_result(status: int, payload: Any) -> HttpResult:
    return HttpResult(status, [("content-type", "application/json")], json.dumps(payload).encode())


class LocalApiGateway:
    """Serves the template's HTTP API routes on 127.0.0.1:<port>, one thread per request."""

    def __init__(self, routes: Sequence[HttpRoute], invoke: Invoke, *, port: int = 3000, echo: Echo | None = None):
        self.router = Router(routes)
        self.port = port
        self._invoke = invoke
        self._echo = echo or (lambda line: print(line, flush=True))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> LocalApiGateway:
        ensure_port_free(self.port, what="HTTP API port (--port)")
        server = ThreadingHTTPServer((HOST, self.port), _request_handler(self))
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="faqbot-apigw", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def handle(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes, source_ip: str
    ) -> HttpResult:
        started = time.monotonic()
        path = urlsplit(target).path or "/"
        match = self.router.match(method, path)
        if match is None:
            result = _json_result(404, _NOT_FOUND)
            self._echo(f"api   {method} {path} → no route → 404")
            return result
        event = build_event(method=method, target=target, headers=headers, body=body, match=match, source_ip=source_ip)
        try:
            result = http_result(self._invoke(match.route.function, event))
        except Exception:
            traceback.print_exc(file=sys.stderr)
            result = _json_result(500, _INTERNAL_ERROR)
        elapsed = (time.monotonic() - started) * 1000
        self._echo(f"api   {method} {path} → {match.route.function} {result.status} ({elapsed:.0f} ms)")
        return result


def _request_handler(gateway: LocalApiGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "faqbot-local-apigw"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(_json_result(413, {"message": "Request Entity Too Large"}))
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            headers = list(self.headers.items())
            self._send(gateway.handle(self.command, self.path, headers, body, self.client_address[0]))

        def _send(self, result: HttpResult) -> None:
            self.send_response(result.status)
            for name, value in result.headers:
                if name.lower() in {"content-length", "connection", "transfer-encoding"}:
                    continue
                self.send_header(name, value)
            self.send_header("content-length", str(len(result.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(result.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silenced: the gateway prints one line per request itself."""

    return Handler
