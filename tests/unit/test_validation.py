"""The validation report: KB-wide checks, channel limits, formulas, and the report as JSON and text."""

from __future__ import annotations

import json

import pytest
from faqbot.config import Language
from faqbot.kb.models import KbEntry
from faqbot.kb.validation import (
    CHANNEL_TEXT_LIMITS,
    NEAR_DUPLICATE_MAX_ENTRIES,
    Activation,
    Issue,
    IssueCode,
    NearDuplicate,
    Severity,
    ValidationReport,
    looks_like_formula,
    question_key,
    validate_entries,
)


def entry(entry_id: str, question: str, answer: str = "Відповідь.", *, alternatives=(), row=None) -> KbEntry:
    return KbEntry(
        id=entry_id, question=question, answer=answer, alternatives=tuple(alternatives), row=row or int(entry_id) + 1
    )


def no_near_duplicates(entries):
    return []


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        ("=1+1", True),
        ('=HYPERLINK("http://x","y")', True),
        ("+SUM(A1:A2)", True),
        ("-cmd|' /C calc'!A0", True),  # DDE
        ("@SUM(A1)", True),
        ("+A1", True),
        ("  =A1", True),
        ("+380 67 123 45 67", False),
        ("- доставка\n- оплата", False),
        ("-10% на все", False),
        ("@lavanda_beauty — наш Instagram", False),
        ("Ціна = 100 грн", False),
        ("", False),
    ],
)
def test_formula_like_cells(text: str, formula: bool) -> None:
    assert looks_like_formula(text) is formula


def test_question_key_ignores_case_punctuation_and_yo() -> None:
    assert question_key("  Где ВЫ находитесь?!") == question_key("где вы находитесь")
    assert question_key("Ещё есть?") == question_key("еще есть")


def test_same_question_under_two_ids_is_an_error() -> None:
    # given
    entries = [entry("1", "Де ви знаходитесь?"), entry("2", "Ціна?"), entry("3", "де ви знаходитесь")]

    # when
    issues = validate_entries(entries, near_duplicates=no_near_duplicates)

    # then
    [issue] = issues
    assert (issue.code, issue.severity, issue.row, issue.params["other_id"]) == (
        IssueCode.DUPLICATE_QUESTION,
        Severity.ERROR,
        4,
        "1",
    )


def test_duplicate_ids_are_errors() -> None:
    issues = validate_entries([entry("1", "A?"), entry("1", "B?", row=5)], near_duplicates=no_near_duplicates)
    assert [(i.code, i.row, i.params["other_row"]) for i in issues] == [(IssueCode.DUPLICATE_ID, 5, 2)]


def test_an_alternative_shared_with_another_entry_is_a_warning() -> None:
    # given
    entries = [
        entry("1", "Скільки коштує доставка?"),
        entry("2", "Як довго доставка?", alternatives=["скільки коштує доставка"]),
    ]

    # when
    issues = validate_entries(entries, near_duplicates=no_near_duplicates)

    # then
    assert [(i.code, i.severity, i.entry_id, i.params["other_id"]) for i in issues] == [
        (IssueCode.SHARED_PHRASING, Severity.WARNING, "2", "1")
    ]


def test_answers_over_a_channel_limit_name_the_channels() -> None:
    # given
    entries = [
        entry("1", "Short?", "x" * CHANNEL_TEXT_LIMITS["Instagram"]),
        entry("2", "Medium?", "x" * 1500),
        entry("3", "Long?", "x" * 5000),
    ]

    # when
    issues = validate_entries(entries, near_duplicates=no_near_duplicates)

    # then
    assert [(i.code, i.entry_id) for i in issues] == [
        (IssueCode.ANSWER_TOO_LONG, "2"),
        (IssueCode.ANSWER_TOO_LONG, "3"),
    ]
    assert issues[0].params["channels"] == "Instagram (1000)"
    assert issues[1].params["channels"] == "Instagram (1000), Messenger (2000), WhatsApp (4096), Telegram (4096)"


def test_near_duplicates_become_warnings_with_similarity_on_the_later_row() -> None:
    # given: a finder standing in for the matcher
    entries = [entry("1", "Ціна манікюру?"), entry("2", "Графік?"), entry("3", "Скільки коштує манікюр?")]

    def finder(found):
        assert [e.id for e in found] == ["1", "2", "3"]
        return [NearDuplicate("3", "1", 0.934)]

    # when
    issues = validate_entries(entries, near_duplicates=finder)

    # then
    [issue] = issues
    assert (issue.code, issue.severity, issue.row, issue.entry_id) == (
        IssueCode.NEAR_DUPLICATE,
        Severity.WARNING,
        4,
        "3",
    )
    assert issue.params["similarity"] == 0.93
    assert "0.93" in issue.message(Language.UK) and "1" in issue.message(Language.UK)


