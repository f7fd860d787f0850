"""One customer message in, one neutral `BotReply` out: the conversation's rules in one place.

Order of concerns for every message:
1. read the contact (one consistent GetItem; the webhook starts it while idempotency is checked);
2. the bot is disabled → silent; the flow says a human took over → pause, silent; the flow says
   resume → resume; paused (and not timed out) → silent;
3. a pending "Did you mean…" → the customer's pick answers that entry; no pick → a confident new
   answer, else handoff (`clarify_failed`);
4. otherwise the matcher decides: answer / clarify / smalltalk / handoff (escalate, human); its match
   needs only the text, so the webhook works it out (`look_ahead`) while the contact is read;
5. write everything the message changed — the contact (one UpdateItem), the transcript lines (one
   BatchWriteItem, or the caller's `WriteBatch`: the webhook writes them with its idempotency record),
   the escalation, `lead.ready` once the lead is complete, `transcript.updated` for contacts that
   already have a lead — concurrently, after the reply is known.

Storage and queue failures never cost the customer the reply: they are logged, the reply is marked
`degraded` (the handler emits the error metric), and the bot answers from the cached KB or with the
handoff text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from faqbot.channels.models import (
    MAX_INBOUND_TEXT_CHARS,
    BotReply,
    Choice,
    InboundMessage,
    ReplyStatus,
    Signal,
    numbered_choices,
)
from faqbot.config import BotConfig, Language, Platform
from faqbot.conversation.knowledge import LoadedKb, MatcherCache, MatcherLike
from faqbot.conversation.leads import (
    find_email,
    find_phone,
    has_crm,
    missing_lead_fields,
    normalize_email,
    normalize_phone,
)
from faqbot.conversation.publisher import EventPublisher
from faqbot.conversation.store import (
    Contact,
    ContactChanges,
    ConversationStore,
    EventKind,
    Pause,
    PendingClarify,
    Role,
    StoredMessage,
    WriteBatch,
    pause_line,
    resume_line,
)
from faqbot.events import TRANSCRIPT_EVENT_DELAY_SECONDS, Escalation, EscalationReason, LeadReady, TranscriptUpdated
from faqbot.kb.language import detect_language
from faqbot.kb.matcher import Decision, MatchResult
from faqbot.kb.models import KbEntry

logger = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
ContactSource = Callable[[], Contact | None]
LookaheadSource = Callable[[], "Lookahead"]

CLARIFY_TTL = timedelta(minutes=30)  # a "Did you mean…" older than this no longer captures the next message
CLARIFY_PICK = "clarify_pick"  # the decision recorded when a pick answered a pending clarify
_LEADING_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)]?(?:\s|$)")
_LETTER = re.compile(r"[^\W\d_]")
_MIN_LETTERS_FOR_LANGUAGE = 3
_MIN_DIGITS_FOR_PHONE = 7


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Turn:
    """One message being handled: its inputs, what it changes, and what went wrong along the way."""

    bot: BotConfig
    message: InboundMessage
    text: str
    now: datetime
    language: Language
    contact: Contact | None = None  # as read at the start
    changes: ContactChanges = field(default_factory=ContactChanges)
    before: list[StoredMessage] = field(default_factory=list)  # system lines before the customer's (resumed)
    after: list[StoredMessage] = field(default_factory=list)  # the bot's reply and the events it caused
    escalation: Escalation | None = None
    kb_version: int | None = None
    degraded: bool = False


@dataclass(frozen=True)
class Lookahead:
    """What a message's text alone decides: the bot's live KB and the matcher's verdict (None: nothing to match)."""

    kb: LoadedKb
    result: MatchResult | None


class PendingReply:
    """A decided reply whose writes may still be in flight; `finish()` waits for them."""

    def __init__(self, reply: BotReply, writes: Sequence[Future[Any]], degraded: bool) -> None:
        self.reply = reply
        self._writes = writes
        self._degraded = degraded

    def finish(self) -> BotReply:
        failed = False
        for write in self._writes:
            if write.exception() is not None:
                failed = True
        degraded = self._degraded or failed
        return self.reply.model_copy(update={"degraded": True}) if degraded else self.reply


