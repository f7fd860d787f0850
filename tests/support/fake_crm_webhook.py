"""A CRM's receiver for faqbot's generic webhook, verifying the signature as docs/managers.md tells a client to.

`POST /hook`: checks `X-Faqbot-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
with its own code (not faqbot's), refuses a bad or stale signature with 401, keeps every accepted
event, and answers a `lead.ready` with `{"lead_id": "..."}` as a CRM would.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

from support.fake_http import FakeHttpServer, FakeRequest, FakeResponse

TOLERANCE_SECONDS = 300


def signature_ok(secret: str, body: bytes, header: str, *, now: float) -> bool:
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not parts.get("t", "").isdigit() or abs(now - int(parts["t"])) > TOLERANCE_SECONDS:
        return False
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


class FakeCrmWebhook(FakeHttpServer):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.events: list[dict[str, Any]] = []  # accepted bodies, in order
        self.rejected: list[str] = []
        self._lead_ids = itertools.count(501)

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hook"

    def events_of(self, bot_id: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event.get("bot_id") == bot_id]

    def transient_failure(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(503, "upstream busy", content_type="text/plain")

    def handle(self, request: FakeRequest) -> FakeResponse:
        if request.method != "POST" or request.path != "/hook":
            return FakeResponse(404, {"error": "not found"})
        header = request.headers.get("x-faqbot-signature", "")
        if not signature_ok(self.secret, request.body, header, now=time.time()):
            self.rejected.append(header)
            return FakeResponse(401, {"error": "bad signature"})
        event = json.loads(request.body)
        if request.headers.get("x-faqbot-event-id") != event.get("event_id"):
            return FakeResponse(400, {"error": "X-Faqbot-Event-Id does not match the body"})
        self.events.append(event)
        if event.get("type") == "lead.ready":
            return FakeResponse(200, {"lead_id": f"crm-{next(self._lead_ids)}"})
        return FakeResponse(204)
