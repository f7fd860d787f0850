"""Copying a contact's conversation into the CRM in pieces, each message exactly once.

`Contact.crm_note_cursor` is the sort key of the last message already in the CRM. A delivery
takes the messages after it, hands them to the adapter (a Kommo note, a webhook POST), then
moves the cursor. The delivery runs under `Once` keyed on (contact, lead, cursor): if the
cursor could not be saved after the note went out, the retry finds the stored result and saves
the cursor instead of posting the same messages again. Long conversations go in chunks, each
its own step.

A delivery that failed leaves no result, yet the CRM may have acted on it (a 500 or a timeout
after its commit). So each chunk carries a reference (`NoteDelivery.ref`), and
`Contact.crm_note_attempt` records when a chunk was last started: when the same chunk is started
again, the adapter hears since when a copy may already be there (`NoteDelivery.retry_since`) and
can look before posting.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from faqbot.config import BotConfig, Language
from faqbot.conversation.store import ConversationStore, Role, StoredMessage
from faqbot.history.transcript import bot_time_zone
from faqbot.once import Once

MAX_MESSAGES_PER_CHUNK = 100
MAX_CHUNKS_PER_EVENT = 20  # 2,000 messages; the rest waits for the next event
MAX_NOTE_CHARS = 8000
MAX_MESSAGE_CHARS = 1000



@dataclass(frozen=True)
class NoteDelivery:
    """One chunk on its way to the CRM."""

    ref: str  # stable for the chunk (contact, target, cursor), to find a copy the CRM kept
    retry_since: datetime | None = None  # set when this chunk was started before and not confirmed


Deliver = Callable[[Sequence[StoredMessage], NoteDelivery], dict[str, Any]]

_ROLE_LABELS: dict[Language, dict[Role, str]] = {
    Language.UK: {Role.CUSTOMER: "Клієнт", Role.BOT: "Бот", Role.MANAGER: "Менеджер", Role.SYSTEM: "Подія"},
    Language.RU: {Role.CUSTOMER: "Клиент", Role.BOT: "Бот", Role.MANAGER: "Менеджер", Role.SYSTEM: "Событие"},
    Language.EN: {Role.CUSTOMER: "Customer", Role.BOT: "Bot", Role.MANAGER: "Manager", Role.SYSTEM: "Event"},
}
_HEADINGS = {
    Language.UK: ("Розмова з ботом", "Уся історія"),
    Language.RU: ("Разговор с ботом", "Вся история"),
    Language.EN: ("Conversation with the bot", "Full transcript"),
}


@dataclass(frozen=True)
class TranscriptSyncResult:
    chunks: int  # deliveries this call made or found already made
    messages: int
    cursor: str | None


class TranscriptSync:
    def __init__(self, store: ConversationStore, once: Once, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._once = once
        self._clock = clock

    def sync(self, bot: BotConfig, contact_id: str, *, target: str, deliver: Deliver) -> TranscriptSyncResult:
        """Deliver every message after the contact's cursor to `target` (e.g. "kommo:lead:123")."""
        contact = self._store.get_contact(bot.bot_id, contact_id)
        cursor = contact.crm_note_cursor if contact else None
        attempt = contact.crm_note_attempt if contact else None
        chunks = delivered = 0
        for _ in range(MAX_CHUNKS_PER_EVENT):
            messages = self._store.messages(bot.bot_id, contact_id, after=cursor, limit=MAX_MESSAGES_PER_CHUNK)
            if not messages:
                break
            key = {"bot_id": bot.bot_id, "contact_id": contact_id, "target": target, "after": cursor or ""}
            chunk = f"{target}|{cursor or ''}"
            delivery = NoteDelivery(ref=_ref(bot.bot_id, contact_id, chunk), retry_since=_started(attempt, chunk))
            attempt = f"{chunk}|{int(self._clock())}"
            self._store.set_crm_note_attempt(bot.bot_id, contact_id, attempt)
            result = self._once.run(key, _delivery(deliver, messages, delivery))
            cursor = str(result["upto"])
            self._store.set_crm_note_cursor(bot.bot_id, contact_id, cursor)
            chunks += 1
            delivered += int(result.get("n", 0))
            if len(messages) < MAX_MESSAGES_PER_CHUNK:
                break
        return TranscriptSyncResult(chunks=chunks, messages=delivered, cursor=cursor)


def _delivery(deliver: Deliver, batch: Sequence[StoredMessage], delivery: NoteDelivery) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        return {**deliver(batch, delivery), "upto": batch[-1].sk, "n": len(batch)}

    return run


def _ref(bot_id: str, contact_id: str, chunk: str) -> str:
    return hashlib.sha256(f"{bot_id}|{contact_id}|{chunk}".encode()).hexdigest()[:12]


def _started(attempt: str | None, chunk: str) -> datetime | None:
    """When `chunk` was last started, if the recorded attempt is this chunk's."""
    if not attempt or not attempt.startswith(chunk + "|"):
        return None
    try:
        return datetime.fromtimestamp(int(attempt.rsplit("|", 1)[1]), UTC)
    except ValueError:
        return None


def format_note(bot: BotConfig, messages: Sequence[StoredMessage], *, transcript_url: str | None) -> str:
    """Plain text for a CRM note: a heading, one line per message in the bot's time zone, the link."""
    zone = bot_time_zone(bot)
    roles = _ROLE_LABELS.get(bot.language, _ROLE_LABELS[Language.EN])
    heading, link_label = _HEADINGS.get(bot.language, _HEADINGS[Language.EN])
    footer = f"\n\n{link_label}: {transcript_url}" if transcript_url else ""
    lines = [f"💬 {heading}"]
    budget = MAX_NOTE_CHARS - len(footer) - len(lines[0])
    shown = 0
    for message in messages:
        line = _line(message, roles, zone)
        if len(line) + 1 > budget:
            break
        lines.append(line)
        budget -= len(line) + 1
        shown += 1
    if shown < len(messages):
        lines.append(f"… (+{len(messages) - shown})")
    return "\n".join(lines) + footer


def _line(message: StoredMessage, roles: dict[Role, str], zone: tzinfo) -> str:
    at = message.at.astimezone(zone).strftime("%d.%m %H:%M")
    text = " ".join(message.text.split())
    if message.role is Role.SYSTEM:
        text = " ".join(part for part in ((message.kind.value if message.kind else ""), message.detail or "") if part)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return f"[{at}] {roles[message.role]}: {text}"


def message_payload(message: StoredMessage) -> dict[str, Any]:
    """A message as the generic webhook sends it."""
    return {
        "at": message.at.isoformat(),
        "role": message.role.value,
        "text": message.text,
        "kind": message.kind.value if message.kind else None,
        "detail": message.detail,
    }
