"""A small threaded HTTP server on 127.0.0.1 (free port) for fakes of the APIs faqbot calls.

Subclasses implement `handle(request) -> FakeResponse`. Every request is recorded. A seeded
`FailurePlan` makes a share of requests fail *before* the fake acts on them (429 or 5xx, as a
busy API does), so a test can count what really happened on the server side.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class FakeRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def args(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]


@dataclass
class FakeResponse:
    status: int
    body: Any = None  # dict/list → JSON; bytes/str → as is; None → empty
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FailurePlan:
    """Fail `rate` of the requests (seeded), each with one of `responses` (a callable making the failure)."""

    rate: float = 0.0
    seed: int = 0
    failures: int = 0
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def should_fail(self) -> bool:
        failed = self.rate > 0 and self._random.random() < self.rate
        if failed:
            self.failures += 1
        return failed

    def pick(self, options: list[Any]) -> Any:
        return self._random.choice(options)


class FakeHttpServer:
    def __init__(self) -> None:
        self.requests: list[FakeRequest] = []
        self.errors: list[str] = []  # bugs in the fake itself; tests assert there are none
        self.failure_plan = FailurePlan()
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeHttpServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = FakeRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qsl(parts.query, keep_blank_values=True),
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                response = fake._dispatch(request)
                payload = response.body
                if isinstance(payload, dict | list):
                    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                elif isinstance(payload, str):
                    data = payload.encode("utf-8")
                else:
                    data = payload or b""
                self.send_response(response.status)
                if data:
                    self.send_header("Content-Type", response.content_type)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
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

    def __enter__(self) -> FakeHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- requests ---------------------------------------------------------------------------------------

    def fail_randomly(self, rate: float, *, seed: int) -> None:
        with self.lock:
            self.failure_plan = FailurePlan(rate=rate, seed=seed)

    def _dispatch(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.requests.append(request)
            if self.failure_plan.should_fail():
                return self.transient_failure(request)
            try:
                return self.handle(request)
            except Exception as exc:  # a bug in the fake must show up in the test, not hang it
                self.errors.append(f"{request.method} {request.path}: {exc!r}")
                return FakeResponse(400, {"fake_error": repr(exc)})

    def handle(self, request: FakeRequest) -> FakeResponse:
        raise NotImplementedError

    def transient_failure(self, request: FakeRequest) -> FakeResponse:
        raise NotImplementedError
