"""ManyChat: "Full Contact Data" in (External Request body), Dynamic Block v2 out.

Inbound: the flow's External Request sends the contact object bare, or wrapped under
`BotConfig.manychat.wrapper_key` (e.g. `{"data": <Full Contact Data>, "channel": "whatsapp"}`).
`id` stays a string (it can exceed 2^53). Many fields are null; any field may be missing.

Outbound: `{"version": "v2", "content": {...}}` within ManyChat's limits (≤10 messages, ≤11 quick
replies, ≤5 actions), `content.type` set for Instagram/WhatsApp/Telegram and omitted for Messenger,
quick replies only where the channel has them, and `actions` that set the `faqbot_status` field and the
handoff tag so the flow can branch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faqbot.channels.limits import (
    MANYCHAT_MAX_ACTIONS,
    MANYCHAT_MAX_MESSAGES,
    MANYCHAT_MAX_QUICK_REPLIES,
    limits_for,
)
from faqbot.channels.models import (
    BotReply,
    InboundMessage,
    InvalidPayload,
    ReplyStatus,
    Signal,
    numbered_choices,
    scalar_text,
    shorten,
    truthy,
)
from faqbot.channels.split import split_text
from faqbot.config import Channel, ManyChatSettings, Platform

# `content.type` per channel; Messenger (and anything unknown) omits it. TikTok's value is [UNSURE].
_CONTENT_TYPES = {
    Channel.INSTAGRAM: "instagram",
    Channel.WHATSAPP: "whatsapp",
    Channel.TELEGRAM: "telegram",
    Channel.TIKTOK: "tiktok",
}
_CHANNEL_ALIASES = {
    "ig": Channel.INSTAGRAM,
    "wa": Channel.WHATSAPP,
    "tg": Channel.TELEGRAM,
    "fb": Channel.MESSENGER,
    "facebook": Channel.MESSENGER,
    "tt": Channel.TIKTOK,
}
_CONVENIENCE_WRAPPERS = ("data", "contact", "subscriber")


def parse_channel(value: Any) -> Channel | None:
    """A `channel` query parameter or body field → Channel; None when absent; InvalidPayload when unknown."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidPayload("`channel` must be a string")
    key = value.strip().lower()
    if key in _CHANNEL_ALIASES:
        return _CHANNEL_ALIASES[key]
    if key in Channel._value2member_map_ and key != Channel.UNKNOWN:
        return Channel(key)
    names = ", ".join(c.value for c in Channel if c is not Channel.UNKNOWN)
    raise InvalidPayload(f"unknown channel {value[:40]!r}: use one of {names}")


def parse_contact(body: Any, *, settings: ManyChatSettings, channel_param: str | None = None) -> InboundMessage:
    """ManyChat's request body → InboundMessage (raises InvalidPayload with a reason the flow author can act on)."""
    if not isinstance(body, Mapping):
        raise InvalidPayload("expected a JSON object: ManyChat's Full Contact Data, bare or under the wrapper key")
    contact, wrapper = _unwrap(body, settings.wrapper_key)
    contact_id = _text(contact.get("id"))
    if not contact_id:
        raise InvalidPayload("missing the contact `id`: put ManyChat's Full Contact Data in the request body")
    channel = parse_channel(channel_param) or parse_channel(wrapper.get("channel")) or detect_channel(contact)
    custom_fields = _custom_fields(contact.get("custom_fields"))
    tags = _tags(contact.get("tags"))
    text = _text(wrapper.get("text")) or _text(contact.get("last_input_text")) or ""
    return InboundMessage(
        platform=Platform.MANYCHAT,
        contact_id=contact_id[:200],
        channel=channel,
        text=text,
        name=_name(contact),
        username=_first_text(contact, "ig_username", "tt_username", "username"),
        phone=_first_text(contact, "phone", "whatsapp_phone"),
        email=_text(contact.get("email")),
        chat_url=_url(contact.get("live_chat_url")),
        message_id=_first_text(contact, "last_interaction", "ig_last_interaction"),
        takeover=_signal(settings.takeover_tag, tags, custom_fields),
        resume=_signal(settings.resume_tag, tags, custom_fields),
    )


def detect_channel(contact: Mapping[str, Any]) -> Channel:
    """Which messenger the contact writes from, by the fields ManyChat fills for it (Messenger by default)."""
    if _text(contact.get("ig_id")) or _text(contact.get("ig_username")):
        return Channel.INSTAGRAM
    if _text(contact.get("whatsapp_phone")):
        return Channel.WHATSAPP
    if any(_text(contact.get(key)) for key in ("telegram_id", "telegram_username", "tg_id", "tg_username")):
        return Channel.TELEGRAM  # field names [UNSURE]: Telegram flows should add ?channel=telegram
    if _text(contact.get("tt_user_id")) or _text(contact.get("tt_username")):
        return Channel.TIKTOK
    return Channel.MESSENGER


