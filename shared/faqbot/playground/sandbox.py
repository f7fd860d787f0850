"""One playground message: the webhook's own decision and reply-building code, with every side effect cut off.

The owner types a question and sees what a customer would get on the channel they picked, and why. So the
message goes through the real `ConversationService` (same matcher cache, same rules, same texts) and the
real channel renderer (`manychat.render_dynamic_block` / `smartsender.render_response`), but with:

- `SandboxStore`: the "contact" is made up from the request (at most a pending "Did you mean…" the page
  echoes back, so clicking a choice resolves exactly as it would in a chat); nothing is read from or written
  to the conversations table — no transcript of a real contact, no pause, no lead marked as sent;
- `SandboxPublisher`: the escalation the service raises on a handoff is kept in memory to say
  "in production a manager would be notified now", and never reaches a queue (no notify, no CRM).

Both are the store and publisher types the service takes; any other storage call would hit `_NoClient` and fail
loudly instead of writing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from faqbot.channels import manychat, smartsender
from faqbot.channels.models import MAX_INBOUND_TEXT_CHARS, BotReply, InboundMessage
from faqbot.config import BotConfig, Channel, Platform
from faqbot.conversation.knowledge import LoadedKb, MatcherCache
from faqbot.conversation.publisher import EventPublisher, QueueEventModel
from faqbot.conversation.service import CLARIFY_PICK, CLARIFY_TTL, ConversationService
from faqbot.conversation.store import Contact, ContactChanges, ConversationStore, PendingClarify, StoredMessage
from faqbot.events import Escalation
from faqbot.kb.models import KbEntry
from faqbot.kb.store import ActiveKb
from faqbot.kb.sync import SourceState, is_synced_source
from faqbot.kb.validation import Issue, NearDuplicate, Severity, validate_entries

PLAYGROUND_CONTACT_ID = "playground"
TOP_CANDIDATES = 3
# The pairwise near-duplicate check grows with the square of the KB; beyond this the panel skips it
# (the upload report still has it).
PANEL_NEAR_DUPLICATE_MAX_ENTRIES = 600

Clock = Callable[[], datetime]


class PlaygroundChannel(StrEnum):
    """The channels the page's picker offers; SmartSender stands for every messenger behind it."""

    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    MESSENGER = "messenger"
    SMARTSENDER = "smartsender"


_MESSENGER: dict[PlaygroundChannel, Channel] = {
    PlaygroundChannel.INSTAGRAM: Channel.INSTAGRAM,
    PlaygroundChannel.WHATSAPP: Channel.WHATSAPP,
    PlaygroundChannel.TELEGRAM: Channel.TELEGRAM,
    PlaygroundChannel.MESSENGER: Channel.MESSENGER,
    PlaygroundChannel.SMARTSENDER: Channel.UNKNOWN,  # what the webhook assumes when a flow names no channel
}


class PendingChoice(BaseModel):
    """The "Did you mean…" the page is showing (it came from our previous answer); the next message may pick one."""

    model_config = ConfigDict(extra="forbid")

    offered_ids: list[str] = Field(min_length=1, max_length=3)
    question: str = Field(default="", max_length=MAX_INBOUND_TEXT_CHARS)

    @field_validator("offered_ids")
    @classmethod
    def _short_ids(cls, ids: list[str]) -> list[str]:
        if any(not entry_id or len(entry_id) > 200 for entry_id in ids):
            raise ValueError("entry ids are 1-200 characters")
        return ids


class TryRequest(BaseModel):
    """The body of `POST /try/<token>/messages`."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_INBOUND_TEXT_CHARS)
    channel: PlaygroundChannel = PlaygroundChannel.INSTAGRAM
    pending: PendingChoice | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("type a message")
        return text


# ---- the sandbox ---------------------------------------------------------------------------------------------


class _NoClient:
    """Stands in for the DynamoDB client: the playground must never touch the conversations table."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the playground does not use the conversations table (attempted {name})")


class SandboxStore(ConversationStore):
    """The contact the request describes; what the service would write is kept here, never stored."""

    def __init__(self, contact: Contact | None) -> None:
        super().__init__(_NoClient(), "")
        self._contact = contact
        self.changes: list[ContactChanges] = []
        self.lines: list[StoredMessage] = []

    def get_contact(self, bot_id: str, contact_id: str, *, consistent: bool = True) -> Contact | None:
        return self._contact

    def apply(
        self, bot_id: str, contact_id: str, changes: ContactChanges, *, known: Contact | None, retention_days: int = 0
    ) -> None:
        self.changes.append(changes)

    def append_messages(
        self, bot_id: str, contact_id: str, messages: Iterable[StoredMessage], *, retention_days: int = 0
    ) -> list[StoredMessage]:
        kept = list(messages)
        self.lines.extend(kept)
        return kept

    def claim_transcript_event(self, bot_id: str, contact_id: str, *, window_seconds: int) -> bool:
        return False  # no transcript, so nothing to tell a CRM

    def mark_lead_sent(self, bot_id: str, contact_id: str) -> bool:
        return False  # as if already sent: the playground never creates a lead

    def unmark_lead_sent(self, bot_id: str, contact_id: str) -> None:
        return None


