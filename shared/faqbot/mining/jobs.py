"""The mining work the cloud does by itself, for a Lambda to call (it knows nothing of Lambda events).

- Objects created under `transcripts/<bot_id>/` (a batch of them: the bucket's events wait in a
  queue): audio starts a Transcribe job; transcripts (including Transcribe's own output landing
  there) re-mine the bot's transcripts once per batch into `drafts/<bot_id>/faq-draft-<date>.xlsx`
  (the same day's draft is replaced, so it always holds every call).
- The weekly schedule: every bot's unanswered-questions report, `reports/<bot_id>/unanswered-<date>.xlsx`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from faqbot.bots.registry import BotRegistry, UnknownBot
from faqbot.config import BotConfig, Language
from faqbot.conversation.store import ConversationStore
from faqbot.kb.store import KnowledgeBaseStore
from faqbot.mining.pipeline import bot_of_transcript_key, mine_bucket, start_transcription
from faqbot.mining.transcripts import is_audio_file, is_transcript_file
from faqbot.mining.unanswered import build_report, link_command, load_unanswered, report_bytes, report_key
from faqbot.notify.links import TranscriptLinks

WEEKLY_REPORT_ACTION = "unanswered_report"
REPORT_PERIOD = timedelta(days=7)


@dataclass(frozen=True)
class TranscriptOutcome:
    key: str
    action: str  # "transcribing" | "mined" | "ignored" | "failed"
    detail: str = ""  # the job name, the draft's key, or what failed

    @property
    def failed(self) -> bool:
        return self.action == "failed"


def is_weekly_report_event(event: Any) -> bool:
    return isinstance(event, dict) and event.get("action") == WEEKLY_REPORT_ACTION


def on_transcript_objects(
    keys: Iterable[str], *, s3: Any, transcribe: Any, bucket: str, registry: BotRegistry | None = None
) -> list[TranscriptOutcome]:
    """React to new objects under `transcripts/`: transcribe audio, mine each bot's transcripts once.

    A key whose work failed (S3 or Transcribe refused) comes back as "failed", so that its event can be
    retried, while the other bots' drafts are written all the same.
    """
    outcomes: list[TranscriptOutcome] = []
    mined: dict[str, TranscriptOutcome] = {}  # bot → the outcome of mining its folder
    for key in keys:
        bot_id = bot_of_transcript_key(key)
        if bot_id is None:
            outcomes.append(TranscriptOutcome(key, "ignored", "not under transcripts/<bot_id>/"))
        elif is_audio_file(key):
            try:
                job = start_transcription(transcribe, bucket, key) or ""
            except Exception as exc:  # reported per key, and the event is retried
                outcomes.append(TranscriptOutcome(key, "failed", f"starting the Transcribe job: {exc}"))
            else:
                outcomes.append(TranscriptOutcome(key, "transcribing", job))
        elif is_transcript_file(key):
            if bot_id not in mined:
                mined[bot_id] = _mine(s3, bucket, bot_id, _language(registry, bot_id))
            outcomes.append(TranscriptOutcome(key, mined[bot_id].action, mined[bot_id].detail))
        else:
            outcomes.append(TranscriptOutcome(key, "ignored", "neither audio nor a transcript"))
    return outcomes


def _mine(s3: Any, bucket: str, bot_id: str, language: Language) -> TranscriptOutcome:
    """The bot's whole folder mined into today's draft (one outcome for all its keys)."""
    try:
        draft, _ = mine_bucket(s3, bucket, bot_id, language=language)
    except Exception as exc:  # reported per key, and the event is retried
        return TranscriptOutcome("", "failed", f"mining transcripts/{bot_id}/: {exc}")
    return TranscriptOutcome("", "mined", draft)


def weekly_reports(
    *,
    registry: BotRegistry,
    kb_table: Any,
    conversations: ConversationStore,
    s3: Any,
    bucket: str,
    now: datetime | None = None,
    links: TranscriptLinks | None = None,
) -> list[str]:
    """Every bot's unanswered-questions report for the past week; returns the keys written.

    Each group points at one conversation: a signed transcript link valid until the next report, or, when
    links cannot be signed here, the command that makes one.
    """
    now = now or datetime.now(UTC)
    kb = KnowledgeBaseStore(kb_table)
    written = []
    for bot in registry.list():
        messages = load_unanswered(conversations, bot.bot_id, now - REPORT_PERIOD)
        active = kb.active(bot.bot_id)
        entries = kb.load_entries(bot.bot_id, active.version) if active else []

        def bot_link(contact: str, bot: BotConfig = bot) -> str:
            signed = links.for_contact(bot, contact, ttl=REPORT_PERIOD) if links else None
            return signed or link_command(bot.bot_id, contact)

        rows = build_report(messages, entries, thresholds=bot.thresholds, link=bot_link)
        key = report_key(bot.bot_id, now)
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=report_bytes(rows, key, bot.language),
            ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        written.append(key)
    return written


def _language(registry: BotRegistry | None, bot_id: str) -> Language:
    """The draft's headers follow the bot's language (Russian for a bot not configured yet)."""
    if registry is None:
        return Language.RU
    try:
        return registry.get(bot_id).language
    except UnknownBot:
        return Language.RU
