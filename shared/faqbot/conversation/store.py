"""Contacts and transcripts in the conversations table (DynamoDB, TTL attribute `expires_at`).

Layout (one partition per contact, so a contact and its whole transcript are one query):

    pk = contact#<bot_id>#<contact_id>   sk = profile                          → `Contact`
    pk = contact#<bot_id>#<contact_id>   sk = msg#<UTC ISO time>#<seq>         → `StoredMessage`

Every write refreshes `expires_at` (epoch seconds) to now + the bot's `transcript_retention_days`,
so a conversation is forgotten that long after its last message. DynamoDB deletes expired items
up to 48 h late (and moto never does), so every read here drops items whose `expires_at` has passed.

Every call goes through a plain low-level DynamoDB client with attribute values serialised here: boto3's
resource layer (TypeSerializer and parameter transformation) costs about as much client CPU as the request
itself, which the webhook pays on every message. The transcript lines can also go into the caller's
`WriteBatch` (the webhook's: one BatchWriteItem shared with its idempotency record).

Users: the webhook (everything), notify and the Telegram "Resume" button (`get_contact`, `resume`),
crm_sync (`get_contact`, `messages`, `set_crm_lead_id`, `set_crm_note_cursor`, `set_crm_note_attempt`),
history_page (`messages`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from faqbot.config import Channel, Platform

PROFILE_SK = "profile"
MESSAGE_SK_PREFIX = "msg#"
DEFAULT_RETENTION_DAYS = 180

Clock = Callable[[], datetime]


def contact_pk(bot_id: str, contact_id: str) -> str:
    return f"contact#{bot_id}#{contact_id}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime) -> str:
    """Fixed-width UTC ISO time, so sort keys order lexicographically by time."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