class SandboxPublisher(EventPublisher):
    """Keeps what would have been queued; sends nothing."""

    def __init__(self) -> None:
        super().__init__(None, escalations_queue_url="", crm_queue_url="")
        self.escalations: list[Escalation] = []
        self.crm_events: list[QueueEventModel] = []

    def escalate(self, event: Escalation) -> None:
        self.escalations.append(event)

    def to_crm(self, event: QueueEventModel, *, delay_seconds: int = 0) -> None:
        self.crm_events.append(event)


# ---- what the page shows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One clickable "Did you mean…" choice, and what clicking it sends (what the customer would send)."""

    number: int
    entry_id: str
    title: str
    send: str


@dataclass(frozen=True)
class CandidateView:
    id: str
    question: str
    score: float
    row: int | None = None


@dataclass(frozen=True)
class TryResult:
    decision: str  # answer / clarify / escalate / human / smalltalk, or the silent status (disabled, ignored)
    status: str
    picked: bool  # the message picked one of the offered choices
    channel: PlaygroundChannel
    platform: Platform
    language: str
    messages: list[str]
    chips: list[str]  # quick replies, where the channel shows them
    choices_hint: str | None
    options: list[Option]
    candidates: list[CandidateView]
    kb_version: str | None
    entry_id: str | None
    score: float | None
    handoff_reason: str | None
    escalated: bool  # the service raised an escalation (kept here, not queued)
    notify: list[str]  # who production would notify on a handoff: telegram, kommo, crm_webhook
    bot_enabled: bool
    degraded: bool
    pending: PendingChoice | None
    thresholds: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """The `POST /try/<token>/messages` contract (plus the details the page shows)."""
        return {
            "decision": self.decision,
            "status": self.status,
            "picked": self.picked,
            "channel": self.channel.value,
            "platform": self.platform.value,
            "language": self.language,
            "reply": {
                "messages": self.messages,
                "choices": [option.title for option in self.options],
                "chips": self.chips,
                "hint": self.choices_hint,
                "options": [vars(option) for option in self.options],
            },
            "candidates": [vars(candidate) for candidate in self.candidates],
            "kb_version": self.kb_version,
            "entry_id": self.entry_id,
            "score": self.score,
            "handoff": (
                {"reason": self.handoff_reason, "escalated": self.escalated, "notify": self.notify}
                if self.handoff_reason
                else None
            ),
            "bot_enabled": self.bot_enabled,
            "degraded": self.degraded,
            "pending": self.pending.model_dump() if self.pending else None,
            "thresholds": self.thresholds,
        }


def notify_targets(bot: BotConfig) -> list[str]:
    """Who a handoff reaches in production: the Telegram admin chat, Kommo, a CRM webhook."""
    targets = []
    if bot.telegram.chat_id is not None:
        targets.append("telegram")
    if bot.crm.kommo is not None:
        targets.append("kommo")
    if bot.crm.webhook is not None:
        targets.append("crm_webhook")
    return targets


