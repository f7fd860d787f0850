"""Reading clients' Q&A sheets: encodings, delimiters, headers in three languages, XLSX sheets, limits."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from faqbot.config import Language
from faqbot.kb.spreadsheet import (
    BadSpreadsheet,
    check_spreadsheet,
    classify_header,
    detect_delimiter,
    load_kb_file,
    split_alternatives,
    split_keywords,
)
from faqbot.kb.validation import IssueCode, Limits, Severity

BENCH = Path(__file__).parents[1] / "data" / "bench"
BENCH_KBS = {"dental_clinic_ru.csv": 45, "clothing_store_uk.csv": 45, "english_school_mixed.csv": 40}


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def codes(check) -> list[IssueCode]:
    return [issue.code for issue in check.report.issues]


def no_near_duplicates(entries):
    return []


def check(data: bytes, name: str, **kwargs):
    kwargs.setdefault("near_duplicates", no_near_duplicates)
    return check_spreadsheet(data, name, **kwargs)


@pytest.mark.parametrize("name", sorted(BENCH_KBS))
def test_bench_kbs_parse_cleanly(name: str) -> None:
    # given
    data = (BENCH / name).read_bytes()

    # when
    result = check(data, name)

    # then
    assert result.report.ok, result.report.summary()
    assert len(result.entries) == BENCH_KBS[name]
    assert [e.id for e in result.entries] == [str(i) for i in range(1, BENCH_KBS[name] + 1)]
    assert all(e.question and e.answer for e in result.entries)
    assert result.entries[0].row == 2


def test_bench_alternatives_are_split_on_pipes() -> None:
    # given
    data = (BENCH / "dental_clinic_ru.csv").read_bytes()

    # when
    first = check(data, "dental_clinic_ru.csv").entries[0]

    # then
    assert first.question == "Где находится клиника?"
    assert first.alternatives == ("Какой у вас адрес?", "Как вас найти?")


def test_cp1251_semicolon_csv_as_excel_saves_it() -> None:
    # given: Excel's "CSV (разделители — точка с запятой)" in Windows-1251, commas inside texts
    rows = [
        ["№", "Питання", "Відповідь", "Ключові слова"],
        ["1", "Скільки коштує доставка?", "Доставка 70 грн, від 1500 грн — безкоштовно.", "доставка, ціна"],
        ["2", "Де ви знаходитесь?", "Київ, вул. Хрещатик, 1.", "адреса"],
    ]
    data = csv_bytes(rows, delimiter=";", encoding="cp1251")

    # when
    result = check(data, "faq.csv")

    # then
    assert result.report.ok, result.report.summary()
    assert [(e.id, e.question) for e in result.entries] == [("1", rows[1][1]), ("2", rows[2][1])]
    assert result.entries[0].answer == rows[1][2]
    assert result.entries[0].keywords == ("доставка", "ціна")


def test_utf8_with_bom_reads_the_first_header() -> None:
    # given
    data = b"\xef\xbb\xbf" + csv_bytes([["id", "question", "answer"], ["7", "Hi?", "Hello."]])

    # when
    result = check(data, "faq.csv")

    # then
    assert result.report.columns["id"] == ["id"]
    assert [(e.id, e.answer) for e in result.entries] == [("7", "Hello.")]


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("id,question,answer\n1,a,b\n", ","),
        ("id;question;answer\n1;a, b;c\n", ";"),
        ("Питання;Відповідь\nЯк, де?;Так, тут\n", ";"),
        ("question\tanswer\nq\ta, b; c\n", "\t"),
    ],
)
def test_delimiter_is_detected(text: str, delimiter: str) -> None:
    assert detect_delimiter(text) == delimiter


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("ID", "id"),
        ("№", "id"),
        ("#", "id"),
        ("No", "id"),
        ("№ п/п", "id"),
        ("Питання", "question"),
        ("Запитання", "question"),
        ("  ВОПРОС  ", "question"),
        ("Питання клієнта", "question"),
        ("Question text", "question"),
        ("question", "question"),
        ("Вопрос клиента:", "question"),
        ("Відповідь", "answer"),
        ("Ответ", "answer"),
        ("Answer text", "answer"),
        ("Відповідь менеджера", "answer"),
        ("Відповідь на питання", "answer"),
        ("Варіанти питання", "alternatives"),
        ("Варианты вопроса", "alternatives"),
        ("Варіанти", "alternatives"),
        ("alt_questions", "alternatives"),
        ("Синоніми", "alternatives"),
        ("Синонимы", "alternatives"),
        ("Схожі питання", "alternatives"),
        ("Alternative questions", "alternatives"),
        ("Ключові слова", "keywords"),
        ("Ключевые слова", "keywords"),
        ("keywords", "keywords"),
        ("Теги", "keywords"),
        ("Тема", "category"),
        ("Категорія", "category"),
        ("Категория", "category"),
        ("Category", "category"),
        ("Розділ", "category"),
        ("Примітки", None),
        ("", None),
    ],
)
def test_headers_are_recognised_in_three_languages(header: str, kind: str | None) -> None:
    assert classify_header(header) == kind


@pytest.mark.parametrize(
    "header",
    [
        ["Питання", "Відповідь"],
        ["Вопрос", "Ответ"],
        ["question", "answer"],
        ["Запитання клієнта", "Відповідь менеджера"],
        ["QUESTION TEXT", "Answer text"],
    ],
)
def test_without_id_column_the_row_number_is_the_id(header: list[str]) -> None:
    # given
    data = csv_bytes([header, ["Q1?", "A1"], ["Q2?", "A2"]])

    # when
    result = check(data, "faq.csv")

    # then
    assert result.report.ok
    assert [(e.id, e.row, e.question) for e in result.entries] == [("2", 2, "Q1?"), ("3", 3, "Q2?")]


def test_alternatives_and_keywords_are_split_and_deduplicated() -> None:
    # given: several "variant" columns, separators `|`, `;` and new lines, a repeat of the question
    rows = [
        ["Питання", "Варіант 1", "Варіант 2", "Відповідь", "Теги"],
        [
            "Ціна доставки?",
            "Скільки коштує доставка? | ціна доставки?",
            "Доставка платна?\nА доставка;",
            "70 грн",
            "доставка, ціна,  , Нова пошта",
        ],
    ]

    # when
    entry = check(csv_bytes(rows), "faq.csv").entries[0]

    # then
    assert entry.alternatives == ("Скільки коштує доставка?", "Доставка платна?", "А доставка")
    assert entry.keywords == ("доставка", "ціна", "Нова пошта")


def test_split_helpers() -> None:
    assert split_alternatives(" a | b;c\n\nd ") == ["a", "b", "c", "d"]
    assert split_keywords("x, y,,z\nw") == ["x", "y", "z", "w"]


def test_a_title_row_above_the_header_is_skipped_and_rows_keep_their_numbers() -> None:
    # given
    rows = [["FAQ салону «Лаванда»", ""], ["", ""], ["Питання", "Відповідь"], ["Де ви?", "Львів"]]

    # when
    result = check(csv_bytes(rows), "faq.csv")

    # then
    assert [(e.id, e.row) for e in result.entries] == [("4", 4)]


def test_unfilled_template_rows_are_ignored() -> None:
    # given: the client's template pre-numbers 5 rows and fills two
    rows = [["id", "Питання", "Відповідь"], ["1", "Q?", "A"], ["2", "Q2?", "A2"], ["3", "", ""], ["4", "", ""]]

    # when
    result = check(csv_bytes(rows), "faq.csv")

    # then
    assert result.report.ok
    assert [e.id for e in result.entries] == ["1", "2"]


def test_missing_answer_column_is_an_error_naming_the_headers() -> None:
    # given
    data = csv_bytes([["id", "Питання", "Примітки"], ["1", "Q?", "x"]])

    # when
    result = check(data, "faq.csv")

    # then
    assert not result.report.ok
    assert IssueCode.MISSING_ANSWER_COLUMN in codes(result)
    error = next(i for i in result.report.errors if i.code is IssueCode.MISSING_ANSWER_COLUMN)
    assert "«Примітки»" in error.message(Language.UK)
    assert result.entries == []


def test_missing_question_column_is_an_error() -> None:
    result = check(csv_bytes([["Відповідь"], ["A"]]), "faq.csv")
    assert [i.code for i in result.report.errors] == [IssueCode.MISSING_QUESTION_COLUMN]


def test_empty_answer_empty_question_and_empty_id_are_errors_with_their_rows() -> None:
    # given
    rows = [
        ["id", "Питання", "Відповідь"],
        ["1", "Q1?", "A1"],
        ["2", "Q2?", ""],
        ["3", "", "A3"],
        ["", "Q4?", "A4"],
    ]

    # when
    result = check(csv_bytes(rows), "faq.csv")

    # then
    assert [(i.code, i.row) for i in result.report.errors] == [
        (IssueCode.EMPTY_ANSWER, 3),
        (IssueCode.EMPTY_QUESTION, 4),
        (IssueCode.EMPTY_ID, 5),
    ]
    assert result.report.errors[0].column == "Відповідь"
    assert [e.id for e in result.entries] == ["1"]


def test_a_question_left_empty_takes_the_first_alternative() -> None:
    rows = [["Питання", "Варіанти питання", "Відповідь"], ["", "Де ви? | Адреса?", "Львів"]]
    entry = check(csv_bytes(rows), "faq.csv").entries[0]
    assert (entry.question, entry.alternatives) == ("Де ви?", ("Адреса?",))


def test_duplicate_ids_are_an_error_naming_both_rows() -> None:
    # given
    rows = [["ID", "Питання", "Відповідь"], ["1", "Q1?", "A1"], ["2", "Q2?", "A2"], ["1", "Q3?", "A3"]]

    # when
    result = check(csv_bytes(rows), "faq.csv")

    # then
    [error] = result.report.errors
    assert (error.code, error.row, error.params["other_row"]) == (IssueCode.DUPLICATE_ID, 4, 2)


def test_unquoted_delimiter_in_a_csv_text_is_an_error() -> None:
    # given: a hand-written CSV where the answer's comma is not quoted
    data = "Питання,Відповідь\nДе ви?,Київ, Хрещатик 1\n".encode()

    # when
    result = check(data, "faq.csv")

    # then
    assert [(i.code, i.row) for i in result.report.errors] == [(IssueCode.EXTRA_CELLS, 2)]


def test_formula_like_text_is_a_warning_but_bullets_and_phones_are_not() -> None:
    # given
    rows = [
        ["Питання", "Відповідь"],
        ["Телефон?", "+380 67 123 45 67"],
        ["Що входить?", "- миття\n- укладка"],
        ["Знижка?", "-10% на все"],
        ["Посилання?", '=HYPERLINK("http://evil.example","тут")'],
        ["Сума?", "+SUM(A1:A3)"],
    ]

    # when
    result = check(csv_bytes(rows), "faq.csv")

    # then
    assert result.report.ok
    assert [(i.code, i.row) for i in result.report.warnings] == [
        (IssueCode.FORMULA_LIKE_CELL, 5),
        (IssueCode.FORMULA_LIKE_CELL, 6),
    ]


def test_unknown_columns_are_reported_as_warnings() -> None:
    result = check(csv_bytes([["Питання", "Відповідь", "Примітки"], ["Q?", "A", "x"]]), "faq.csv")
    assert [(i.code, i.severity) for i in result.report.issues] == [(IssueCode.UNKNOWN_COLUMN, Severity.WARNING)]


def test_xlsx_first_sheet_numbers_and_ids() -> None:
    # given: Excel stores the id 1 as a number
    data = xlsx_bytes({"Аркуш1": [["№", "Вопрос", "Ответ"], [1, "Где вы?", "Киев"], [2, "Цена?", 100]]})

    # when
    result = check(data, "faq.xlsx")

    # then
    assert result.report.sheet == "Аркуш1"
    assert [(e.id, e.question, e.answer, e.row) for e in result.entries] == [
        ("1", "Где вы?", "Киев", 2),
        ("2", "Цена?", "100", 3),
    ]


@pytest.mark.parametrize("kb_sheet", ["FAQ", "База", "База знань", "база знаний"])
def test_xlsx_sheet_named_faq_or_baza_wins_over_the_first(kb_sheet: str) -> None:
    # given
    data = xlsx_bytes(
        {
            "Ціни": [["Питання", "Відповідь"], ["Не те?", "Не те"]],
            kb_sheet: [["Питання", "Відповідь"], ["Те?", "Те"]],
        }
    )

    # when
    result = check(data, "faq.xlsx")

    # then
    assert result.report.sheet == kb_sheet
    assert [e.question for e in result.entries] == ["Те?"]


def test_xlsx_cover_sheet_is_passed_over_for_the_sheet_with_a_kb_header() -> None:
    # given
    data = xlsx_bytes(
        {"Інструкція": [["Заповніть таблицю на наступному аркуші"]], "Q&A": [["Question", "Answer"], ["Open?", "Yes"]]}
    )

    # when
    result = check(data, "kb.xlsx")

    # then
    assert result.report.sheet == "Q&A"
    assert [e.answer for e in result.entries] == ["Yes"]


def test_xlsx_header_below_empty_rows_keeps_spreadsheet_row_numbers() -> None:
    data = xlsx_bytes({"FAQ": [[None], ["Наш FAQ"], ["Питання", "Відповідь"], ["Q?", None], ["Q2?", "A2"]]})
    result = check(data, "faq.xlsx")
    assert [(i.code, i.row) for i in result.report.errors] == [(IssueCode.EMPTY_ANSWER, 4)]
    assert [e.row for e in result.entries] == [5]


def test_xlsx_formula_cells_are_flagged() -> None:
    # given
    data = xlsx_bytes({"FAQ": [["Питання", "Відповідь"], ["Ціна?", '="Ціна: "&100']]})

    # when
    result = check(data, "faq.xlsx")

    # then: openpyxl never computed the value, so the answer is empty: an error, and the formula is named
    assert (IssueCode.FORMULA_CELL, 2) in [(i.code, i.row) for i in result.report.warnings]
    assert (IssueCode.EMPTY_ANSWER, 2) in [(i.code, i.row) for i in result.report.errors]


def test_not_an_xlsx_is_unreadable() -> None:
    result = check(b"definitely not a zip", "faq.xlsx")
    assert [i.code for i in result.report.errors] == [IssueCode.UNREADABLE_FILE]


def test_unsupported_format_is_an_error() -> None:
    result = check(b"whatever", "faq.ods")
    assert [i.code for i in result.report.errors] == [IssueCode.UNSUPPORTED_FORMAT]


def test_limits_file_size_rows_and_cell_length() -> None:
    # given
    limits = Limits(max_file_bytes=10_000, max_rows=3, max_cell_chars=50)
    rows = [["Питання", "Відповідь"]] + [[f"Q{i}?", f"A{i}"] for i in range(5)]
    long_cell = [["Питання", "Відповідь"], ["Q?", "x" * 51]]

    # when
    too_big = check(b"Q,A\n" + b"x" * 10_000, "faq.csv", limits=limits)
    too_many = check(csv_bytes(rows), "faq.csv", limits=limits)
    too_long = check(csv_bytes(long_cell), "faq.csv", limits=limits)

    # then
    assert [i.code for i in too_big.report.errors] == [IssueCode.FILE_TOO_LARGE]
    [rows_error] = too_many.report.errors
    assert (rows_error.code, rows_error.params["rows"], rows_error.params["limit"]) == (IssueCode.TOO_MANY_ROWS, 5, 3)
    assert [(i.code, i.row, i.column) for i in too_long.report.errors] == [(IssueCode.CELL_TOO_LONG, 2, "Відповідь")]


def test_load_kb_file_returns_entries_or_raises_with_the_report(tmp_path: Path) -> None:
    # given
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(csv_bytes([["Питання", "Відповідь"], ["Q?", "A"]]))
    bad.write_bytes(csv_bytes([["Питання", "Примітки"], ["Q?", "A"]]))

    # when
    entries = load_kb_file(good)
    with pytest.raises(BadSpreadsheet) as raised:
        load_kb_file(bad)

    # then
    assert [e.question for e in entries] == ["Q?"]
    assert raised.value.report.errors[0].code is IssueCode.MISSING_ANSWER_COLUMN
    assert "Відповідь" in str(raised.value)


def test_demo_kb_shipped_with_the_package_is_clean() -> None:
    path = Path(__file__).parents[2] / "shared" / "faqbot" / "demo" / "demo_kb.csv"
    result = check_spreadsheet(path.read_bytes(), path.name)
    assert result.report.issues == [], result.report.summary()
    assert len(result.entries) == 25


def test_a_second_question_column_is_skipped_with_a_warning() -> None:
    # given
    data = csv_bytes([["Питання", "Відповідь", "Питання (англ)"], ["Де ви?", "Львів", "Where are you?"]])

    # when
    result = check(data, "faq.csv")

    # then
    [warning] = result.report.warnings
    assert (warning.code, warning.column) == (IssueCode.DUPLICATE_COLUMN, "Питання (англ)")
    assert "колонку типу «питання»" in warning.message(Language.UK)
    assert [e.question for e in result.entries] == ["Де ви?"]