class Role(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    MANAGER = "manager"
    SYSTEM = "system"  # state changes shown in the transcript: handoff, paused, resumed, lead created


class EventKind(StrEnum):
    """What a `system` message records (None on ordinary customer/bot messages)."""

    HANDOFF = "handoff"
    PAUSED = "paused"
    RESUMED = "resumed"
    TAKEOVER = "takeover"  # the platform says a human took the chat over
    LEAD_CREATED = "lead_created"
    DISABLED = "disabled"


class StoredMessage(BaseModel):
    """One line of the transcript."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    seq: int = 0
    role: Role
    text: str = ""
    kind: EventKind | None = None
    decision: str | None = Field(default=None, description="matcher decision behind a bot reply")
    entry_id: str | None = Field(default=None, description="KB entry the bot answered with")
    entry_question: str | None = Field(default=None, description="that entry's question, kept for the transcript")
    score: float | None = None
    kb_version: str | None = None
    detail: str | None = Field(default=None, description="e.g. the handoff reason or who resumed the bot")

    @property
    def sk(self) -> str:
        """The sort key, also the cursor for `ConversationStore.messages(after=...)`."""
        return f"{MESSAGE_SK_PREFIX}{_iso(self.at)}#{self.seq:06d}"


class PendingClarify(BaseModel):
    """The "Did you mean…" choices the bot offered and is waiting for a pick on."""

    model_config = ConfigDict(frozen=True)

    offered_ids: tuple[str, ...]
    question: str = Field(description="the customer's message that was ambiguous")
    kb_version: str | None = None
    expires_at: datetime


class Contact(BaseModel):
    """A customer of one bot: who they are, and the bot's state for them."""

    model_config = ConfigDict(frozen=True)

    bot_id: str
    contact_id: str
    platform: Platform | None = None
    channel: Channel | None = None
    name: str | None = None
    username: str | None = None
    phone: str | None = Field(default=None, description="E.164")
    email: str | None = None
    chat_url: str | None = None
    language: str | None = None
    paused: bool = False
    paused_until: datetime | None = Field(default=None, description="None while paused: until resumed")
    paused_reason: str | None = None
    paused_by: str | None = None
    paused_at: datetime | None = None
    lead_sent_at: datetime | None = None
    crm_lead_id: str | None = None
    crm_note_cursor: str | None = Field(default=None, description="sk of the last message crm_sync put in a note")
    crm_note_attempt: str | None = Field(
        default=None, description="the note crm_sync last started to deliver: '<target>|<cursor>|<epoch seconds>'"
    )
    pending_clarify: PendingClarify | None = None
    message_count: int = 0
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None

    def is_paused(self, now: datetime) -> bool:
        """Paused and the pause has not timed out."""
        return self.paused and (self.paused_until is None or now < self.paused_until)

    def pending_clarify_at(self, now: datetime) -> PendingClarify | None:
        """The clarify offer still waiting for a pick, if it has not expired."""
        if self.pending_clarify and now < self.pending_clarify.expires_at:
            return self.pending_clarify
        return None


@dataclass(frozen=True)
class Pause:
    at: datetime
    until: datetime | None  # None: until resumed
    reason: str
    by: str


@dataclass
class ContactChanges:
    """What one message changes about a contact: facts learnt (None: unchanged) and state switches."""

    platform: Platform | None = None
    channel: Channel | None = None
    name: str | None = None
    username: str | None = None
    phone: str | None = None
    email: str | None = None
    chat_url: str | None = None
    language: str | None = None
    count_messages: int = 0
    pause: Pause | None = None
    resume: bool = False
    pending_clarify: PendingClarify | None = None
    clear_pending_clarify: bool = False

    def profile(self) -> dict[str, str]:
        fields = ("platform", "channel", "name", "username", "phone", "email", "chat_url", "language")
        return {key: str(value) for key in fields if (value := getattr(self, key)) is not None}

    def applied_to(self, contact: Contact | None, *, bot_id: str, contact_id: str, now: datetime) -> Contact:
        """The contact as it will be stored once these changes are written (no read needed)."""
        base = contact or Contact(bot_id=bot_id, contact_id=contact_id, first_seen_at=now)
        update: dict[str, Any] = {
            key: value
            for key in ("platform", "channel", "name", "username", "phone", "email", "chat_url", "language")
            if (value := getattr(self, key)) is not None
        }
        update["message_count"] = base.message_count + self.count_messages
        update["last_seen_at"] = now
        if self.pause is not None:
            update.update(
                paused=True,
                paused_until=self.pause.until,
                paused_reason=self.pause.reason,
                paused_by=self.pause.by,
                paused_at=self.pause.at,
                pending_clarify=None,
            )
        elif self.resume:
            update.update(paused=False, paused_until=None, paused_reason=None, paused_by=None, paused_at=None)
        if self.pending_clarify is not None:
            update["pending_clarify"] = self.pending_clarify
        elif self.clear_pending_clarify:
            update["pending_clarify"] = None
        return base.model_copy(update=update)


def pause_line(at: datetime, *, until: datetime | None, reason: str, by: str) -> StoredMessage:
    """The transcript line of a pause (the history page shows it as an event)."""
    detail = f"{reason} by {by}" + (f" until {_iso(until)}" if until else "")
    return StoredMessage(at=at, role=Role.SYSTEM, kind=EventKind.PAUSED, detail=detail)


def resume_line(at: datetime, *, by: str) -> StoredMessage:
    return StoredMessage(at=at, role=Role.SYSTEM, kind=EventKind.RESUMED, detail=f"resumed by {by}")


class ConversationStore:
    """Reads and writes contacts and transcripts of the table `table_name` through `client`.

    `client` is a plain boto3 DynamoDB client (`faqbot.aws.client("dynamodb")`), not a resource `Table` nor its
    `meta.client`: values are serialised here, and the resource layer would transform every one again.
    """

    def __init__(self, client: Any, table_name: str, *, clock: Clock = _utc_now) -> None:
        self._client = client
        self.table_name = table_name
        self._clock = clock
        self._seq = itertools.count()

    # ---- contacts -------------------------------------------------------------------------------

    def get_contact(self, bot_id: str, contact_id: str, *, consistent: bool = True) -> Contact | None:
        """The contact, or None (never seen, or forgotten after the retention period)."""
        key = _profile_key(bot_id, contact_id)
        response = self._client.get_item(TableName=self.table_name, Key=key, ConsistentRead=consistent)
        item = _from_attribute_values(response.get("Item") or {})
        if not item or self._expired(item):
            return None
        return _contact_from_item(item)

    def update_contact(
        self,
        bot_id: str,
        contact_id: str,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        platform: Platform | None = None,
        channel: Channel | None = None,
        name: str | None = None,
        username: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        chat_url: str | None = None,
        language: str | None = None,
        count_messages: int = 0,
    ) -> Contact:
        """Create or update the contact; fields given as None keep their stored value (facts are never erased).

        `count_messages` adds to the message counter. Returns the contact as stored afterwards.
        """
        now = self._clock()
        fields: dict[str, Any] = {
            "platform": platform,
            "channel": channel,
            "name": name,
            "username": username,
            "phone": phone,
            "email": email,
            "chat_url": chat_url,
            "language": language,
        }
        sets: dict[str, Any] = {key: str(value) for key, value in fields.items() if value is not None}
        sets["last_seen_at"] = _iso(now)
        sets["expires_at"] = _epoch(now + timedelta(days=retention_days))
        expression = _UpdateExpression()
        for key, value in sets.items():
            expression.set(key, value)
        expression.set_if_absent("bot_id", bot_id)
        expression.set_if_absent("contact_id", contact_id)
        expression.set_if_absent("first_seen_at", _iso(now))
        expression.add("message_count", count_messages)
        return self._update(bot_id, contact_id, expression)

    def pause(
        self,
        bot_id: str,
        contact_id: str,
        *,
        until: datetime | None,
        reason: str,
        by: str,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> Contact:
        """Silence the bot for this contact (until `until`; None: until resumed) and note it in the transcript."""
        now = self._clock()
        expression = _UpdateExpression()
        expression.set("paused", True)
        expression.set("paused_reason", reason)
        expression.set("paused_by", by)
        expression.set("paused_at", _iso(now))
        if until is None:
            expression.remove("paused_until")
        else:
            expression.set("paused_until", _iso(until))
        expression.remove("pending_clarify")
        self._set_identity(expression, bot_id, contact_id, now, retention_days)
        contact = self._update(bot_id, contact_id, expression)
        self.append_message(
            bot_id, contact_id, pause_line(now, until=until, reason=reason, by=by), retention_days=retention_days
        )
        return contact

    def resume(self, bot_id: str, contact_id: str, *, by: str, retention_days: int = DEFAULT_RETENTION_DAYS) -> bool:
        """Let the bot answer this contact again. True when it was paused (a transcript line records who resumed)."""
        now = self._clock()
        expression = _UpdateExpression()
        expression.set("paused", False)
        for key in ("paused_until", "paused_reason", "paused_by", "paused_at"):
            expression.remove(key)
        request = expression.render(extra_values={":true": True})
        if self._update_profile(bot_id, contact_id, ConditionExpression="paused = :true", **request) is None:
            return False
        self.append_message(bot_id, contact_id, resume_line(now, by=by), retention_days=retention_days)
        return True

    def apply(
        self,
        bot_id: str,
        contact_id: str,
        changes: ContactChanges,
        *,
        known: Contact | None,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        """Write what one message changed about the contact in one UpdateItem.

        `known` is the contact as read at the start of the message (None: new, or unread): fields equal to
        it are not written again, which keeps the update small (the webhook's hot path). A contact not seen
        before is one conditional PutItem instead (a dozen-clause update expression costs the local emulator
        ~10 ms); if it exists after all (unread, expired, or created by a concurrent request) the update runs.
        """
        now = self._clock()
        if known is None and self._create(bot_id, contact_id, changes, now=now, retention_days=retention_days):
            return
        expression = _UpdateExpression()
        for key, value in changes.profile().items():
            if known is None or getattr(known, key) != value:
                expression.set(key, str(value))
        expression.set("last_seen_at", _iso(now))
        expression.set("expires_at", _epoch(now + timedelta(days=retention_days)))
        if known is None:
            expression.set_if_absent("bot_id", bot_id)
            expression.set_if_absent("contact_id", contact_id)
            expression.set_if_absent("first_seen_at", _iso(now))
        if changes.count_messages:
            expression.add("message_count", changes.count_messages)
        if changes.pause is not None:
            expression.set("paused", True)
            expression.set("paused_reason", changes.pause.reason)
            expression.set("paused_by", changes.pause.by)
            expression.set("paused_at", _iso(changes.pause.at))
            if changes.pause.until is None:
                expression.remove("paused_until")
            else:
                expression.set("paused_until", _iso(changes.pause.until))
        elif changes.resume:
            expression.set("paused", False)
            for key in ("paused_until", "paused_reason", "paused_by", "paused_at"):
                expression.remove(key)
        if changes.pending_clarify is not None:
            expression.set("pending_clarify", changes.pending_clarify.model_dump_json())
        elif changes.clear_pending_clarify or changes.pause is not None:
            expression.remove("pending_clarify")
        self._update_profile(bot_id, contact_id, **expression.render())

    def _create(
        self, bot_id: str, contact_id: str, changes: ContactChanges, *, now: datetime, retention_days: int
    ) -> bool:
        """Write a new contact with `changes` applied; False (nothing written) when the item already exists."""
        item: dict[str, Any] = {
            "pk": contact_pk(bot_id, contact_id),
            "sk": PROFILE_SK,
            "bot_id": bot_id,
            "contact_id": contact_id,
            **changes.profile(),
            "first_seen_at": _iso(now),
            "last_seen_at": _iso(now),
            "expires_at": _epoch(now + timedelta(days=retention_days)),
            "message_count": changes.count_messages,
        }
        if changes.pause is not None:
            item.update(
                paused=True,
                paused_reason=changes.pause.reason,
                paused_by=changes.pause.by,
                paused_at=_iso(changes.pause.at),
            )
            if changes.pause.until is not None:
                item["paused_until"] = _iso(changes.pause.until)
        if changes.pending_clarify is not None:
            item["pending_clarify"] = changes.pending_clarify.model_dump_json()
        try:
            self._client.put_item(
                TableName=self.table_name, Item=_attribute_values(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def set_pending_clarify(self, bot_id: str, contact_id: str, offer: PendingClarify | None) -> None:
        """Remember (or, with None, forget) the choices offered to the contact."""
        expression = _UpdateExpression()
        if offer is None:
            expression.remove("pending_clarify")
        else:
            expression.set("pending_clarify", offer.model_dump_json())
        self._update_profile(bot_id, contact_id, **expression.render())

    def mark_lead_sent(self, bot_id: str, contact_id: str) -> bool:
        """Record that the lead event went out; True only for the one caller that recorded it first."""
        stored = self._update_profile(
            bot_id,
            contact_id,
            UpdateExpression="SET lead_sent_at = :now",
            ConditionExpression="attribute_not_exists(lead_sent_at)",
            ExpressionAttributeValues=_attribute_values({":now": _iso(self._clock())}),
        )
        return stored is not None

    def unmark_lead_sent(self, bot_id: str, contact_id: str) -> None:
        """Undo `mark_lead_sent` when the event could not be queued, so the next message tries again."""
        self._update_profile(bot_id, contact_id, UpdateExpression="REMOVE lead_sent_at")

    def set_crm_lead_id(self, bot_id: str, contact_id: str, lead_id: str) -> None:
        self._update_profile(
            bot_id,
            contact_id,
            UpdateExpression="SET crm_lead_id = :id",
            ExpressionAttributeValues=_attribute_values({":id": str(lead_id)}),
        )

    def set_crm_note_cursor(self, bot_id: str, contact_id: str, cursor: str) -> None:
        """crm_sync's bookmark: the sk of the last message already copied into a CRM note."""
        self._update_profile(
            bot_id,
            contact_id,
            UpdateExpression="SET crm_note_cursor = :c",
            ExpressionAttributeValues=_attribute_values({":c": cursor}),
        )

    def set_crm_note_attempt(self, bot_id: str, contact_id: str, attempt: str) -> None:
        """crm_sync is about to deliver a note: on a retry it can tell whether one may already be in the CRM."""
        self._update_profile(
            bot_id,
            contact_id,
            UpdateExpression="SET crm_note_attempt = :a",
            ExpressionAttributeValues=_attribute_values({":a": attempt}),
        )

    def claim_transcript_event(self, bot_id: str, contact_id: str, *, window_seconds: int) -> bool:
        """True at most once per window per contact: whether this message should emit `TranscriptUpdated`."""
        now = self._clock()
        claimed = self._update_profile(
            bot_id,
            contact_id,
            UpdateExpression="SET transcript_event_due = :due",
            ConditionExpression="attribute_not_exists(transcript_event_due) OR transcript_event_due < :now",
            ExpressionAttributeValues=_attribute_values({":due": _epoch(now) + window_seconds, ":now": _epoch(now)}),
        )
        return claimed is not None

    def contacts_seen_since(self, bot_id: str, since: datetime) -> list[str]:
        """Ids of the bot's contacts last seen at or after `since`, sorted.

        A Scan over the table's profiles (the weekly report can afford one; no message path calls it).
        """
        prefix = contact_pk(bot_id, "")
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "begins_with(pk, :prefix) AND sk = :profile",
            "ExpressionAttributeValues": _attribute_values({":prefix": prefix, ":profile": PROFILE_SK}),
        }
        contacts: list[str] = []
        while True:
            page = self._client.scan(**kwargs)
            for item in map(_from_attribute_values, page.get("Items", [])):
                last_seen = _parse_time(item.get("last_seen_at"))
                if last_seen is not None and last_seen < since:
                    continue
                contacts.append(str(item["pk"])[len(prefix) :])
            if "LastEvaluatedKey" not in page:
                return sorted(contacts)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ---- transcript -----------------------------------------------------------------------------

    def append_message(
        self, bot_id: str, contact_id: str, message: StoredMessage, *, retention_days: int = DEFAULT_RETENTION_DAYS
    ) -> StoredMessage:
        return self.append_messages(bot_id, contact_id, [message], retention_days=retention_days)[0]

    def append_messages(
        self,
        bot_id: str,
        contact_id: str,
        messages: Iterable[StoredMessage],
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> list[StoredMessage]:
        """Store messages in one batch; each gets a sequence number so equal timestamps keep their order."""
        batch = WriteBatch()
        stored = self.add_messages(batch, bot_id, contact_id, messages, retention_days=retention_days)
        self.write(batch)
        return stored

    def add_messages(
        self,
        batch: WriteBatch,
        bot_id: str,
        contact_id: str,
        messages: Iterable[StoredMessage],
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> list[StoredMessage]:
        """Put the messages into `batch` (written by its owner) as `append_messages` would store them."""
        stored = [message.model_copy(update={"seq": next(self._seq) % 1_000_000}) for message in messages]
        expires_at = _epoch(self._clock() + timedelta(days=retention_days))
        pk = contact_pk(bot_id, contact_id)
        for message in stored:
            batch.put(self.table_name, _attribute_values(_message_item(pk, message, expires_at)))
        return stored

    def write(self, batch: WriteBatch) -> None:
        """Write a batch the caller filled (`add_messages`); nothing to do once it is written."""
        batch.write(self._client)

    def messages(
        self,
        bot_id: str,
        contact_id: str,
        *,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        newest_first: bool = False,
    ) -> list[StoredMessage]:
        """The transcript in time order (or newest first), optionally only after the `after` cursor (a message sk).

        With `newest_first=True` and `limit=N`, this is the last N messages (returned newest first);
        with `before` too, the N messages before that cursor (history_page's "earlier messages").
        """
        if after and before:
            raise ValueError("give either after or before, not both")
        if after:
            sk_condition, sk = "sk > :sk", after
        elif before:
            sk_condition, sk = "sk < :sk", before
        else:
            sk_condition, sk = "begins_with(sk, :sk)", MESSAGE_SK_PREFIX
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": f"pk = :pk AND {sk_condition}",
            "ExpressionAttributeValues": _attribute_values({":pk": contact_pk(bot_id, contact_id), ":sk": sk}),
            "ScanIndexForward": not newest_first,
        }
        if limit is not None:
            # Read only what is asked for (a transcript page of 1,000+ messages shows 200); items skipped
            # below make the loop read on.
            kwargs["Limit"] = max(limit, 1)
        result: list[StoredMessage] = []
        while True:
            page = self._client.query(**kwargs)
            for item in map(_from_attribute_values, page.get("Items", [])):
                if not str(item.get("sk", "")).startswith(MESSAGE_SK_PREFIX) or self._expired(item):
                    continue  # cursors may range past the msg# prefix; expired items are gone
                result.append(_message_from_item(item))
                if limit is not None and len(result) >= limit:
                    return result
            if "LastEvaluatedKey" not in page:
                return result
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ---- internals ------------------------------------------------------------------------------

    def _expired(self, item: Mapping[str, Any]) -> bool:
        expires_at = item.get("expires_at")
        return expires_at is not None and int(expires_at) <= _epoch(self._clock())

    def _set_identity(
        self, expression: _UpdateExpression, bot_id: str, contact_id: str, now: datetime, retention_days: int
    ) -> None:
        expression.set_if_absent("bot_id", bot_id)
        expression.set_if_absent("contact_id", contact_id)
        expression.set_if_absent("first_seen_at", _iso(now))
        expression.set("expires_at", _epoch(now + timedelta(days=retention_days)))

    def _update(self, bot_id: str, contact_id: str, expression: _UpdateExpression) -> Contact:
        attributes = self._update_profile(bot_id, contact_id, ReturnValues="ALL_NEW", **expression.render())
        assert attributes is not None, "an unconditional update cannot fail its condition"
        return _contact_from_item(attributes)

    def _update_profile(self, bot_id: str, contact_id: str, **request: Any) -> dict[str, Any] | None:
        """UpdateItem on the contact's profile (`request`'s values serialised); None when its condition failed.

        Otherwise the attributes `ReturnValues` asked for, as plain values (empty without it).
        """
        try:
            response = self._client.update_item(
                TableName=self.table_name, Key=_profile_key(bot_id, contact_id), **request
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return None
            raise
        return _from_attribute_values(response.get("Attributes") or {})


class _UpdateExpression:
    """Builds a DynamoDB UpdateExpression with placeholder names, so attribute names never clash with reserved words."""

    def __init__(self) -> None:
        self._sets: list[str] = []
        self._removes: list[str] = []
        self._adds: list[str] = []
        self._names: dict[str, str] = {}
        self._values: dict[str, Any] = {}

    def _name(self, attribute: str) -> str:
        for placeholder, known in self._names.items():
            if known == attribute:
                return placeholder
        placeholder = f"#a{len(self._names)}"
        self._names[placeholder] = attribute
        return placeholder

    def _value(self, value: Any) -> str:
        placeholder = f":v{len(self._values)}"
        self._values[placeholder] = value
        return placeholder

    def set(self, attribute: str, value: Any) -> None:
        self._sets.append(f"{self._name(attribute)} = {self._value(value)}")

    def set_if_absent(self, attribute: str, value: Any) -> None:
        name = self._name(attribute)
        self._sets.append(f"{name} = if_not_exists({name}, {self._value(value)})")

    def remove(self, attribute: str) -> None:
        self._removes.append(self._name(attribute))

    def add(self, attribute: str, amount: int) -> None:
        self._adds.append(f"{self._name(attribute)} {self._value(amount)}")

    def render(self, *, extra_values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The expression's request parameters, attribute values serialised for the low-level client."""
        clauses = []
        if self._sets:
            clauses.append("SET " + ", ".join(self._sets))
        if self._removes:
            clauses.append("REMOVE " + ", ".join(self._removes))
        if self._adds:
            clauses.append("ADD " + ", ".join(self._adds))
        rendered: dict[str, Any] = {"UpdateExpression": " ".join(clauses), "ExpressionAttributeNames": self._names}
        values = {**self._values, **(extra_values or {})}
        if values:
            rendered["ExpressionAttributeValues"] = _attribute_values(values)
        return rendered


class UnprocessedWrites(RuntimeError):
    """DynamoDB left some of a batch's puts unprocessed (throttling) after every retry."""


class WriteBatch:
    """Puts for one or more tables, written together in BatchWriteItem calls (25 puts each).

    The webhook fills one per message with its transcript lines and its completed idempotency record (two
    tables, one round trip). `done` resolves once everything is written, or with the error that stopped it.
    """

    MAX_PUTS_PER_CALL = 25
    ATTEMPTS = 4

    def __init__(self) -> None:
        self._puts: dict[str, list[dict[str, Any]]] = {}
        self.done: Future[None] = Future()

    def put(self, table_name: str, item: dict[str, Any]) -> None:
        """Add an item, its attribute values already serialised (`{"S": ...}`)."""
        self._puts.setdefault(table_name, []).append(item)

    def drop(self, table_name: str) -> None:
        """Forget the puts for a table (the webhook retries its transcript without the idempotency record)."""
        self._puts.pop(table_name, None)

    def write(self, client: Any) -> None:
        """Write every put once through a plain client; unprocessed ones are sent again with a short backoff.

        Raises on failure. After a success further calls do nothing; after a failure the batch may be written again.
        """
        if self.done.done():
            return
        requests = [(table, {"PutRequest": {"Item": item}}) for table, items in self._puts.items() for item in items]
        for start in range(0, len(requests), self.MAX_PUTS_PER_CALL):
            chunk: dict[str, list[dict[str, Any]]] = {}
            for table, request in requests[start : start + self.MAX_PUTS_PER_CALL]:
                chunk.setdefault(table, []).append(request)
            for attempt in range(self.ATTEMPTS):
                if attempt:
                    time.sleep(0.01 * 2**attempt)  # 20, 40, 80 ms: DynamoDB throttled some puts
                chunk = client.batch_write_item(RequestItems=chunk).get("UnprocessedItems") or {}
                if not chunk:
                    break
            if chunk:
                raise UnprocessedWrites(f"{sum(map(len, chunk.values()))} puts left unprocessed by DynamoDB")
        self.done.set_result(None)

    def fail(self, exc: BaseException) -> None:
        """Give up: `done` reports `exc` (the owner logged it)."""
        if not self.done.done():
            self.done.set_exception(exc)


_DESERIALIZER = TypeDeserializer()


def _attribute_value(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB attribute value (the types this module writes)."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"cannot store {type(value).__name__} in the conversations table")


def _attribute_values(item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: _attribute_value(value) for key, value in item.items()}


def _from_attribute_values(item: Mapping[str, Any]) -> dict[str, Any]:
    """A low-level item as plain values (numbers as Decimal, as the resource layer returns them)."""
    return {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}


def _profile_key(bot_id: str, contact_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": contact_pk(bot_id, contact_id)}, "sk": {"S": PROFILE_SK}}


def _is_condition_failure(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def _message_item(pk: str, message: StoredMessage, expires_at: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": pk,
        "sk": message.sk,
        "at": _iso(message.at),
        "seq": message.seq,
        "role": message.role.value,
        "text": message.text,
        "expires_at": expires_at,
    }
    optional = {
        "kind": message.kind.value if message.kind else None,
        "decision": message.decision,
        "entry_id": message.entry_id,
        "entry_question": message.entry_question,
        "score": Decimal(str(round(message.score, 4))) if message.score is not None else None,
        "kb_version": message.kb_version,
        "detail": message.detail,
    }
    item.update({key: value for key, value in optional.items() if value is not None})
    return item


def _message_from_item(item: Mapping[str, Any]) -> StoredMessage:
    return StoredMessage(
        at=_parse_time(item["at"]) or _utc_now(),
        seq=int(item.get("seq", 0)),
        role=Role(item["role"]),
        text=str(item.get("text", "")),
        kind=EventKind(item["kind"]) if item.get("kind") else None,
        decision=item.get("decision"),
        entry_id=item.get("entry_id"),
        entry_question=item.get("entry_question"),
        score=float(item["score"]) if item.get("score") is not None else None,
        kb_version=item.get("kb_version"),
        detail=item.get("detail"),
    )


def _contact_from_item(item: Mapping[str, Any]) -> Contact:
    pending = item.get("pending_clarify")
    pk_parts = str(item.get("pk", "")).split("#", 2)
    return Contact(
        bot_id=item.get("bot_id") or (pk_parts[1] if len(pk_parts) == 3 else ""),
        contact_id=item.get("contact_id") or (pk_parts[2] if len(pk_parts) == 3 else ""),
        platform=Platform(item["platform"]) if item.get("platform") in Platform._value2member_map_ else None,
        channel=Channel(item["channel"]) if item.get("channel") in Channel._value2member_map_ else None,
        name=item.get("name"),
        username=item.get("username"),
        phone=item.get("phone"),
        email=item.get("email"),
        chat_url=item.get("chat_url"),
        language=item.get("language"),
        paused=bool(item.get("paused", False)),
        paused_until=_parse_time(item.get("paused_until")),
        paused_reason=item.get("paused_reason"),
        paused_by=item.get("paused_by"),
        paused_at=_parse_time(item.get("paused_at")),
        lead_sent_at=_parse_time(item.get("lead_sent_at")),
        crm_lead_id=item.get("crm_lead_id"),
        crm_note_cursor=item.get("crm_note_cursor"),
        crm_note_attempt=item.get("crm_note_attempt"),
        pending_clarify=PendingClarify.model_validate_json(pending) if pending else None,
        message_count=int(item.get("message_count", 0)),
        first_seen_at=_parse_time(item.get("first_seen_at")),
        last_seen_at=_parse_time(item.get("last_seen_at")),
    )