class _Inline(Executor):
    """Runs submitted work at once (deterministic; tests and the CLI)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class ConversationService:
    def __init__(
        self,
        *,
        store: ConversationStore,
        matchers: MatcherCache,
        publisher: EventPublisher,
        clock: Clock = _utc_now,
        executor: Executor | None = None,
    ) -> None:
        self._store = store
        self._matchers = matchers
        self._publisher = publisher
        self._clock = clock
        self._executor = executor or _Inline()

    # ---- the entry points -------------------------------------------------------------------------

    def handle(self, bot: BotConfig, message: InboundMessage) -> BotReply:
        """The reply, after everything it changed is written."""
        return self.start(bot, message).finish()

    def look_ahead(self, bot: BotConfig, message: InboundMessage) -> Lookahead:
        """The KB and the match of the message's text: needs no contact, so it can run while the contact is read."""
        kb = self._matchers.get(bot)
        text = _text_of(message)
        return Lookahead(kb=kb, result=kb.matcher.match(text) if kb.matcher is not None and text else None)

    def start(
        self,
        bot: BotConfig,
        message: InboundMessage,
        *,
        contact: ContactSource | None = None,
        ahead: LookaheadSource | None = None,
        batch: WriteBatch | None = None,
    ) -> PendingReply:
        """Decide the reply now; the writes run on the executor (`finish()` waits for them).

        `contact` returns the contact read ahead and `ahead` the `look_ahead` worked out meanwhile (the webhook
        starts both while idempotency is checked). With `batch`, the transcript lines go into it instead, and the
        caller writes it (`finish()` waits for its `done` too).
        """
        turn = _Turn(bot=bot, message=message, text=_text_of(message), now=self._clock(), language=bot.language)
        read = contact or (lambda: self._store.get_contact(bot.bot_id, message.contact_id))
        turn.contact = self._safely(turn, "read the contact", read)
        self._learn(turn)
        reply = self._decide(turn, ahead or (lambda: self.look_ahead(bot, message)))
        writes = self._write(turn, reply, batch)
        return PendingReply(reply, writes, turn.degraded)

    # ---- deciding ---------------------------------------------------------------------------------

    def _decide(self, turn: _Turn, ahead: LookaheadSource) -> BotReply:
        bot, message, contact = turn.bot, turn.message, turn.contact
        if not bot.enabled:
            return self._silent(turn, ReplyStatus.DISABLED)
        clear: tuple[Signal, ...] = ()
        paused = contact is not None and contact.paused
        if message.resume:
            clear = tuple(s for s in (message.resume, message.takeover) if s is not None)
            if paused:
                self._resume(turn, by=f"{message.platform.value} flow")
            paused = False
        elif message.takeover:
            if not (contact and contact.is_paused(turn.now)):
                self._pause(turn, reason="takeover", by="platform", first=True)
            return self._silent(turn, ReplyStatus.PAUSED)
        if paused and contact is not None:
            if contact.is_paused(turn.now):
                return self._silent(turn, ReplyStatus.PAUSED)
            self._resume(turn, by="timeout")
        if not turn.text:
            return self._silent(turn, ReplyStatus.IGNORED, clear=clear)
        looked = self._safely(turn, "match the message against the knowledge base", ahead)
        if looked is None or looked.kb.matcher is None or looked.result is None:
            return self._handoff(turn, EscalationReason.NO_ANSWER, clear=clear)
        kb, matcher, result = looked.kb, looked.kb.matcher, looked.result
        turn.kb_version = kb.version
        turn.degraded = turn.degraded or kb.stale
        pending = contact.pending_clarify_at(turn.now) if contact else None
        if pending is not None:
            return self._after_clarify(turn, kb, matcher, pending, result, clear)
        return self._from_match(turn, result, clear)

    def _from_match(self, turn: _Turn, result: MatchResult, clear: tuple[Signal, ...]) -> BotReply:
        """The reply to the matcher's decision."""
        if _has_words(turn.text):
            turn.language = result.language
        score = result.candidates[0].score if result.candidates else None
        if result.decision is Decision.ANSWER and result.choices:
            return self._answer(turn, result.choices[0], decision=Decision.ANSWER, score=score, clear=clear)
        if result.decision is Decision.CLARIFY and len(result.choices) >= 2:
            return self._clarify(turn, result.choices, score=score, clear=clear)
        if result.decision is Decision.SMALLTALK:
            return self._smalltalk(turn, result.smalltalk, clear=clear)
        reason = EscalationReason.ASKED_HUMAN if result.decision is Decision.HUMAN else EscalationReason.NO_ANSWER
        return self._handoff(turn, reason, clear=clear, score=score)

    def _after_clarify(
        self,
        turn: _Turn,
        kb: LoadedKb,
        matcher: MatcherLike,
        pending: PendingClarify,
        result: MatchResult,
        clear: tuple[Signal, ...],
    ) -> BotReply:
        """The customer answers "Did you mean…": a pick answers it; a new clear question (`result`, the message's
        match) is answered; else handoff."""
        turn.changes.clear_pending_clarify = True
        entry = matcher.resolve_choice(turn.text, list(pending.offered_ids)) or _pick_by_number(
            turn.text, pending.offered_ids, kb.entries
        )
        if entry is not None:
            return self._answer(turn, entry, decision=CLARIFY_PICK, score=None, clear=clear)
        if result.decision in (Decision.ANSWER, Decision.SMALLTALK, Decision.HUMAN):
            return self._from_match(turn, result, clear)
        question = f"{pending.question}\n— {turn.text}"
        return self._handoff(turn, EscalationReason.CLARIFY_FAILED, clear=clear, question=question)

    # ---- replies ----------------------------------------------------------------------------------

    def _answer(
        self, turn: _Turn, entry: KbEntry, *, decision: str, score: float | None, clear: tuple[Signal, ...]
    ) -> BotReply:
        reply = BotReply(
            status=ReplyStatus.ANSWERED,
            language=turn.language,
            texts=(entry.answer,),
            decision=decision,
            entry_id=entry.id,
            score=score,
            clear_signals=clear,
        )
        self._bot_line(turn, reply, entry=entry)
        return reply

    def _clarify(
        self, turn: _Turn, entries: Sequence[KbEntry], *, score: float | None, clear: tuple[Signal, ...]
    ) -> BotReply:
        entries = list(entries)[: turn.bot.thresholds.clarify_max_choices]
        turn.changes.pending_clarify = PendingClarify(
            offered_ids=tuple(entry.id for entry in entries),
            question=turn.text,
            kb_version=str(turn.kb_version) if turn.kb_version is not None else None,
            expires_at=turn.now + CLARIFY_TTL,
        )
        reply = BotReply(
            status=ReplyStatus.CLARIFY,
            language=turn.language,
            texts=(turn.bot.texts.get("clarify", turn.language),),
            choices=tuple(
                Choice(number=number, entry_id=entry.id, title=entry.question)
                for number, entry in enumerate(entries, start=1)
            ),
            choices_hint=turn.bot.texts.get("clarify_numbered_hint", turn.language),
            decision=Decision.CLARIFY,
            score=score,
            clear_signals=clear,
        )
        self._bot_line(turn, reply)
        return reply

    def _smalltalk(self, turn: _Turn, kind: str | None, *, clear: tuple[Signal, ...]) -> BotReply:
        try:
            text = turn.bot.texts.get(kind or "greeting", turn.language)
        except KeyError:
            text = turn.bot.texts.get("greeting", turn.language)
        reply = BotReply(
            status=ReplyStatus.SMALLTALK,
            language=turn.language,
            texts=(text,),
            decision=Decision.SMALLTALK,
            clear_signals=clear,
        )
        self._bot_line(turn, reply)
        return reply

    def _handoff(
        self,
        turn: _Turn,
        reason: EscalationReason,
        *,
        clear: tuple[Signal, ...],
        score: float | None = None,
        question: str | None = None,
    ) -> BotReply:
        """Tell the customer a manager will answer, pause the bot for them, and alert the managers (and CRM)."""
        bot, message = turn.bot, turn.message
        known = turn.changes.applied_to(turn.contact, bot_id=bot.bot_id, contact_id=message.contact_id, now=turn.now)
        texts = [bot.texts.get("human" if reason is EscalationReason.ASKED_HUMAN else "handoff", turn.language)]
        # A website visitor is anonymous and may leave the page: the managers need a way to reach them.
        wants_contact = has_crm(bot) or message.platform is Platform.WEB
        if wants_contact and not (known.phone or known.email):
            texts.append(bot.texts.get("ask_contact", turn.language))
        reply = BotReply(
            status=ReplyStatus.HANDOFF,
            language=turn.language,
            texts=tuple(texts),
            decision=Decision.HUMAN if reason is EscalationReason.ASKED_HUMAN else Decision.ESCALATE,
            score=score,
            handoff_reason=reason,
            clear_signals=clear,
        )
        self._bot_line(turn, reply)
        turn.after.append(StoredMessage(at=turn.now, role=Role.SYSTEM, kind=EventKind.HANDOFF, detail=reason.value))
        self._pause(turn, reason=reason.value, by="bot", first=False)
        turn.escalation = Escalation(
            bot_id=bot.bot_id,
            contact_id=message.contact_id,
            platform=message.platform,
            channel=message.channel,
            name=known.name,
            username=known.username,
            phone=known.phone,
            email=known.email,
            question=question or turn.text,
            reason=reason,
            chat_url=known.chat_url,
            language=turn.language.value,
            occurred_at=turn.now,
        )
        return reply

    def _silent(self, turn: _Turn, status: ReplyStatus, *, clear: tuple[Signal, ...] = ()) -> BotReply:
        return BotReply(status=status, language=turn.language, clear_signals=clear)

    # ---- what the message changes -----------------------------------------------------------------

    def _learn(self, turn: _Turn) -> None:
        """Profile facts and lead data from the platform's fields and the message; the conversation's language."""
        message, text, changes = turn.message, turn.text, turn.changes
        changes.platform = message.platform
        changes.channel = message.channel
        changes.name = message.name
        changes.username = message.username
        changes.chat_url = message.chat_url
        changes.phone = normalize_phone(message.phone)
        if changes.phone is None and sum(ch.isdigit() for ch in text) >= _MIN_DIGITS_FOR_PHONE:
            changes.phone = find_phone(text)
        changes.email = normalize_email(message.email) or (find_email(text) if "@" in text else None)
        changes.count_messages = 1 if text else 0
        if _has_words(text):
            turn.language = detect_language(text, default=turn.bot.language)
            changes.language = turn.language.value
        elif turn.contact and turn.contact.language and turn.contact.language in Language._value2member_map_:
            turn.language = Language(turn.contact.language)  # "2" or a phone number: keep the conversation's

    def _pause(self, turn: _Turn, *, reason: str, by: str, first: bool) -> None:
        """Pause the bot for this contact; the line goes before (takeover) or after (handoff) the customer's."""
        minutes = turn.bot.pause_timeout_minutes
        until = turn.now + timedelta(minutes=minutes) if minutes else None
        turn.changes.pause = Pause(at=turn.now, until=until, reason=reason, by=by)
        line = pause_line(turn.now, until=until, reason=reason, by=by)
        (turn.before if first else turn.after).append(line)

    def _resume(self, turn: _Turn, *, by: str) -> None:
        turn.changes.resume = True
        turn.before.append(resume_line(turn.now, by=by))

    def _bot_line(self, turn: _Turn, reply: BotReply, *, entry: KbEntry | None = None) -> None:
        text = "\n\n".join(reply.texts)
        if reply.choices:
            text = f"{text}\n{numbered_choices(reply)}"
        turn.after.append(
            StoredMessage(
                at=turn.now,
                role=Role.BOT,
                text=text,
                decision=reply.decision,
                entry_id=entry.id if entry else None,
                entry_question=entry.question if entry else None,
                score=reply.score,
                kb_version=str(turn.kb_version) if turn.kb_version is not None else None,
                detail=reply.handoff_reason.value if reply.handoff_reason else None,
            )
        )

    # ---- writing ----------------------------------------------------------------------------------

    def _write(self, turn: _Turn, reply: BotReply, batch: WriteBatch | None) -> list[Future[Any]]:
        """Start every write of this message; each reports its own failure (the reply is already decided).

        The queue sends start first: SQS is the slowest round trip, and the calls' request building takes turns on
        the GIL. A bot with a CRM sends its two copies of an escalation concurrently (two queues: no one batch).
        """
        bot, contact_id = turn.bot, turn.message.contact_id
        retention = bot.transcript_retention_days
        customer = [StoredMessage(at=turn.now, role=Role.CUSTOMER, text=turn.text)] if turn.text else []
        lines = [*turn.before, *customer, *turn.after]
        tasks: list[tuple[str, Callable[[], object]]] = []
        escalation = turn.escalation
        if escalation is not None:
            tasks.append(("queue the escalation", lambda: self._publisher.escalate(escalation)))
            if has_crm(bot):
                tasks.append(("queue the escalation for the CRM", lambda: self._publisher.to_crm(escalation)))
        tasks.append(
            (
                "update the contact",
                lambda: self._store.apply(
                    bot.bot_id, contact_id, turn.changes, known=turn.contact, retention_days=retention
                ),
            )
        )
        if lines and batch is None:
            tasks.append(
                (
                    "store the transcript",
                    lambda: self._store.append_messages(bot.bot_id, contact_id, lines, retention_days=retention),
                )
            )
        if bot.enabled and has_crm(bot):
            tasks.append(("emit lead events", lambda: self._emit_lead_events(turn)))
        writes: list[Future[Any]] = [self._executor.submit(self._logged, turn, what, task) for what, task in tasks]
        if lines and batch is not None:
            self._store.add_messages(batch, bot.bot_id, contact_id, lines, retention_days=retention)
            writes.append(batch.done)
        return writes

    def _emit_lead_events(self, turn: _Turn) -> None:
        bot, message = turn.bot, turn.message
        contact = turn.changes.applied_to(turn.contact, bot_id=bot.bot_id, contact_id=message.contact_id, now=turn.now)
        if contact.lead_sent_at is not None:
            if turn.text and self._store.claim_transcript_event(
                bot.bot_id, message.contact_id, window_seconds=TRANSCRIPT_EVENT_DELAY_SECONDS
            ):
                event = TranscriptUpdated(
                    bot_id=bot.bot_id,
                    contact_id=message.contact_id,
                    platform=message.platform,
                    channel=message.channel,
                    occurred_at=turn.now,
                )
                self._publisher.to_crm(event, delay_seconds=TRANSCRIPT_EVENT_DELAY_SECONDS)
            return
        if missing_lead_fields(contact, bot.crm.required_fields):
            return
        if not self._store.mark_lead_sent(bot.bot_id, message.contact_id):
            return  # another request got there first
        lead = LeadReady(
            bot_id=bot.bot_id,
            contact_id=message.contact_id,
            platform=message.platform,
            channel=message.channel,
            name=contact.name,
            username=contact.username,
            phone=contact.phone,
            email=contact.email,
            chat_url=contact.chat_url,
            occurred_at=turn.now,
        )
        try:
            self._publisher.to_crm(lead)
        except Exception:
            self._store.unmark_lead_sent(bot.bot_id, message.contact_id)  # the next message tries again
            raise

    @staticmethod
    def _logged(turn: _Turn, what: str, task: Callable[[], object]) -> object:
        try:
            return task()
        except Exception:
            logger.exception("could not %s (bot %s); the customer still gets a reply", what, turn.bot.bot_id)
            raise

    def _safely(self, turn: _Turn, what: str, action: Callable[[], T]) -> T | None:
        """Run a step the reply depends on; on failure log it, mark the turn degraded and carry on without it."""
        try:
            return action()
        except Exception:
            logger.exception("could not %s (bot %s); the customer still gets a reply", what, turn.bot.bot_id)
            turn.degraded = True
            return None


def _text_of(message: InboundMessage) -> str:
    return message.text.strip()[:MAX_INBOUND_TEXT_CHARS]


def _has_words(text: str) -> bool:
    """Enough letters to tell the language (a bare "2" or a phone number is not)."""
    return len(_LETTER.findall(text)) >= _MIN_LETTERS_FOR_LANGUAGE


def _pick_by_number(text: str, offered_ids: Sequence[str], entries: dict[str, KbEntry]) -> KbEntry | None:
    """ "2", "2.", "2) ..." → the second offered entry (a fallback when the matcher did not resolve the pick)."""
    match = _LEADING_NUMBER.match(text)
    if not match:
        return None
    index = int(match.group(1)) - 1
    if 0 <= index < len(offered_ids):
        return entries.get(offered_ids[index])
    return None
