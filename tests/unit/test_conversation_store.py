"""ConversationStore: contacts, pause/resume, once-only lead marking, transcript order, TTL filtering.

Runs on moto and on AWS's DynamoDB Local (conditional writes and update expressions must hold on both), through
a plain low-level client as every caller builds it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from faqbot.config import Channel, Platform
from faqbot.conversation.store import (
    ContactChanges,
    ConversationStore,
    EventKind,
    Pause,
    PendingClarify,
    Role,
    StoredMessage,
    UnprocessedWrites,
    WriteBatch,
)
from support.tables import plain_client

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def table(dynamodb_backend: Any) -> Any:
    """The template's conversations table, on moto and on AWS's DynamoDB Local."""
    return dynamodb_backend.Table("ConversationsTable")


@pytest.fixture
def store(table: Any, clock: Clock) -> ConversationStore:
    return ConversationStore(plain_client(table), table.name, clock=clock)


def test_update_contact_keeps_known_facts_and_counts_messages(store: ConversationStore) -> None:
    # given
    store.update_contact(
        "demo", "42", name="Олена", channel=Channel.INSTAGRAM, platform=Platform.MANYCHAT, count_messages=1
    )
    # when: a later message knows the phone but not the name
    contact = store.update_contact("demo", "42", phone="+380671234567", count_messages=1)
    # then
    assert (contact.name, contact.phone, contact.channel, contact.message_count) == (
        "Олена",
        "+380671234567",
        Channel.INSTAGRAM,
        2,
    )
    assert store.get_contact("demo", "42") == contact


def test_apply_creates_a_new_contact_with_its_pause(store: ConversationStore) -> None:
    # given: the first message of a contact, handed off
    changes = ContactChanges(
        platform=Platform.MANYCHAT,
        channel=Channel.WHATSAPP,
        name="Олена",
        phone="+380671234567",
        count_messages=1,
        pause=Pause(at=T0, until=T0 + timedelta(hours=1), reason="no_answer", by="bot"),
    )
    # when
    store.apply("demo", "42", changes, known=None)
    # then
    contact = store.get_contact("demo", "42")
    assert contact == changes.applied_to(None, bot_id="demo", contact_id="42", now=T0)
    assert contact is not None and contact.is_paused(T0 + timedelta(minutes=59))


def test_apply_without_a_known_contact_keeps_what_another_request_stored(store: ConversationStore) -> None:
    # given: a concurrent request created the contact, paused, after this one read nothing
    store.apply("demo", "42", ContactChanges(name="Олена", count_messages=1), known=None)
    store.pause("demo", "42", until=None, reason="takeover", by="platform")
    # when
    store.apply("demo", "42", ContactChanges(email="olena@example.com", count_messages=1), known=None)
    # then: merged, not overwritten
    contact = store.get_contact("demo", "42")
    assert contact is not None
    assert (contact.name, contact.email, contact.message_count, contact.paused) == (
        "Олена",
        "olena@example.com",
        2,
        True,
    )


def test_pause_until_a_time_then_it_times_out(store: ConversationStore, clock: Clock) -> None:
    # given
    store.update_contact("demo", "42")
    store.pause("demo", "42", until=T0 + timedelta(hours=1), reason="no_answer", by="bot")
    # when / then
    contact = store.get_contact("demo", "42")
    assert contact is not None and contact.is_paused(T0 + timedelta(minutes=59))
    assert not contact.is_paused(T0 + timedelta(minutes=61))


def test_pause_without_end_lasts_until_resumed_and_both_are_in_the_transcript(store: ConversationStore) -> None:
    # given
    store.pause("demo", "42", until=None, reason="takeover", by="platform")
    assert store.get_contact("demo", "42").is_paused(T0 + timedelta(days=365))  # type: ignore[union-attr]
    # when
    first = store.resume("demo", "42", by="Olena (manager)")
    second = store.resume("demo", "42", by="Olena (manager)")
    # then
    assert (first, second) == (True, False)
    assert not store.get_contact("demo", "42").paused  # type: ignore[union-attr]
    kinds = [(m.kind, m.detail) for m in store.messages("demo", "42")]
    assert kinds == [
        (EventKind.PAUSED, "takeover by platform"),
        (EventKind.RESUMED, "resumed by Olena (manager)"),
    ]


def test_resume_of_an_unknown_contact_creates_nothing(store: ConversationStore) -> None:
    assert store.resume("demo", "nobody", by="cli") is False
    assert store.get_contact("demo", "nobody") is None


def test_lead_is_marked_sent_only_once(store: ConversationStore) -> None:
    # given
    store.update_contact("demo", "42")
    # when
    results = [store.mark_lead_sent("demo", "42") for _ in range(3)]
    # then
    assert results == [True, False, False]
    assert store.get_contact("demo", "42").lead_sent_at == T0  # type: ignore[union-attr]


def test_unmarked_lead_can_be_marked_again(store: ConversationStore) -> None:
    store.update_contact("demo", "42")
    assert store.mark_lead_sent("demo", "42")
    store.unmark_lead_sent("demo", "42")
    assert store.mark_lead_sent("demo", "42")


def test_transcript_event_claimed_once_per_window(store: ConversationStore, clock: Clock) -> None:
    store.update_contact("demo", "42")
    assert store.claim_transcript_event("demo", "42", window_seconds=300)
    clock.now = T0 + timedelta(seconds=299)
    assert not store.claim_transcript_event("demo", "42", window_seconds=300)
    clock.now = T0 + timedelta(seconds=301)
    assert store.claim_transcript_event("demo", "42", window_seconds=300)


def test_messages_in_time_order_with_limit_cursor_and_newest_first(store: ConversationStore, clock: Clock) -> None:
    # given: two messages with the same timestamp, then later ones
    store.append_messages(
        "demo",
        "42",
        [
            StoredMessage(at=T0, role=Role.CUSTOMER, text="скільки коштує?"),
            StoredMessage(at=T0, role=Role.BOT, text="500 грн", decision="answer", entry_id="7", score=0.81234),
        ],
    )
    for minute in (1, 2, 3):
        store.append_message(
            "demo", "42", StoredMessage(at=T0 + timedelta(minutes=minute), role=Role.CUSTOMER, text=f"m{minute}")
        )
    # when
    everything = store.messages("demo", "42")
    # then
    assert [m.text for m in everything] == ["скільки коштує?", "500 грн", "m1", "m2", "m3"]
    assert everything[1].score == pytest.approx(0.8123) and everything[1].entry_id == "7"
    assert [m.text for m in store.messages("demo", "42", limit=2)] == ["скільки коштує?", "500 грн"]
    assert [m.text for m in store.messages("demo", "42", after=everything[2].sk)] == ["m2", "m3"]
    assert [m.text for m in store.messages("demo", "42", limit=2, newest_first=True)] == ["m3", "m2"]


def test_expired_items_are_not_read_even_if_dynamodb_has_not_deleted_them(
    store: ConversationStore, clock: Clock
) -> None:
    # given: a contact and a message kept for 1 day
    store.update_contact("demo", "42", name="Олена", retention_days=1)
    store.append_message("demo", "42", StoredMessage(at=T0, role=Role.CUSTOMER, text="hi"), retention_days=1)
    # when: two days later (moto, like DynamoDB for up to 48 h, still holds the items)
    clock.now = T0 + timedelta(days=2)
    # then
    assert store.get_contact("demo", "42") is None
    assert store.messages("demo", "42") == []


def test_pending_clarify_is_remembered_until_it_expires(store: ConversationStore) -> None:
    # given
    store.update_contact("demo", "42")
    offer = PendingClarify(offered_ids=("7", "9"), question="гарантія?", expires_at=T0 + timedelta(minutes=30))
    # when
    store.set_pending_clarify("demo", "42", offer)
    contact = store.get_contact("demo", "42")
    # then
    assert contact is not None and contact.pending_clarify == offer
    assert contact.pending_clarify_at(T0 + timedelta(minutes=29)) == offer
    assert contact.pending_clarify_at(T0 + timedelta(minutes=31)) is None
    store.set_pending_clarify("demo", "42", None)
    assert store.get_contact("demo", "42").pending_clarify is None  # type: ignore[union-attr]


def test_crm_ids_are_stored_on_the_contact(store: ConversationStore) -> None:
    store.update_contact("demo", "42")
    store.set_crm_lead_id("demo", "42", "31337")
    store.set_crm_note_cursor("demo", "42", "msg#2026-11-25T10:00:00.000000Z#000001")
    store.set_crm_note_attempt("demo", "42", "kommo:lead:31337|msg#2026-11-25T10:00:00.000000Z#000001|1795600800")
    contact = store.get_contact("demo", "42")
    assert contact is not None and contact.crm_lead_id == "31337"
    assert contact.crm_note_cursor == "msg#2026-11-25T10:00:00.000000Z#000001"
    assert contact.crm_note_attempt == "kommo:lead:31337|msg#2026-11-25T10:00:00.000000Z#000001|1795600800"


# ---- the webhook's write batch ---------------------------------------------------------------------------------


def test_a_batch_shares_one_call_between_tables_and_is_written_once(store: ConversationStore, table: Any) -> None:
    # given: the transcript lines and another table's item (the webhook's idempotency record) in one batch
    batch = WriteBatch()
    store.add_messages(batch, "demo", "42", [StoredMessage(at=T0, role=Role.CUSTOMER, text="привіт")])
    batch.put("IdempotencyTable", {"id": {"S": "request-1"}, "status": {"S": "COMPLETED"}})
    # when: written, then written again (the webhook's fallback path calls write after idempotency did)
    store.write(batch)
    store.write(batch)
    # then
    assert batch.done.result() is None
    assert [m.text for m in store.messages("demo", "42")] == ["привіт"]
    idempotency = table.meta.client.get_item(TableName="IdempotencyTable", Key={"id": "request-1"})["Item"]
    assert idempotency["status"] == "COMPLETED"


class FakeDynamoDB:
    """Records BatchWriteItem calls; leaves the first `unprocessed` calls' puts unprocessed (throttling)."""

    def __init__(self, unprocessed: int = 0, error: Exception | None = None) -> None:
        self.calls: list[dict[str, list[Any]]] = []
        self.unprocessed = unprocessed
        self.error = error

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:  # boto3 names it so
        self.calls.append(RequestItems)
        if self.error is not None:
            raise self.error
        if len(self.calls) <= self.unprocessed:
            return {"UnprocessedItems": RequestItems}
        return {"UnprocessedItems": {}}


