"""SmartSender: the body our documented "External request" block sends, and the JSON its "Соответствия" read.

The flow author builds the request body from SmartSender variables (see docs/webhook.md):

    {"contact_id": "{{userId}}", "text": "{{lastMessage}}", "name": "{{fullName}}", "username": "{{username}}",
     "phone": "{{phone}}", "email": "{{email}}", "channel": "telegram",
     "human_takeover": "{{human_takeover}}", "bot_resume": "{{bot_resume}}"}

`{{userId}}` is SmartSender's documented contact id; the other variable names are [UNSURE] and
aliases are accepted (`userId`, `message`, ...). A variable SmartSender could not fill may arrive as
the literal `{{name}}`: such values count as missing.

Response (top-level keys, so "Соответствия" map e.g. `$.reply` → `faqbot_reply`, `$.status` → `faqbot_status`):

    {"status": "answered|clarify|smalltalk|handoff|paused|disabled|ignored",
     "reply": "<all text, blank-line separated>", "messages": ["<part 1>", ...], "message_count": 1,
     "choices": [{"number": 1, "id": "...", "title": "..."}], "choices_text": "1. ...\\n2. ...",
     "language": "uk", "handoff": false, "paused": false, "clear": ["bot_resume"]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faqbot.channels.limits import limits_for
from faqbot.channels.manychat import parse_channel
from faqbot.channels.models import (
    BotReply,
    InboundMessage,
    InvalidPayload,
    ReplyStatus,
    Signal,
    numbered_choices,
    scalar_text,
    truthy,
)
from faqbot.channels.split import split_text
from faqbot.config import Channel, Platform, SmartSenderSettings

_ALIASES = {
    "contact_id": ("contact_id", "userId", "user_id", "contactId", "id"),
    "text": ("text", "message", "last_message", "lastMessage"),
    "name": ("name", "fullName", "full_name"),
    "first_name": ("first_name", "firstName"),
    "last_name": ("last_name", "lastName"),
    "username": ("username", "userName"),
    "phone": ("phone",),
    "email": ("email",),
    "chat_url": ("chat_url",),
    "message_id": ("message_id", "messageId"),
}


def parse_request(body: Any, *, settings: SmartSenderSettings, channel_param: str | None = None) -> InboundMessage:
    """The documented SmartSender body → InboundMessage (InvalidPayload says what to fix in the block)."""
    if not isinstance(body, Mapping):
        raise InvalidPayload('expected a JSON object such as {"contact_id": "{{userId}}", "text": "..."}')
    contact_id = _field(body, "contact_id")
    if not contact_id:
        raise InvalidPayload('missing `contact_id`: put "contact_id": "{{userId}}" in the request body')
    name = _field(body, "name") or " ".join(p for p in (_field(body, "first_name"), _field(body, "last_name")) if p)
    return InboundMessage(
        platform=Platform.SMARTSENDER,
        contact_id=contact_id[:200],
        channel=parse_channel(channel_param) or parse_channel(_field(body, "channel")) or Channel.UNKNOWN,
        text=_field(body, "text") or "",
        name=name or None,
        username=_field(body, "username"),
        phone=_field(body, "phone"),
        email=_field(body, "email"),
        chat_url=_field(body, "chat_url"),
        message_id=_field(body, "message_id"),
        takeover=_variable(body, settings.takeover_variable),
        resume=_variable(body, settings.resume_variable),
    )


def chat_url_for(settings: SmartSenderSettings, contact_id: str) -> str | None:
    """The manager's chat link from the bot's template (SmartSender has no link field of its own)."""
    if not settings.chat_url_template:
        return None
    return settings.chat_url_template.replace("{contact_id}", contact_id)


def render_response(reply: BotReply, *, channel: Channel) -> dict[str, Any]:
    """The JSON SmartSender's "Соответствия" read (empty `reply` when the bot stays silent)."""
    limits = limits_for(channel)
    texts = list(reply.texts)
    choices_text = numbered_choices(reply) if reply.choices else ""
    if choices_text:
        texts.append(choices_text)
    messages = [part for text in texts for part in split_text(text, limits.text_chars)]
    return {
        "status": reply.status.value,
        "reply": "\n\n".join(texts),
        "messages": messages,
        "message_count": len(messages),
        "choices": [{"number": c.number, "id": c.entry_id, "title": c.title} for c in reply.choices],
        "choices_text": choices_text,
        "language": reply.language.value,
        "handoff": reply.status is ReplyStatus.HANDOFF,
        "paused": reply.status is ReplyStatus.PAUSED,
        "clear": [signal.name for signal in reply.clear_signals],
    }


def _field(body: Mapping[str, Any], name: str) -> str | None:
    for key in _ALIASES.get(name, (name,)):
        value = scalar_text(body.get(key))
        if value:
            return value
    return None


def _variable(body: Mapping[str, Any], name: str) -> Signal | None:
    return Signal(kind="variable", name=name) if name and truthy(body.get(name)) else None
