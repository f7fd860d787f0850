"""Grouping questions by meaning (the matcher's similarity), ranking by calls, and the draft sheet."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import openpyxl
from faqbot.config import Language
from faqbot.kb.spreadsheet import check_spreadsheet
from faqbot.mining.draft import DRAFT_HEADERS, draft_csv, draft_xlsx, escape_cell, groups_document
from faqbot.mining.grouping import QuestionGroup, group_questions
from faqbot.mining.pipeline import mine_directory
from faqbot.mining.questions import Question

DATA = Path(__file__).parents[1] / "data" / "transcripts"


def q(text: str, call: str) -> Question:
    return Question(text=text, call=call, quote=text.rstrip("?").lower())


def _label(question: Question, truth: dict[str, list[dict[str, str]]]) -> str:
    """The labelled question of the corpus this phrasing is (every word of a label's quote occurs in it)."""
    said = f"{question.quote} {question.text}".casefold().replace("ё", "е")
    for asked in truth.get(question.call, []):
        if all(word.replace("ё", "е") in said for word in asked["quote"].casefold().split()):
            return asked["question"]
    return "?"


def test_rewordings_in_two_languages_form_one_group_and_other_questions_stay_apart() -> None:
    # given
    questions = [
        q("Где вы находитесь?", "c1"),
        q("Де ви знаходитесь?", "c2"),
        q("Где именно находится салон?", "c3"),
        q("Оплатить картой можно?", "c1"),
        q("Оплата карткою чи готівкою?", "c4"),
        q("Какой у вас график работы?", "c5"),
    ]

    # when
    groups = group_questions(questions)

    # then
    by_question = {frozenset(m.text for m in g.members) for g in groups}
    assert frozenset({"Где вы находитесь?", "Де ви знаходитесь?", "Где именно находится салон?"}) in by_question
    assert frozenset({"Оплатить картой можно?", "Оплата карткою чи готівкою?"}) in by_question
    assert frozenset({"Какой у вас график работы?"}) in by_question


def test_groups_rank_by_calls_and_a_repeat_within_one_call_counts_once() -> None:
    # given: the address asked twice in c1 and once in c2; the payment in three calls
    questions = [
        q("Где вы находитесь?", "c1"),
        q("Где вы находитесь?", "c1"),
        q("Где вы находитесь?", "c2"),
        q("Можно оплатить картой?", "c1"),
        q("Можно оплатить картой?", "c2"),
        q("Можно оплатить картой?", "c3"),
    ]

    # when
    groups = group_questions(questions)

    # then
    assert [(g.question, g.calls, len(g.members)) for g in groups] == [
        ("Можно оплатить картой?", 3, 3),
        ("Где вы находитесь?", 2, 3),
    ]


def test_the_typical_phrasing_leads_and_variants_are_distinct() -> None:
    # given
    group = QuestionGroup(
        "Где вы находитесь?",
        [q("Где вы находитесь?", "a"), q("где вы находитесь", "b"), q("Де ви знаходитесь?", "c")],
    )

    # then
    assert group.variants() == ["Де ви знаходитесь?"]
    assert [m.call for m in group.examples()] == ["a", "b", "c"]


def test_corpus_groups_are_pure_and_never_overcount() -> None:
    # given: 33 labelled calls (ru/uk, txt/json/srt/vtt) and how many calls ask each question
    truth = json.loads((DATA / "ground_truth.json").read_text(encoding="utf-8"))["calls"]
    asked_in = Counter(label for asked in truth.values() for label in {a["question"] for a in asked})
    most_frequent = {label for label, _ in asked_in.most_common(10)}

    # when
    result = mine_directory(DATA)

    # then: most phrasings sit in a group of their own question ...
    majority = 0
    for group in result.groups:
        labels = Counter(_label(member, truth) for member in group.members)
        majority += labels.most_common(1)[0][1]
    assert majority / len(result.questions) >= 0.9
    # ... every top-10 group is about one of the 10 most frequent questions, and no group counts more
    # calls than that question really has (+1)
    for group in result.groups[:10]:
        label = Counter(_label(member, truth) for member in group.members).most_common(1)[0][0]
        assert label in most_frequent | {"misc"}, (group.question, label)
        assert group.calls <= asked_in[label] + 1, (group.question, group.calls, asked_in[label])
    # the two most asked-about questions after price lead the draft
    top_labels = [Counter(_label(m, truth) for m in g.members).most_common(1)[0][0] for g in result.groups[:2]]
    assert set(top_labels) == {"book", "address"}


def test_draft_headers_follow_the_language_and_formulas_are_escaped() -> None:
    # given
    groups = [QuestionGroup("=HYPERLINK(\"x\")", [q("=HYPERLINK(\"x\")", "c1"), q("-1+2?", "c2")])]

    # when
    sheet = openpyxl.load_workbook(io.BytesIO(draft_xlsx(groups, Language.UK))).active
    rows = list(csv.reader(io.StringIO(draft_csv(groups, Language.RU).decode("utf-8-sig"))))

    # then
    assert [c.value for c in sheet[1]] == list(DRAFT_HEADERS[Language.UK])
    assert sheet["B2"].value == "'=HYPERLINK(\"x\")" and sheet["B2"].data_type == "s"
    assert sheet["C2"].value == "'-1+2?"
    assert rows[0] == ["№", "Вопрос", "Варианты вопроса", "Сколько раз", "Ответ", "Примеры"]
    assert rows[1][:5] == ["1", "'=HYPERLINK(\"x\")", "'-1+2?", "2", ""]
    assert escape_cell("@SUM(A1)") == "'@SUM(A1)" and escape_cell("Сколько?") == "Сколько?"


def test_the_filled_in_draft_reads_as_a_knowledge_base() -> None:
    # given: the corpus draft with every answer filled in, as the client would
    groups = mine_directory(DATA).groups
    book = openpyxl.load_workbook(io.BytesIO(draft_xlsx(groups, Language.RU)))
    sheet = book.active
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row=row, column=5, value=f"Ответ номер {row - 1}")
    filled = io.BytesIO()
    book.save(filled)

    # when
    check = check_spreadsheet(filled.getvalue(), "faq-draft.xlsx", language=Language.RU, near_duplicates=None)

    # then: one entry per group, the typical phrasing as the question, the variants as alternatives
    assert check.report.ok, check.report.summary()
    assert len(check.entries) == len(groups)
    first = check.entries[0]
    assert (first.question, first.answer) == (groups[0].question, "Ответ номер 1")
    assert list(first.alternatives) == groups[0].variants()


def test_groups_document_lists_every_member_with_its_call() -> None:
    # given
    groups = group_questions([q("Где вы находитесь?", "call01"), q("Де ви знаходитесь?", "call07")])

    # when
    document = groups_document(groups)

    # then
    assert document == {
        "groups": [
            {
                "question": groups[0].question,
                "calls": 2,
                "members": [{"text": m.text, "call": m.call} for m in groups[0].members],
            }
        ]
    }
    assert {m["call"] for m in document["groups"][0]["members"]} == {"call01", "call07"}