def _puts(batch: WriteBatch, table: str, count: int) -> None:
    for index in range(count):
        batch.put(table, {"pk": {"S": f"p{index}"}, "sk": {"S": "s"}})


def test_a_batch_is_split_into_calls_of_25_puts() -> None:
    batch, client = WriteBatch(), FakeDynamoDB()
    _puts(batch, "A", 30)
    _puts(batch, "B", 3)
    batch.write(client)
    assert [sum(len(puts) for puts in call.values()) for call in client.calls] == [25, 8]
    assert batch.done.done() and batch.done.exception() is None


def test_unprocessed_puts_are_sent_again_until_written() -> None:
    batch, client = WriteBatch(), FakeDynamoDB(unprocessed=2)
    _puts(batch, "A", 3)
    batch.write(client)
    assert len(client.calls) == 3 and batch.done.exception() is None


def test_puts_still_unprocessed_after_every_attempt_fail_the_batch() -> None:
    # given: DynamoDB keeps throttling
    batch, client = WriteBatch(), FakeDynamoDB(unprocessed=WriteBatch.ATTEMPTS)
    _puts(batch, "A", 3)
    # when / then: the write raises and may be tried again; `fail` reports it to whoever waits
    with pytest.raises(UnprocessedWrites):
        batch.write(client)
    assert len(client.calls) == WriteBatch.ATTEMPTS and not batch.done.done()
    batch.fail(UnprocessedWrites("gave up"))
    assert isinstance(batch.done.exception(), UnprocessedWrites)


