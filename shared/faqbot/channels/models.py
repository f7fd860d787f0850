"""The platform-neutral message in and reply out; `manychat.py` and `smartsender.py` translate to and from them."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from faqbot.config import Channel, Language, Platform
from faqbot.events import EscalationReason

MAX_INBOUND_TEXT_CHARS = 4000  # longer customer messages are cut: no messenger sends more in one message


class InvalidPayload(ValueError):
    """The platform's body is not what the flow should send; the reason is shown to the flow author (HTTP 400)."""


class Signal(BaseModel):
    """A flag the client's flow sets on the contact: a ManyChat tag or custom field, a SmartSender variable."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["tag", "field", "variable"]
    name: str


class InboundMessage(BaseModel):
    """One customer message, whatever platform brought it."""

    model_config = ConfigDict(frozen=True)

    platform: Platform
    contact_id: str = Field(min_length=1, max_length=200)
    channel: Channel = Channel.UNKNOWN
    text: str = ""
    name: str | None = None
    username: str | None = None
    phone: str | None = Field(default=None, description="as the platform gives it, not yet normalised")
    email: str | None = None
    chat_url: str | None = None
    message_id: str | None = Field(default=None, description="what makes a retry recognisable, if the platform has it")
    takeover: Signal | None = Field(default=None, description="the flow says a human has taken the chat over")
    resume: Signal | None = Field(default=None, description="the flow says the bot may answer again")


class ReplyStatus(StrEnum):
    """What the bot did; flows branch on it (ManyChat field `faqbot_status`, SmartSender `status`)."""

    ANSWERED = "answered"
    CLARIFY = "clarify"
    SMALLTALK = "smalltalk"
    HANDOFF = "handoff"
    PAUSED = "paused"
    DISABLED = "disabled"
    IGNORED = "ignored"  # nothing to answer (an empty message: a sticker, a photo)


class Choice(BaseModel):
    """One "Did you mean…" option."""

    model_config = ConfigDict(frozen=True)

    number: int
    entry_id: str
    title: str


class BotReply(BaseModel):
    """What the bot answers, before a platform renderer shapes and splits it for the channel."""

    model_config = ConfigDict(frozen=True)

    status: ReplyStatus
    language: Language
    texts: tuple[str, ...] = Field(default=(), description="logical messages; renderers split them to fit the channel")
    choices: tuple[Choice, ...] = ()
    choices_hint: str | None = Field(default=None, description="e.g. 'Reply with the number.' under numbered choices")
    decision: str | None = None
    entry_id: str | None = None
    score: float | None = None
    handoff_reason: EscalationReason | None = None
    clear_signals: tuple[Signal, ...] = Field(default=(), description="flags the platform should reset (resume seen)")
    degraded: bool = Field(default=False, description="storage or queue failed; the reply still went out")

    @property
    def silent(self) -> bool:
        return not self.texts and not self.choices


def numbered_choices(reply: BotReply, *, title_chars: int = 120) -> str:
    """The choices as a numbered list, for channels without quick replies (and as a fallback everywhere)."""
    lines = [f"{choice.number}. {shorten(choice.title, title_chars)}" for choice in reply.choices]
    if reply.choices_hint:
        lines.append(reply.choices_hint)
    return "\n".join(lines)


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


_UNFILLED_TEMPLATE = re.compile(r"^\{\{.*\}\}$")
_FALSE_WORDS = {"", "0", "false", "no", "off", "null", "none", "ні", "нет"}


def scalar_text(value: Any) -> str | None:
    """A JSON scalar as stripped text; None for null, empty, objects, booleans and unfilled `{{variable}}` templates."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        value = value.strip()
        return None if not value or _UNFILLED_TEMPLATE.match(value) else value
    return None


def truthy(value: Any) -> bool:
    """Whether a flag set by a flow (bool, number or text such as "yes"/"false") is on."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    text = scalar_text(value)
    return text is not None and text.lower() not in _FALSE_WORDS
