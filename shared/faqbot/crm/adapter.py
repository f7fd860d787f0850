"""What crm_sync asks of a CRM, whichever it is (Kommo, or a generic signed webhook).

An adapter turns the three queue events into CRM calls and keeps the contact's CRM state
(`Contact.crm_lead_id`, `Contact.crm_note_cursor`) in the conversations table. Its errors say
how the queue should treat a failed record: `CrmRateLimited` (wait, then retry),
`CrmTransientError` (retry with backoff), `CrmPermanentError` (dead-letter with the CRM's message).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from faqbot.config import BotConfig
from faqbot.conversation.store import ConversationStore
from faqbot.crm.transcript import TranscriptSync
from faqbot.events import Escalation, LeadReady, TranscriptUpdated
from faqbot.notify.links import TranscriptLinks
from faqbot.once import Once


class CrmError(Exception):
    """A CRM call failed."""


class CrmRateLimited(CrmError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CrmTransientError(CrmError):
    """5xx, a timeout, a connection failure: the same call may succeed later."""


class CrmPermanentError(CrmError):
    """The CRM refused the request (bad token, validation error): retrying cannot help."""


@dataclass
class CrmResult:
    """What an event did in the CRM, for the log and the tests."""

    action: str  # e.g. "lead_created", "lead_reused", "escalated", "noted", "skipped"
    lead_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CrmContext:
    """What every adapter needs besides its CRM client: the contact store, once-only steps, links, time."""

    store: ConversationStore
    once: Once
    links: TranscriptLinks
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def transcripts(self) -> TranscriptSync:
        return TranscriptSync(self.store, self.once)


class CrmAdapter(Protocol):
    def on_lead_ready(self, bot: BotConfig, event: LeadReady) -> CrmResult: ...

    def on_escalation(self, bot: BotConfig, event: Escalation) -> CrmResult: ...

    def on_transcript(self, bot: BotConfig, event: TranscriptUpdated) -> CrmResult: ...