class Playground:
    """Answers playground messages from the live KB (through `matchers`, the webhook's cache type)."""

    def __init__(self, matchers: MatcherCache, *, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._matchers = matchers
        self._clock = clock
        self._panel_issues: dict[tuple[str, int], list[Issue]] = {}

    def try_message(self, bot: BotConfig, request: TryRequest) -> TryResult:
        now = self._clock()
        platform = self._platform(bot, request.channel)
        channel = _MESSENGER[request.channel]
        contact = self._contact(bot, request.pending, now)
        store, publisher = SandboxStore(contact), SandboxPublisher()
        service = ConversationService(store=store, matchers=self._matchers, publisher=publisher, clock=lambda: now)
        # A bot switched off answers nobody; the owner still sees what customers will get once it is on.
        live_bot = bot if bot.enabled else bot.model_copy(update={"enabled": True})
        message = InboundMessage(
            platform=platform,
            contact_id=PLAYGROUND_CONTACT_ID,
            channel=channel,
            text=request.text,
            message_id=None,
        )
        reply = service.handle(live_bot, message)
        messages, chips = _render(reply, bot, platform, channel)
        options = [
            Option(choice.number, choice.entry_id, choice.title, chips[i] if i < len(chips) else str(choice.number))
            for i, choice in enumerate(reply.choices)
        ]
        picked = reply.decision == CLARIFY_PICK
        pending = (
            PendingChoice(offered_ids=[choice.entry_id for choice in reply.choices], question=request.text.strip())
            if reply.choices
            else None
        )
        return TryResult(
            decision="answer" if picked else (reply.decision or reply.status.value),
            status=reply.status.value,
            picked=picked,
            channel=request.channel,
            platform=platform,
            language=reply.language.value,
            messages=messages,
            chips=chips,
            choices_hint=reply.choices_hint,
            options=options,
            # A pick's "why" is the ambiguous question it answered; otherwise the message itself.
            candidates=self._candidates(bot, request.pending.question if picked and request.pending else request.text),
            kb_version=_kb_version(store.lines),
            entry_id=reply.entry_id,
            score=round(reply.score, 4) if reply.score is not None else None,
            handoff_reason=reply.handoff_reason.value if reply.handoff_reason else None,
            escalated=bool(publisher.escalations),
            notify=notify_targets(bot),
            bot_enabled=bot.enabled,
            degraded=reply.degraded,
            pending=pending,
            thresholds=bot.thresholds.model_dump(),
        )

    @staticmethod
    def _platform(bot: BotConfig, channel: PlaygroundChannel) -> Platform:
        if channel is PlaygroundChannel.SMARTSENDER:
            return Platform.SMARTSENDER
        return Platform.SMARTSENDER if bot.platform is Platform.SMARTSENDER else Platform.MANYCHAT

    @staticmethod
    def _contact(bot: BotConfig, pending: PendingChoice | None, now: datetime) -> Contact | None:
        if pending is None:
            return None
        offer = PendingClarify(
            offered_ids=tuple(pending.offered_ids), question=pending.question, expires_at=now + CLARIFY_TTL
        )
        return Contact(bot_id=bot.bot_id, contact_id=PLAYGROUND_CONTACT_ID, pending_clarify=offer)

    def _candidates(self, bot: BotConfig, text: str) -> list[CandidateView]:
        """The matcher's top entries for the message, for the owner (the decision itself came from the service)."""
        try:
            loaded = self._matchers.get(bot)
        except Exception:
            return []
        if loaded.matcher is None:
            return []
        result = loaded.matcher.match(text.strip()[:MAX_INBOUND_TEXT_CHARS])
        return [
            CandidateView(c.entry.id, c.entry.question, round(float(c.score), 4), c.entry.row)
            for c in list(result.candidates)
            if c.score > 0
        ][:TOP_CANDIDATES]

    # ---- the KB panel -------------------------------------------------------------------------------------

    def kb_panel(self, bot: BotConfig, active: ActiveKb | None, source: SourceState | None) -> KbPanel:
        """The live version, where it came from, and the warnings of its entries (each naming its row)."""
        if active is None:
            return KbPanel(active=None, source=source, issues=[], synced=False)
        issues = self._panel_issues.get((bot.bot_id, active.version))
        if issues is None:
            issues = self._entry_issues(bot)
            self._panel_issues[(bot.bot_id, active.version)] = issues
        return KbPanel(active=active, source=source, issues=issues, synced=is_synced_source(active.source))

    def _entry_issues(self, bot: BotConfig) -> list[Issue]:
        loaded: LoadedKb = self._matchers.get(bot)
        entries = list(loaded.entries.values())
        matcher = loaded.matcher
        finder: Callable[[Sequence[KbEntry]], list[NearDuplicate]] | None = None
        if (
            matcher is not None
            and hasattr(matcher, "near_duplicates")
            and len(entries) <= PANEL_NEAR_DUPLICATE_MAX_ENTRIES
        ):
            pairs = matcher.near_duplicates  # the live matcher's own scoring, already built

            def finder(_: Sequence[KbEntry]) -> list[NearDuplicate]:
                return [NearDuplicate(str(a), str(b), float(s)) for a, b, s in pairs()]

        issues = validate_entries(entries, near_duplicates=finder)
        return sorted(issues, key=lambda issue: (issue.severity is not Severity.ERROR, issue.row or 0))


@dataclass(frozen=True)
class KbPanel:
    active: ActiveKb | None
    source: SourceState | None
    issues: list[Issue] = field(default_factory=list)
    synced: bool = False  # the live version came from the connected sheet


def _render(reply: BotReply, bot: BotConfig, platform: Platform, channel: Channel) -> tuple[list[str], list[str]]:
    """The messages (split as sent) and quick-reply chips the channel would show, from the webhook's renderers."""
    if platform is Platform.MANYCHAT:
        block = manychat.render_dynamic_block(reply, channel=channel, settings=bot.manychat)
        content = block["content"]
        return [m["text"] for m in content["messages"]], [q["caption"] for q in content["quick_replies"]]
    response = smartsender.render_response(reply, channel=channel)
    return list(response["messages"]), []


def _kb_version(lines: Sequence[StoredMessage]) -> str | None:
    """The KB version the bot's reply line names (what the transcript would have recorded)."""
    return next((line.kb_version for line in lines if line.kb_version is not None), None)