def test_a_dropped_table_is_not_written() -> None:
    batch, client = WriteBatch(), FakeDynamoDB()
    _puts(batch, "Transcript", 2)
    _puts(batch, "Idempotency", 1)
    batch.drop("Idempotency")
    batch.write(client)
    assert [list(call) for call in client.calls] == [["Transcript"]]


def test_a_client_error_leaves_the_batch_unwritten() -> None:
    error = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no table"}}, "BatchWriteItem")
    batch = WriteBatch()
    _puts(batch, "A", 1)
    with pytest.raises(ClientError):
        batch.write(FakeDynamoDB(error=error))
    assert not batch.done.done()
    batch.write(FakeDynamoDB())  # a later attempt (the webhook writes the transcript on its own) succeeds
    assert batch.done.exception() is None


def test_contacts_seen_since_are_the_bots_recently_seen_ones(store: ConversationStore, clock: Clock) -> None:
    # given: demo's contacts seen an hour apart, another bot's contact, and transcript lines beside the profiles
    for hour, contact in enumerate(["old", "mid", "new"]):
        clock.now = T0 + timedelta(hours=hour)
        store.update_contact("demo", contact, name=contact)
        store.append_message("demo", contact, StoredMessage(at=clock.now, role=Role.CUSTOMER, text="?"))
    store.update_contact("other", "new-elsewhere")

    # when
    recent = store.contacts_seen_since("demo", T0 + timedelta(minutes=30))

    # then
    assert recent == ["mid", "new"]
    assert store.contacts_seen_since("demo", T0) == ["mid", "new", "old"]
    assert store.contacts_seen_since("nobody", T0) == []