def test_the_real_matcher_flags_entries_it_cannot_tell_apart() -> None:
    # given: the same question under two ids, and two unrelated entries
    entries = [
        entry("1", "Як оформити повернення товару?", "Напишіть нам у чат."),
        entry("2", "Де ви знаходитесь?", "Київ, Хрещатик 1."),
        entry("3", "Як оформити повернення товару?", "Заповніть форму на сайті."),
        entry("4", "Скільки коштує доставка?", "70 грн."),
    ]

    # when
    issues = validate_entries(entries)  # default finder: faqbot.kb.matcher.Matcher.near_duplicates

    # then
    near = [(i.entry_id, i.params["other_id"]) for i in issues if i.code is IssueCode.NEAR_DUPLICATE]
    assert near == [("3", "1")]
    assert [(i.code, i.row) for i in issues if i.severity is Severity.ERROR] == [(IssueCode.DUPLICATE_QUESTION, 4)]


def test_near_duplicate_check_is_skipped_when_ids_clash() -> None:
    def finder(found):
        raise AssertionError("must not run on a KB with duplicate ids")

    issues = validate_entries([entry("1", "A?"), entry("1", "B?")], near_duplicates=finder)
    assert [i.code for i in issues] == [IssueCode.DUPLICATE_ID]


def test_near_duplicate_check_on_a_very_large_kb_is_skipped_with_a_warning() -> None:
    # given
    entries = [entry(str(i), f"Питання номер {i}?") for i in range(1, NEAR_DUPLICATE_MAX_ENTRIES + 2)]

    def finder(found):
        raise AssertionError("too slow for kb_ingest's timeout on this many entries")

    # when
    issues = validate_entries(entries, near_duplicates=finder)

    # then
    [issue] = issues
    assert (issue.code, issue.severity) == (IssueCode.NEAR_DUPLICATE_CHECK_SKIPPED, Severity.WARNING)
    assert issue.params == {"count": NEAR_DUPLICATE_MAX_ENTRIES + 1, "limit": NEAR_DUPLICATE_MAX_ENTRIES}


def make_report(language: Language = Language.UK) -> ValidationReport:
    return ValidationReport(
        source="faq.xlsx",
        language=language,
        sheet="FAQ",
        columns={"question": ["Питання"], "answer": ["Відповідь"]},
        entry_count=12,
        issues=[
            Issue.of(IssueCode.MISSING_ANSWER_COLUMN, row=1, headers="«Питання»"),
            Issue.of(IssueCode.EMPTY_ANSWER, row=7, column="Відповідь", question="Де ви?"),
            Issue.of(IssueCode.ANSWER_TOO_LONG, row=9, length=1200, channels="Instagram (1000)"),
        ],
    )


def test_report_json_has_counts_and_localised_messages() -> None:
    # given
    report = make_report(Language.RU)

    # when
    data = json.loads(json.dumps(report.to_json_dict(), ensure_ascii=False))

    # then
    assert (data["ok"], data["error_count"], data["warning_count"]) == (False, 2, 1)
    assert data["issues"][1] == {
        "severity": "error",
        "code": "empty_answer",
        "row": 7,
        "column": "Відповідь",
        "entry_id": None,
        "params": {"question": "Де ви?"},
        "message": "пустой ответ на вопрос «Де ви?»",
    }
    assert ValidationReport.model_validate(data) == report


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (Language.UK, ["Перевірка файлу faq.xlsx (аркуш «FAQ»)", "рядок 7, колонка «Відповідь»: порожня відповідь"]),
        (Language.RU, ["Проверка файла faq.xlsx (лист «FAQ»)", "строка 7, колонка «Відповідь»: пустой ответ"]),
        (Language.EN, ["Check of faq.xlsx (sheet «FAQ»)", "row 7, column «Відповідь»: empty answer"]),
    ],
)
def test_summary_lists_errors_then_warnings_in_the_bot_language(language: Language, expected: list[str]) -> None:
    # given
    report = make_report(language)

    # when
    text = report.summary()

    # then
    for fragment in expected:
        assert fragment in text
    errors_at, warnings_at = text.index(" • ", 0), text.rindex(" • ")
    assert errors_at < text.index("7,") < warnings_at
    assert "9" in text[warnings_at:]


@pytest.mark.parametrize(
    ("activation", "fragment"),
    [
        (Activation(status="activated", version=4, live_version=4), "активна версія 4"),
        (Activation(status="rejected", live_version=3), "працює попередня версія бази (3)"),
        (Activation(status="rejected", live_version=None), "працює попередня версія бази (немає)"),
        (Activation(status="superseded", version=5, live_version=6), "новіший (версія 6)"),
    ],
)
def test_summary_says_what_happened_to_the_upload(activation: Activation, fragment: str) -> None:
    report = ValidationReport(source="faq.csv", entry_count=3, activation=activation)
    assert fragment in report.summary()


def test_every_issue_code_has_a_message_in_every_language() -> None:
    for code in IssueCode:
        messages = {Issue.of(code).message(language) for language in Language}
        assert len(messages) >= 2, code  # ru/uk/en texts exist (uk and ru differ from en at least)
        assert all(message.strip() for message in messages)
