"""HTTP clients for calls to Telegram, Kommo, ManyChat and CRM webhooks, with a dry-run outbox.

Under `faqbot run` (env `FAQBOT_OUTBOX=console`) a bot without credentials still "sends": the
call is printed to the console as an outbox line and answered with a plausible success, so the
whole flow can be watched locally without real accounts. Bots with credentials send for real.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

OUTBOX_ENV = "FAQBOT_OUTBOX"
CONSOLE_OUTBOX = "console"
DEFAULT_TIMEOUT = 10.0

_TELEGRAM_TOKEN = re.compile(r"/bot[^/]+/")
_SECRET_QUERY_KEYS = {"token", "access_token", "api_key", "apikey", "key", "secret"}
_message_ids = itertools.count(1001)
_recent_lock = threading.Lock()
_recent: deque[OutboxCall] = deque(maxlen=200)


@dataclass(frozen=True)
class OutboxCall:
    """One call the dry-run outbox answered instead of sending."""

    method: str
    url: str
    body: Any


def wants_dry_run(outbox_mode: str | None, *, has_credentials: bool) -> bool:
    """True when calls should go to the console outbox: local mode and no credentials to send with."""
    return (outbox_mode or "").strip().lower() == CONSOLE_OUTBOX and not has_credentials


def outbound_client(*, dry_run: bool, timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    """An httpx client for outbound calls; with `dry_run` it prints calls instead of sending them."""
    if dry_run:
        return httpx.Client(transport=httpx.MockTransport(_answer_dry_run), timeout=timeout)
    return httpx.Client(timeout=timeout)


def recent_calls() -> list[OutboxCall]:
    """The latest dry-run calls of this process, oldest first (the local stack and tests read them)."""
    with _recent_lock:
        return list(_recent)


def clear_recent_calls() -> None:
    with _recent_lock:
        _recent.clear()


def masked_url(url: httpx.URL) -> str:
    """The URL with tokens hidden: Telegram's `/bot<token>/` path and secret-looking query keys."""
    path = _TELEGRAM_TOKEN.sub("/bot***/", url.path)
    query = [(k, "***" if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in parse_qsl(url.query.decode())]
    text = f"{url.scheme}://{url.netloc.decode()}{path}"
    return f"{text}?{urlencode(query, safe='*')}" if query else text


def _answer_dry_run(request: httpx.Request) -> httpx.Response:
    body = _request_body(request)
    call = OutboxCall(method=request.method, url=masked_url(request.url), body=body)
    with _recent_lock:
        _recent.append(call)
    shown = json.dumps(body, ensure_ascii=False) if body is not None else ""
    sys.stdout.write(f"outbox ▸ {call.method} {call.url} {shown}".rstrip() + "\n")
    sys.stdout.flush()
    return _plausible_success(request, body)


def _request_body(request: httpx.Request) -> Any:
    raw = request.content
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def _plausible_success(request: httpx.Request, body: Any) -> httpx.Response:
    """What the real service answers on success, so callers follow their normal path."""
    host = request.url.host
    path = request.url.path
    if host == "api.telegram.org" or _TELEGRAM_TOKEN.search(path):
        return httpx.Response(200, json=_telegram_result(path, body))
    if host.endswith("manychat.com"):
        return httpx.Response(200, json={"status": "success", "data": {}})
    if "/api/v4/" in path:
        return _kommo_result(request.method, path, body)
    return httpx.Response(200, json={"ok": True})


def _telegram_result(path: str, body: Any) -> dict[str, Any]:
    if not path.endswith(("/sendMessage", "/editMessageText", "/sendDocument", "/sendPhoto")):
        return {"ok": True, "result": True}
    chat_id = body.get("chat_id") if isinstance(body, dict) else None
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "supergroup"},
    }
    if isinstance(body, dict) and "text" in body:
        message["text"] = body["text"]
    return {"ok": True, "result": message}


def _kommo_result(method: str, path: str, body: Any) -> httpx.Response:
    items = body if isinstance(body, list) else [body]
    entity = path.rstrip("/").rsplit("/", 1)[-1]
    if method == "GET":
        # Kommo answers a search that finds nothing with 204 and no body.
        if entity in {"contacts", "leads"}:
            return httpx.Response(204)
        return httpx.Response(200, json={"_embedded": {entity: []}})
    if path.endswith("/leads/complex"):
        leads: list[dict[str, Any]] = [
            {
                "id": next(_message_ids),
                "contact_id": next(_message_ids),
                "company_id": None,
                "request_id": [str(i)],
                "merged": False,
            }
            for i, _ in enumerate(items)
        ]
        return httpx.Response(200, json=leads)
    created = [{"id": next(_message_ids), "request_id": str(i)} for i, _ in enumerate(items)]
    if method == "PATCH" and not isinstance(body, list):
        return httpx.Response(200, json={"id": next(_message_ids), "updated_at": int(time.time())})
    return httpx.Response(200, json={"_embedded": {entity: created}})
