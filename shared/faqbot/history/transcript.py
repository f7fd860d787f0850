"""What a manager sees on a transcript page, built from the stored contact and messages (no HTTP here).

Times are shown in the bot's time zone (`BotConfig.timezone`), messages grouped by local day.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from faqbot.config import BotConfig
from faqbot.conversation.store import Contact, EventKind, Role, StoredMessage
from faqbot.history.labels import Labels

logger = logging.getLogger(__name__)

_DATE_TIME = "%d.%m.%Y %H:%M"
# The matcher's plain answers need no note; other decisions behind a bot message are named.
_ANNOTATED_DECISIONS = {"clarify", "escalate", "human", "smalltalk"}
# How ConversationStore words its system lines: "<reason> by <who>[ until <ISO time>]", "resumed by <who>".
_PAUSED_DETAIL = re.compile(r"^(?P<reason>\S+) by (?P<by>.+?)(?: until (?P<until>\S+))?$")
_RESUMED_DETAIL = re.compile(r"^resumed by (?P<by>.+)$")


@dataclass(frozen=True)
class Bubble:
    """One message or event on the page."""

    role: str  # css class: customer, bot, manager, system
    author: str
    text: str
    time: str  # HH:MM local
    timestamp: str  # ISO, for <time datetime>
    event: str | None = None  # system events: "Handed to a manager"...
    detail: str | None = None
    decision: str | None = None
    entry_id: str | None = None
    entry_question: str | None = None
    score: str | None = None


@dataclass(frozen=True)
class Day:
    label: str  # dd.mm.yyyy local
    bubbles: list[Bubble] = field(default_factory=list)


@dataclass(frozen=True)
class TranscriptPage:
    bot_name: str
    customer_name: str
    contact_id: str
    channel: str | None
    username: str | None
    phone: str | None
    email: str | None
    chat_url: str | None
    paused: bool
    message_count: int
    days: list[Day]
    time_zone: str
    valid_until: str
    earlier_cursor: str | None  # sk of the oldest message shown, when older ones exist
    is_earlier_page: bool


def bot_time_zone(config: BotConfig) -> tzinfo:
    """The bot's zone; a misconfigured name falls back to UTC (shown as such) rather than breaking the page."""
    try:
        return ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown time zone in bot config", extra={"bot_id": config.bot_id, "tz": config.timezone})
        return UTC


def bot_local_time(moment: datetime, config: BotConfig) -> str:
    """`moment` on the bot's clock, as the pages and the guide print it (`25.11.2026 12:00`)."""
    return moment.astimezone(bot_time_zone(config)).strftime(_DATE_TIME)


def build_transcript_page(
    config: BotConfig,
    contact: Contact,
    messages: Sequence[StoredMessage],
    *,
    labels: Labels,
    valid_until: datetime,
    now: datetime,
    earlier_cursor: str | None = None,
    is_earlier_page: bool = False,
) -> TranscriptPage:
    """The page for `messages` (oldest first) of `contact`."""
    zone = bot_time_zone(config)
    days: list[Day] = []
    for message in messages:
        local = message.at.astimezone(zone)
        label = local.strftime("%d.%m.%Y")
        if not days or days[-1].label != label:
            days.append(Day(label))
        days[-1].bubbles.append(_bubble(message, local, zone, labels))
    return TranscriptPage(
        bot_name=config.display_name or config.bot_id,
        customer_name=contact.name or contact.username or f"{labels['customer']} {contact.contact_id}",
        contact_id=contact.contact_id,
        channel=contact.channel.value.capitalize() if contact.channel else None,
        username=contact.username,
        phone=contact.phone,
        email=contact.email,
        chat_url=contact.chat_url if _is_web_url(contact.chat_url) else None,
        paused=contact.is_paused(now),
        message_count=contact.message_count,
        days=days,
        time_zone=str(getattr(zone, "key", "UTC")),
        valid_until=valid_until.astimezone(zone).strftime(_DATE_TIME),
        earlier_cursor=earlier_cursor,
        is_earlier_page=is_earlier_page,
    )


def _bubble(message: StoredMessage, local: datetime, zone: tzinfo, labels: Labels) -> Bubble:
    role = message.role.value
    decision = message.decision if message.decision in _ANNOTATED_DECISIONS else None
    return Bubble(
        role=role,
        author=labels.get(role, role),
        text=message.text,
        time=local.strftime("%H:%M"),
        timestamp=local.isoformat(timespec="seconds"),
        event=labels.get(f"event.{message.kind.value}", message.kind.value) if message.kind else None,
        detail=_event_detail(message, zone, labels) if message.role is Role.SYSTEM else None,
        decision=labels.get(f"decision.{decision}") if decision else None,
        entry_id=message.entry_id if message.role is Role.BOT else None,
        entry_question=message.entry_question if message.role is Role.BOT else None,
        score=f"{message.score:.2f}" if message.role is Role.BOT and message.score is not None else None,
    )


def _event_detail(message: StoredMessage, zone: tzinfo, labels: Labels) -> str | None:
    """The stored detail of a system line in the manager's words (unknown shapes are shown as stored)."""
    detail = message.detail
    if not detail:
        return None
    if message.kind is EventKind.HANDOFF:
        return labels.get(f"reason.{detail}", detail)
    if message.kind is EventKind.PAUSED and (paused := _PAUSED_DETAIL.match(detail)):
        parts = [labels.get(f"reason.{paused['reason']}", paused["reason"])]
        if paused["until"]:
            try:
                until = datetime.fromisoformat(paused["until"].replace("Z", "+00:00")).astimezone(zone)
            except ValueError:
                return detail
            parts.append(labels["until"].format(time=until.strftime("%d.%m %H:%M")))
        return " · ".join(parts)
    if message.kind is EventKind.RESUMED and (resumed := _RESUMED_DETAIL.match(detail)):
        return labels.get(f"resumed.{resumed['by']}", resumed["by"])
    return detail


def _is_web_url(url: str | None) -> bool:
    """Only http(s) links become clickable (a stored `javascript:` URL must never be a link)."""
    return bool(url) and str(url).lower().startswith(("https://", "http://"))
