"""The website channel: the chat widget's request body in, the JSON it renders out.

There is no platform in between: the widget (`faqbot/web/static/widget.js`) talks to
`/bots/<bot_id>/web/messages` itself. A visitor is an anonymous random token the server issues
(`new_visitor_id`, 192 bits from `secrets`) and the browser keeps in localStorage; the contact id
in the conversations table is `web-<visitor id>`, so a website contact is recognisable everywhere.

Request (POST):  {"text": "...", "message_id": "<client's random id, makes a retry recognisable>",
                  "after": "<cursor of the last message the widget shows>"}
Response:        {"visitor_id": "...", "status": "answered|clarify|...", "language": "uk",
                  "messages": [{"id", "role": "visitor|bot|manager", "text", "at", "author"?,
                                "choices"?: [{"number", "title"}]}], "cursor": "..."}
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from faqbot.channels.models import BotReply, InboundMessage, InvalidPayload, ReplyStatus, scalar_text
from faqbot.config import Channel, Platform, WebSettings
from faqbot.conversation.store import Role, StoredMessage

CONTACT_PREFIX = "web-"
VISITOR_ID_BYTES = 24  # 192 random bits: never guessable from another visitor's id
_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CURSOR = re.compile(r"^msg#[0-9T:.Z-]{27}#\d{6}$")
HISTORY_MESSAGES = 50  # what a returning visitor sees when the widget loads
_DEFAULT_PORTS = {"http": 80, "https": 443}
_VISIBLE_ROLES = {Role.CUSTOMER: "visitor", Role.BOT: "bot", Role.MANAGER: "manager"}


class OriginNotAllowed(PermissionError):
    """The request's Origin is not one of the bot's `site_origins` (HTTP 403)."""


class MessageTooLong(ValueError):
    """The visitor's message is longer than the bot's `web.max_message_chars` (HTTP 413)."""


# ---- visitors -------------------------------------------------------------------------------------------


def new_visitor_id() -> str:
    """A fresh anonymous visitor token (URL-safe, 32 characters)."""
    return secrets.token_urlsafe(VISITOR_ID_BYTES)


def valid_visitor_id(value: Any) -> str | None:
    """The visitor id if it has the shape `new_visitor_id` makes, else None."""
    return value if isinstance(value, str) and _VISITOR_ID.match(value) else None


def contact_id_for(visitor_id: str) -> str:
    return f"{CONTACT_PREFIX}{visitor_id}"


def is_web_contact(contact_id: str) -> bool:
    return contact_id.startswith(CONTACT_PREFIX)


def valid_cursor(value: str | None) -> str | None:
    """The `after` cursor (a message sort key) or None; InvalidPayload for anything else."""
    if value is None or value == "":
        return None
    if not _CURSOR.match(value):
        raise InvalidPayload("`after` must be the cursor of a message this endpoint returned")
    return value


# ---- origins --------------------------------------------------------------------------------------------


def normalize_origin(value: str | None) -> str | None:
    """`https://Shop.example.com:443/` → `https://shop.example.com`; None if it is not an http(s) origin."""
    if not value or not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    suffix = f":{port}" if port is not None and port != _DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{suffix}"


def allowed_origin(origin: str | None, site_origins: Iterable[str]) -> str:
    """The request's Origin, normalised, if the bot allows it; `OriginNotAllowed` otherwise."""
    normalized = normalize_origin(origin)
    if normalized is None:
        raise OriginNotAllowed("the widget must be called from a web page (Origin header missing or invalid)")
    allowed = {normalize_origin(site) for site in site_origins}
    if normalized not in allowed:
        raise OriginNotAllowed(f"{normalized} is not among the bot's site_origins")
    return normalized


# ---- in -------------------------------------------------------------------------------------------------


def parse_message(body: Any, *, visitor_id: str, settings: WebSettings) -> InboundMessage:
    """The widget's POST body → InboundMessage of the visitor (InvalidPayload / MessageTooLong say what is wrong)."""
    if not isinstance(body, Mapping):
        raise InvalidPayload('expected a JSON object such as {"text": "..."}')
    raw = body.get("text")
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPayload("`text` must be a non-empty string")
    text = raw.strip()
    if len(text) > settings.max_message_chars:
        raise MessageTooLong(f"a message may have at most {settings.max_message_chars} characters")
    message_id = scalar_text(body.get("message_id"))
    if message_id is not None and not _MESSAGE_ID.match(message_id):
        raise InvalidPayload("`message_id` must be 1-64 letters, digits, '-' or '_'")
    return InboundMessage(
        platform=Platform.WEB,
        contact_id=contact_id_for(visitor_id),
        channel=Channel.WEB,
        text=text,
        message_id=message_id,
    )


# ---- out ------------------------------------------------------------------------------------------------


def visible_messages(stored: Iterable[StoredMessage]) -> list[dict[str, Any]]:
    """The transcript lines a visitor sees (their own, the bot's, the managers'), as the widget renders them."""
    shown: list[dict[str, Any]] = []
    for message in stored:
        role = _VISIBLE_ROLES.get(message.role)
        if role is None or not message.text:
            continue
        item: dict[str, Any] = {"id": message.sk, "role": role, "text": message.text, "at": message.at.isoformat()}
        if message.role is Role.MANAGER and message.detail:
            item["author"] = message.detail
        shown.append(item)
    return shown


def cursor_of(stored: Sequence[StoredMessage], after: str | None) -> str | None:
    """Where the next poll starts: the last line read (system lines included), else where this one started."""
    return stored[-1].sk if stored else after


def render_reply(
    reply: BotReply, *, visitor_id: str, new_lines: Sequence[StoredMessage], after: str | None
) -> dict[str, Any]:
    """The POST response: the lines this message added (the visitor's and the bot's), choices as buttons."""
    messages = visible_messages(new_lines)
    bot_lines = [item for item in messages if item["role"] == "bot"]
    if reply.choices:
        target = bot_lines[-1] if bot_lines else None
        if target is None:  # the transcript write failed: the reply still reaches the visitor
            target = {"id": None, "role": "bot", "at": None}
            messages.append(target)
        target["text"] = "\n\n".join(reply.texts)
        target["choices"] = [{"number": choice.number, "title": choice.title} for choice in reply.choices]
    elif not bot_lines and reply.texts:
        messages.append({"id": None, "role": "bot", "text": "\n\n".join(reply.texts), "at": None})
    return {
        "visitor_id": visitor_id,
        "status": reply.status.value,
        "language": reply.language.value,
        "handoff": reply.status is ReplyStatus.HANDOFF,
        "messages": messages,
        "cursor": cursor_of(new_lines, after),
    }


def history_start(stored_newest_first: Sequence[StoredMessage]) -> list[StoredMessage]:
    """The last `HISTORY_MESSAGES` lines in time order (a returning visitor's view)."""
    return list(reversed(stored_newest_first[:HISTORY_MESSAGES]))
