"""Messages the webhook puts on the SQS queues, and their consumers (notify, crm_sync) read.

One module is the contract: producers build these models, consumers call `parse_queue_event`
(or use the models in a Powertools `SqsRecordModel` with `body: Json[QueueEvent]`). Every event
carries an `event_id` so consumers can be idempotent on redelivery.

- `Escalation` ("escalation"): the bot handed a customer to a human. → escalations queue (notify)
  and, when the bot has a CRM, the crm queue (task / stage / transcript note).
- `LeadReady` ("lead.ready"): the bot's required lead fields are all known. → crm queue, once per contact.
- `TranscriptUpdated` ("transcript.updated"): the conversation of a contact that already has a lead
  grew. → crm queue, delayed and at most one per `TRANSCRIPT_EVENT_DELAY_SECONDS` window per contact,
  so crm_sync appends one note per burst of messages (it reads the messages after its own cursor,
  `Contact.crm_note_cursor`, from `ConversationStore`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from faqbot.config import Channel, Platform

TRANSCRIPT_EVENT_DELAY_SECONDS = 300


class EscalationReason(StrEnum):
    NO_ANSWER = "no_answer"  # the matcher found nothing good enough
    ASKED_HUMAN = "asked_human"  # the customer asked for a person
    CLARIFY_FAILED = "clarify_failed"  # the customer's reply to "Did you mean…" matched none of the choices


def _now() -> datetime:
    return datetime.now(UTC)


def _event_id() -> str:
    return uuid4().hex


class _QueueEventBase(BaseModel):
    # Unknown fields are ignored so a newer producer never breaks an older consumer.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: str = Field(default_factory=_event_id)
    bot_id: str
    contact_id: str
    platform: Platform
    channel: Channel = Channel.UNKNOWN
    occurred_at: datetime = Field(default_factory=_now)


class Escalation(_QueueEventBase):
    type: Literal["escalation"] = "escalation"
    name: str | None = None
    username: str | None = None
    phone: str | None = None
    email: str | None = None
    question: str = Field(description="the customer's message that caused the handoff")
    reason: EscalationReason
    chat_url: str | None = Field(default=None, description="where a manager answers the customer")
    language: str | None = None


class LeadReady(_QueueEventBase):
    type: Literal["lead.ready"] = "lead.ready"
    name: str | None = None
    username: str | None = None
    phone: str | None = Field(default=None, description="E.164, e.g. +380671234567")
    email: str | None = None
    chat_url: str | None = None


class TranscriptUpdated(_QueueEventBase):
    type: Literal["transcript.updated"] = "transcript.updated"


QueueEvent = Annotated[Escalation | LeadReady | TranscriptUpdated, Field(discriminator="type")]

_QUEUE_EVENT: TypeAdapter[Escalation | LeadReady | TranscriptUpdated] = TypeAdapter(QueueEvent)


def parse_queue_event(body: str | bytes) -> Escalation | LeadReady | TranscriptUpdated:
    """An SQS message body → its event model (raises `pydantic.ValidationError` on a malformed body)."""
    return _QUEUE_EVENT.validate_json(body)


def dump_queue_event(event: Escalation | LeadReady | TranscriptUpdated) -> str:
    """The SQS message body for an event."""
    return event.model_dump_json()