def render_dynamic_block(reply: BotReply, *, channel: Channel, settings: ManyChatSettings) -> dict[str, Any]:
    """The Dynamic Block v2 ManyChat sends to the customer (empty `messages` when the bot stays silent)."""
    limits = limits_for(channel)
    texts = list(reply.texts)
    quick_replies: list[dict[str, Any]] = []
    if reply.choices:
        # Numbered text always: typing the number (or the question) works on every channel.
        texts.append(numbered_choices(reply))
        if limits.quick_replies and settings.choice_target:
            target_type = "flow" if settings.choice_target.startswith("content") else "node"
            quick_replies = [
                {
                    "type": target_type,
                    "caption": shorten(f"{choice.number}. {choice.title}", limits.caption_chars),
                    "target": settings.choice_target,
                }
                for choice in reply.choices[:MANYCHAT_MAX_QUICK_REPLIES]
            ]
    parts = [part for text in texts for part in split_text(text, limits.text_chars)]
    if len(parts) > MANYCHAT_MAX_MESSAGES:
        last = shorten(parts[MANYCHAT_MAX_MESSAGES - 1], limits.text_chars)
        parts = [*parts[: MANYCHAT_MAX_MESSAGES - 1], last]
    content: dict[str, Any] = {
        "messages": [{"type": "text", "text": part} for part in parts],
        "actions": _actions(reply, settings)[:MANYCHAT_MAX_ACTIONS],
        "quick_replies": quick_replies,
    }
    content_type = _CONTENT_TYPES.get(channel)
    if content_type:
        content["type"] = content_type
    return {"version": "v2", "content": content}


def _actions(reply: BotReply, settings: ManyChatSettings) -> list[dict[str, Any]]:
    """The status field first (so an External Request's response mapping can read `$.content.actions[0].value`),
    then the flags to reset, then the handoff tag: at most 4 actions, within ManyChat's 5."""
    actions: list[dict[str, Any]] = []
    if settings.status_field:
        actions.append({"action": "set_field_value", "field_name": settings.status_field, "value": reply.status.value})
    for signal in reply.clear_signals:
        if signal.kind == "tag":
            actions.append({"action": "remove_tag", "tag_name": signal.name})
        elif signal.kind == "field":
            actions.append({"action": "unset_field_value", "field_name": signal.name})
    if reply.status is ReplyStatus.HANDOFF and settings.handoff_tag:
        actions.append({"action": "add_tag", "tag_name": settings.handoff_tag})
    return actions


def _unwrap(body: Mapping[str, Any], wrapper_key: str | None) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(contact object, wrapper object): the wrapper may carry `channel` / `text` next to the contact."""
    if wrapper_key and wrapper_key in body:
        inner = body[wrapper_key]
        if not isinstance(inner, Mapping):
            raise InvalidPayload(f"`{wrapper_key}` must hold ManyChat's Full Contact Data object")
        return inner, body
    if "id" not in body:
        for key in _CONVENIENCE_WRAPPERS:
            inner = body.get(key)
            if isinstance(inner, Mapping) and "id" in inner:
                return inner, body
    return body, body


_text = scalar_text


def _first_text(contact: Mapping[str, Any], *keys: str) -> str | None:
    return next((text for key in keys if (text := _text(contact.get(key)))), None)


def _url(value: Any) -> str | None:
    text = _text(value)
    return text if text and text.startswith(("https://", "http://")) else None


def _name(contact: Mapping[str, Any]) -> str | None:
    name = _text(contact.get("name"))
    if name:
        return name
    parts = [_text(contact.get("first_name")), _text(contact.get("last_name"))]
    return " ".join(part for part in parts if part) or None


def _custom_fields(value: Any) -> dict[str, Any]:
    """`custom_fields` as {name: value}: an object in Full Contact Data, a list of {name, value} from getInfo."""
    if isinstance(value, Mapping):
        return {str(key): field for key, field in value.items()}
    if isinstance(value, list):
        return {
            str(item["name"]): item.get("value")
            for item in value
            if isinstance(item, Mapping) and isinstance(item.get("name"), str)
        }
    return {}


def _tags(value: Any) -> set[str]:
    """Tag names from a list of strings or of {id, name} objects."""
    if not isinstance(value, list):
        return set()
    names = {item for item in value if isinstance(item, str)}
    names |= {item["name"] for item in value if isinstance(item, Mapping) and isinstance(item.get("name"), str)}
    return names


def _signal(name: str, tags: set[str], custom_fields: Mapping[str, Any]) -> Signal | None:
    """The flag `name` as a set tag or a truthy custom field, if the flow set it."""
    if not name:
        return None
    if name in tags:
        return Signal(kind="tag", name=name)
    if truthy(custom_fields.get(name)):
        return Signal(kind="field", name=name)
    return None
