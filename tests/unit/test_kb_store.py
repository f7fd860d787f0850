"""Versioned KB storage: atomic activation, races between uploads, crashes, rollback and retention."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from faqbot.kb.models import KbEntry
from faqbot.kb.store import (
    ConcurrentChange,
    KnowledgeBaseStore,
    Superseded,
    UnknownVersion,
)
from moto import mock_aws
from support.tables import create_pk_sk_table

BOT = "salon"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="eu-central-1")
        yield create_pk_sk_table(dynamodb, "KbTable")


@pytest.fixture
def local_table(dynamodb_local: Any) -> Any:
    """The KB table on AWS's DynamoDB Local: races between threads need a backend whose transactions are
    atomic (moto's in-process transact_write_items is not thread-safe, so a race test there is flaky)."""
    dynamodb_local.drop_all_tables()
    return create_pk_sk_table(dynamodb_local.resource(), "KbTable")


def kb(tag: str, count: int = 3) -> list[KbEntry]:
    """A small KB whose every entry carries `tag`, so a mixed (half) KB would show."""
    return [
        KbEntry(id=str(i), question=f"{tag} питання {i}?", answer=f"{tag} відповідь {i}", row=i + 1)
        for i in range(1, count + 1)
    ]


class HookedTable:
    """The real table, but `before_switch` runs just before the pointer switch (to interleave uploads)."""

    def __init__(self, table: Any, before_switch: Callable[[], None]) -> None:
        self._table = table
        self.name = table.name
        self._before_switch: Callable[[], None] | None = before_switch
        self.meta = SimpleNamespace(client=SimpleNamespace(transact_write_items=self._transact))

    def _transact(self, **kwargs: Any) -> Any:
        hook, self._before_switch = self._before_switch, None
        if hook:
            hook()
        return self._table.meta.client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def test_publish_makes_a_version_live_and_entries_load_in_sheet_order(table: Any) -> None:
    # given
    store = KnowledgeBaseStore(table)
    entries = kb("A", count=30)

    # when
    active = store.publish(BOT, entries, source="faq.csv", report_key="reports/salon/faq.json", warnings=2)

    # then
    live = store.active(BOT)
    assert live is not None
    assert (live.version, live.entry_count, live.source, live.report_key, live.warnings) == (
        1,
        30,
        "faq.csv",
        "reports/salon/faq.json",
        2,
    )
    assert live == active
    assert store.load_entries(BOT, live.version) == entries


def test_a_bot_without_kb_has_no_active_version(table: Any) -> None:
    assert KnowledgeBaseStore(table).active("nobody") is None


def test_each_publish_is_a_new_version_and_old_ones_are_kept(table: Any) -> None:
    # given
    store = KnowledgeBaseStore(table)

    # when
    for tag in "ABC":
        store.publish(BOT, kb(tag), source=f"{tag}.csv")

    # then
    active = store.active(BOT)
    assert active is not None and (active.version, active.previous_version) == (3, 2)
    assert [(v.version, v.status, v.source) for v in store.versions(BOT)] == [
        (3, "ready", "C.csv"),
        (2, "ready", "B.csv"),
        (1, "ready", "A.csv"),
    ]
    assert store.load_entries(BOT, 1) == kb("A")


def test_only_the_configured_number_of_old_versions_is_kept(table: Any) -> None:
    # given
    store = KnowledgeBaseStore(table)

    # when
    for tag in "ABCDE":
        store.publish(BOT, kb(tag), source=f"{tag}.csv", versions_kept=2)

    # then
    assert [v.version for v in store.versions(BOT)] == [5, 4, 3]
    assert store.load_entries(BOT, 2) == []  # entries of pruned versions are deleted too
    assert table.scan(Select="COUNT")["Count"] == 2 + 3 + 3 * 3  # counter, pointer, 3 metas, 9 entries


def test_rollback_goes_to_the_previous_version_then_to_a_chosen_one(table: Any) -> None:
    # given
    store = KnowledgeBaseStore(table)
    for tag in "ABC":
        store.publish(BOT, kb(tag), source=f"{tag}.csv")

    # when
    back = store.rollback(BOT)

    # then
    assert (back.version, back.previous_version) == (2, 3)
    assert store.load_entries(BOT, store.active(BOT).version) == kb("B")

    # when
    forward = store.rollback(BOT, to_version=3)

    # then
    assert forward.version == 3 and store.active(BOT).version == 3


def test_rollback_to_a_version_not_kept_is_refused(table: Any) -> None:
    # given
    store = KnowledgeBaseStore(table)
    store.publish(BOT, kb("A"), source="a.csv")

    # when / then
    with pytest.raises(UnknownVersion, match="not kept"):
        store.rollback(BOT, to_version=7)
    with pytest.raises(UnknownVersion, match="no older version"):
        store.rollback(BOT)
    with pytest.raises(UnknownVersion, match="no live"):
        store.rollback("nobody")
    assert store.active(BOT).version == 1


def test_a_new_upload_after_a_rollback_goes_live(table: Any) -> None:
    # given
    store = KnowledgeBaseStore(table)
    store.publish(BOT, kb("A"), source="a.csv")
    store.publish(BOT, kb("B"), source="b.csv")
    store.rollback(BOT)

    # when
    active = store.publish(BOT, kb("C"), source="c.csv")

    # then
    assert active.version == 3 and store.active(BOT).version == 3


def test_an_older_upload_finishing_last_cannot_overwrite_a_newer_one(table: Any) -> None:
    # given: upload A starts first; upload B starts, finishes and goes live while A is still switching
    store = KnowledgeBaseStore(table)
    store.publish(BOT, kb("old"), source="old.csv")
    newer = KnowledgeBaseStore(table)
    slow = KnowledgeBaseStore(HookedTable(table, lambda: newer.publish(BOT, kb("B", 5), source="b.csv")))

    # when
    with pytest.raises(Superseded) as raised:
        slow.publish(BOT, kb("A", 4), source="a.csv")

    # then: B (the newest upload) is live and complete; A left nothing behind
    live = store.active(BOT)
    assert (raised.value.version, raised.value.live_version) == (2, 3)
    assert (live.version, live.entry_count) == (3, 5)
    assert store.load_entries(BOT, 3) == kb("B", 5)
    assert [v.version for v in store.versions(BOT)] == [3, 1]
    assert store.load_entries(BOT, 2) == []


def test_an_upload_whose_version_was_pruned_by_a_newer_one_is_superseded(table: Any) -> None:
    # given: while upload A switches, upload B goes live and prunes every older version, A's included
    store = KnowledgeBaseStore(table)
    store.publish(BOT, kb("old"), source="old.csv")
    newer = KnowledgeBaseStore(table)
    slow = KnowledgeBaseStore(
        HookedTable(table, lambda: newer.publish(BOT, kb("B", 5), source="b.csv", versions_kept=0))
    )

    # when
    with pytest.raises(Superseded) as raised:
        slow.publish(BOT, kb("A", 4), source="a.csv")

    # then: a beaten upload, not a storage error; B is live and alone
    assert (raised.value.version, raised.value.live_version) == (2, 3)
    assert [v.version for v in store.versions(BOT)] == [3]
    assert store.load_entries(BOT, 3) == kb("B", 5)


def test_concurrent_uploads_in_threads_end_with_the_newest_complete_version_live(local_table: Any) -> None:
    # given: four uploads released together
    table = local_table
    store = KnowledgeBaseStore(table)
    store.publish(BOT, kb("seed"), source="seed.csv")
    start = threading.Barrier(4)
    outcomes: dict[str, int | str] = {}

    def upload(tag: str) -> None:
        start.wait()
        try:
            outcomes[tag] = KnowledgeBaseStore(table).publish(BOT, kb(tag, 40), source=f"{tag}.csv").version
        except Superseded as exc:
            outcomes[tag] = f"superseded v{exc.version}"

    threads = [threading.Thread(target=upload, args=(tag,)) for tag in "WXYZ"]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then: the highest version allocated is live, whole, and it is that upload's KB
    live = store.active(BOT)
    winners = {tag: v for tag, v in outcomes.items() if isinstance(v, int)}
    assert len(outcomes) == 4
    assert live.version == 5 == max(winners.values())
    [winner] = [tag for tag, version in winners.items() if version == live.version]
    assert store.load_entries(BOT, live.version) == kb(winner, 40)
    assert live.entry_count == 40


class CrashingBatchTable:
    """The real table whose batch writer dies after `puts` items, as a Lambda timing out mid-write would."""

    def __init__(self, table: Any, puts: int) -> None:
        self._table = table
        self._puts = puts

    def batch_writer(self) -> Any:
        table, limit = self._table, self._puts

        class Writer:
            def __enter__(self) -> Writer:
                self._inner = table.batch_writer().__enter__()
                self._count = 0
                return self

            def put_item(self, Item: dict[str, Any]) -> None:
                if self._count == limit:
                    raise TimeoutError("Lambda timed out")
                self._count += 1
                self._inner.put_item(Item=Item)

            def __exit__(self, *exc: Any) -> None:
                self._inner.__exit__(None, None, None)  # what was sent before the crash stays written

        return Writer()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def test_a_crash_midway_leaves_the_old_version_live_and_is_cleaned_up_later(table: Any) -> None:
    # given: an upload that died after writing 2 of its 10 entries (so it never switched the pointer)
    store = KnowledgeBaseStore(table)
    store.publish(BOT, kb("old"), source="old.csv")
    crashing = KnowledgeBaseStore(CrashingBatchTable(table, puts=2))
    crashed = crashing.allocate_version(BOT)
    with pytest.raises(TimeoutError):
        crashing.write_version(BOT, crashed, kb("half", 10), source="half.csv")

    # when
    live_after_crash = store.active(BOT)
    half_written = store.load_entries(BOT, crashed)
    status_after_crash = {v.version: v.status for v in store.versions(BOT)}
    store.publish(BOT, kb("new"), source="new.csv")

    # then: the crash changed nothing live, and the next upload removes its leftovers
    assert live_after_crash.version == 1
    assert status_after_crash == {1: "ready", crashed: "writing"}
    assert len(half_written) == 2
    assert {v.version for v in store.versions(BOT)} == {1, 3}
    assert store.active(BOT).version == 3
    assert store.load_entries(BOT, crashed) == []


def test_an_unfinished_version_cannot_be_activated(table: Any) -> None:
    # given
    store = KnowledgeBaseStore(table)
    version = store.allocate_version(BOT)

    # when / then
    with pytest.raises(UnknownVersion):
        store.activate(BOT, version)
    assert store.active(BOT) is None


def test_an_old_in_flight_upload_cannot_land_after_a_rollback(table: Any) -> None:
    # given: upload A (v2) is slow; B (v3) goes live; the client rolls back to v1
    store = KnowledgeBaseStore(table)
    store.publish(BOT, kb("v1"), source="1.csv")

    def newer_then_rollback() -> None:
        store.publish(BOT, kb("v3"), source="3.csv")
        store.rollback(BOT, to_version=1)

    slow = KnowledgeBaseStore(HookedTable(table, newer_then_rollback))

    # when
    with pytest.raises(Superseded):
        slow.publish(BOT, kb("v2"), source="2.csv")

    # then: the rollback stands
    assert store.active(BOT).version == 1
    assert store.load_entries(BOT, 1) == kb("v1")


def test_rollback_racing_a_new_upload_is_refused(table: Any) -> None:
    # given: a rollback reads the pointer, then a new upload goes live before it switches
    store = KnowledgeBaseStore(table)
    store.publish(BOT, kb("A"), source="a.csv")
    store.publish(BOT, kb("B"), source="b.csv")
    racing = KnowledgeBaseStore(HookedTable(table, lambda: store.publish(BOT, kb("C"), source="c.csv")))

    # when / then
    with pytest.raises(ConcurrentChange):
        racing.rollback(BOT)
    assert store.active(BOT).version == 3


def test_load_entries_reads_every_page(table: Any) -> None:
    # given: more than DynamoDB's 1 MB per Query page
    store = KnowledgeBaseStore(table)
    entries = [KbEntry(id=str(i), question=f"Питання {i}?", answer="ї" * 900, row=i + 1) for i in range(700)]

    # when
    store.publish(BOT, entries, source="big.csv")

    # then
    assert store.load_entries(BOT, 1) == entries
