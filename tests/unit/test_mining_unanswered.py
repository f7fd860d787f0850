"""The unanswered-questions report: which messages ended in a handoff, grouped, and what to do with each group."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from faqbot.config import Language
from faqbot.conversation.store import EventKind, Role, StoredMessage
from faqbot.kb.models import KbEntry
from faqbot.mining.unanswered import (
    UnansweredMessage,
    action_text,
    build_report,
    parse_since,
    report_bytes,
    unanswered_in,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def line(minutes: int, role: Role, text: str = "", **fields: object) -> StoredMessage:
    return StoredMessage(at=NOW + timedelta(minutes=minutes), role=role, text=text, **fields)  # type: ignore[arg-type]


def handoff(minutes: int, reason: str) -> StoredMessage:
    return line(minutes, Role.SYSTEM, kind=EventKind.HANDOFF, detail=reason)


def test_handoffs_without_an_answer_and_failed_clarifications_are_reported_but_requests_for_a_person_are_not() -> None:
    # given
    messages = [
        line(0, Role.CUSTOMER, "Привіт"),
        line(0, Role.BOT, "Вітаю!", decision="smalltalk"),
        line(1, Role.CUSTOMER, "Чи є у вас подарункові сертифікати?"),
        line(1, Role.BOT, "Передаю менеджеру", decision="escalate"),
        handoff(1, "no_answer"),
        line(5, Role.CUSTOMER, "Скільки коштує доставка?"),
        line(5, Role.BOT, "Ви мали на увазі: 1… 2…", decision="clarify"),
        line(6, Role.CUSTOMER, "ні, інше"),
        line(6, Role.BOT, "Передаю менеджеру", decision="escalate"),
        handoff(6, "clarify_failed"),
        line(9, Role.CUSTOMER, "Покличте менеджера"),
        line(9, Role.BOT, "Зараз", decision="human"),
        handoff(9, "asked_human"),
    ]

    # when
    found = unanswered_in(messages, "c1", since=NOW - timedelta(days=1))

    # then: the question behind a failed clarification is the one that got the choices
    assert [(m.text, m.reason) for m in found] == [
        ("Чи є у вас подарункові сертифікати?", "no_answer"),
        ("Скільки коштує доставка?", "clarify_failed"),
    ]
    assert unanswered_in(messages, "c1", since=NOW + timedelta(minutes=2)) == [found[1]]


def test_groups_close_to_an_entry_become_a_phrasing_of_it_others_a_new_entry() -> None:
    # given: the KB knows the address; nobody wrote it about gift certificates
    entries = [
        KbEntry(id="1", question="Де ви знаходитесь?", answer="Львів, вул. Січових Стрільців 5", row=2),
        KbEntry(id="2", question="Скільки коштує стрижка?", answer="Від 500 грн", row=3),
    ]
    messages = [
        UnansweredMessage("Чи є у вас подарункові сертифікати?", "c1", NOW, "no_answer"),
        UnansweredMessage("Подарунковий сертифікат можна купити?", "c2", NOW, "no_answer"),
        UnansweredMessage("Де саме ви знаходитесь, біля якого метро?", "c3", NOW, "clarify_failed"),
    ]

    # when
    rows = build_report(messages, entries, link=lambda contact: f"https://x/history/{contact}")

    # then
    assert [(r.group.calls, r.entry.id if r.entry else None) for r in rows] == [(2, None), (1, "1")]
    assert action_text(rows[0], Language.UK) == "новий запис"
    assert action_text(rows[1], Language.UK) == "додати як варіант питання запису 1 («Де ви знаходитесь?»)"
    assert rows[0].link in ("https://x/history/c1", "https://x/history/c2")


def test_report_as_csv_has_the_languages_headers_and_escapes_formulas() -> None:
    # given
    rows = build_report([UnansweredMessage("=1+1 це скільки?", "c1", NOW, "no_answer")], [])

    # when
    table = list(csv.reader(io.StringIO(report_bytes(rows, "r.csv", Language.RU).decode("utf-8-sig"))))

    # then
    assert table[0] == ["№", "Вопрос", "Варианты вопроса", "Сколько раз", "Что сделать", "Примеры", "Переписка"]
    assert table[1][1].startswith("'=") and table[1][4] == "новая запись" and table[1][6] == "c1"


def test_since_takes_hours_days_and_weeks() -> None:
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert parse_since("12h", NOW) == NOW - timedelta(hours=12)
    with pytest.raises(ValueError, match="like 7d"):
        parse_since("week", NOW)
