"""Copying a conversation into the CRM: each chunk once, and a retried chunk says since when a copy may exist."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faqbot.config import BotConfig
from faqbot.conversation.store import ConversationStore, Role, StoredMessage
from faqbot.crm.transcript import NoteDelivery, TranscriptSync
from faqbot.once import Once
from support.tables import plain_client

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
BOT = BotConfig(bot_id="demo")


class Target:
    """A CRM that fails when told to, after keeping what it was sent (as a 500 after a commit)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[list[str], NoteDelivery]] = []
        self.fail_next = False

    def __call__(self, messages: Sequence[StoredMessage], delivery: NoteDelivery) -> dict[str, Any]:
        self.deliveries.append(([m.text for m in messages], delivery))
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("500 after the commit")
        return {}


@pytest.fixture
def store(dynamodb_backend: Any) -> ConversationStore:
    table = dynamodb_backend.Table("ConversationsTable")
    return ConversationStore(plain_client(table), table.name, clock=lambda: T0)


def say(store: ConversationStore, *texts: str, at: datetime = T0) -> None:
    store.update_contact(BOT.bot_id, "42")
    messages = [StoredMessage(at=at + timedelta(seconds=n), role=Role.CUSTOMER, text=t) for n, t in enumerate(texts)]
    store.append_messages(BOT.bot_id, "42", messages)


def test_a_chunk_started_again_after_a_failure_carries_the_time_of_the_first_try(store: ConversationStore) -> None:
    # given
    now = [1_795_600_800.0]
    sync = TranscriptSync(store, Once(None, key_prefix="test"), clock=lambda: now[0])
    target = Target()
    say(store, "Перше питання")

    # when: the first try fails after the CRM kept it, the second goes through a minute later
    target.fail_next = True
    with pytest.raises(RuntimeError):
        sync.sync(BOT, "42", target="kommo:lead:7", deliver=target)
    now[0] += 60
    sync.sync(BOT, "42", target="kommo:lead:7", deliver=target)

    # then: the same chunk and reference twice; the second knows since when a copy may be in the CRM
    (first_texts, first), (second_texts, second) = target.deliveries
    assert first_texts == second_texts == ["Перше питання"]
    assert first.retry_since is None and first.ref == second.ref
    assert second.retry_since == datetime.fromtimestamp(1_795_600_800, UTC)


def test_the_next_chunk_is_a_first_try_with_a_reference_of_its_own(store: ConversationStore) -> None:
    # given
    sync = TranscriptSync(store, Once(None, key_prefix="test"), clock=lambda: 1_795_600_800.0)
    target = Target()
    say(store, "Перше питання")
    sync.sync(BOT, "42", target="kommo:lead:7", deliver=target)

    # when: more messages, then a sync with nothing new
    say(store, "Друге питання", at=T0 + timedelta(minutes=1))
    sync.sync(BOT, "42", target="kommo:lead:7", deliver=target)
    sync.sync(BOT, "42", target="kommo:lead:7", deliver=target)

    # then
    (_, first), (texts, second) = target.deliveries
    assert texts == ["Друге питання"]
    assert second.retry_since is None and second.ref != first.ref
