"""Reading a client's Q&A spreadsheet (CSV or XLSX) into KB entries, with a report of what is wrong.

Clients write their sheets by hand in Excel or Google Sheets: headers in Ukrainian, Russian or
English, CSVs saved as UTF-8 (with or without BOM) or Windows-1251 with `;`, a title row above the
header, several "variant" columns. We accept all of that and name the row of anything we cannot.
pandas and openpyxl are imported here only: the webhook never imports this module (cold start).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from faqbot.config import Language
from faqbot.kb.models import KbEntry
from faqbot.kb.validation import (
    Issue,
    IssueCode,
    Limits,
    NearDuplicateFinder,
    ValidationReport,
    looks_like_formula,
    matcher_near_duplicates,
    preview,
    question_key,
    validate_entries,
)

SUPPORTED_SUFFIXES = (".csv", ".xlsx")
# A sheet with one of these names holds the KB even when it is not the first one.
PREFERRED_SHEETS = ("faq", "база", "база знань", "база знаний", "kb", "knowledge base", "q&a")
HEADER_SEARCH_ROWS = 10  # a title or a note may sit above the header row
SINGLE_KINDS = ("id", "question", "answer", "category")  # at most one column each; the others merge
_INTEGRAL_FLOAT = re.compile(r"^(-?\d+)\.0+$")


class BadSpreadsheet(ValueError):
    """The file cannot become a knowledge base; `report` says why, row by row."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.summary())
        self.report = report


@dataclass(frozen=True)
class KbCheck:
    """A parsed upload: the entries that could be read and the report on the whole file."""

    entries: list[KbEntry]
    report: ValidationReport


# --- column headers ---------------------------------------------------------------------------

_EXACT_HEADERS: dict[str, set[str]] = {
    "id": {"id", "#", "№", "no", "nr", "num", "number", "номер", "ід", "ид", "код", "code", "№ п п", "# п п"},
    "question": {"faq", "question", "questions", "вопрос", "вопросы", "питання", "запитання"},
    "answer": {"answer", "answers", "ответ", "ответы", "відповідь", "відповіді"},
    "alternatives": {"alt questions", "alt question", "alternatives", "alt", "синонимы", "синоніми", "варианты"},
    "keywords": {"keywords", "key words", "tags", "ключевые слова", "ключові слова", "теги", "теґи"},
    "category": {"category", "категория", "категорія", "тема", "topic", "section", "раздел", "розділ"},
}
# Checked in this order, so "Варіанти питання" is alternatives and "Відповідь на питання" is an answer.
_STEM_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "alternatives",
        (
            "вариант",
            "варіант",
            "синоним",
            "синонім",
            "alt",
            "alternat",
            "paraphras",
            "перефраз",
            "формулировк",
            "формулюван",
            "похож",
            "схож",
            "similar",
            "variant",
            "variation",
            "other",
        ),
    ),
    ("keywords", ("ключ", "keyword", "tag", "тег", "теґ", "хештег", "хэштег", "метк", "мітк")),
    (
        "category",
        (
            "категор",
            "categor",
            "тема",
            "тематик",
            "topic",
            "section",
            "раздел",
            "розділ",
            "рубрик",
            "групп",
            "груп",
            "group",
        ),
    ),
    ("answer", ("ответ", "відповід", "answer", "reply", "response")),
    ("question", ("вопрос", "питан", "запитан", "question")),
)
_ID_TOKENS = {"id", "ід", "ид", "№", "#", "no", "nr", "номер"}


def normalize_header(header: str) -> str:
    """Lower case, `ё`→`е`, punctuation and underscores to spaces: `Question_Text*` → `question text`."""
    text = unicodedata.normalize("NFKC", header).casefold().replace("ё", "е")
    text = re.sub(r"[^\w#№&]+", " ", text.replace("_", " "))
    return " ".join(text.split())


def classify_header(header: str) -> str | None:
    """The column kind a header names (id, question, answer, alternatives, keywords, category), or None."""
    norm = normalize_header(header)
    if not norm:
        return None
    for kind, names in _EXACT_HEADERS.items():
        if norm in names:
            return kind
    tokens = norm.split()
    if tokens[0] in _ID_TOKENS or tokens[-1] in _ID_TOKENS or norm.startswith(("№", "#")):
        return "id"
    for kind, stems in _STEM_RULES:
        if any(token.startswith(stem) for token in tokens for stem in stems):
            return kind
    return None


# --- reading the file into a grid of strings ---------------------------------------------------


class _Unreadable(Exception):
    """The bytes are not a spreadsheet we can read; the message goes into the report."""


@dataclass
class _Grid:
    """The chosen sheet as strings; `rows[0]` is spreadsheet row 1."""

    rows: list[list[str]]
    sheet: str | None = None
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row index, col index) -> "=..."
    is_csv: bool = False


def _cell(value: Any) -> str:
    """A cell as the text the bot would send (`1.0` from Excel becomes `1`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ").strip()
    return "" if text.casefold() == "nan" and not isinstance(value, str) else text


def _decode(data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with BOM (Excel "Unicode text"), else Windows-1251."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise _Unreadable("the text encoding is neither UTF-8 nor Windows-1251; save the file as UTF-8 CSV") from exc


def detect_delimiter(text: str) -> str:
    """`,`, `;` or tab: the one under which the header is recognised best and rows are most regular."""
    sample = text[:64_000]
    best: tuple[int, int, int] = (-1, -1, -1)
    chosen = ","
    for priority, delimiter in enumerate((",", ";", "\t")):
        try:
            rows = list(itertools.islice(csv.reader(io.StringIO(sample), delimiter=delimiter), 30))
        except csv.Error:
            continue
        head = rows[:HEADER_SEARCH_ROWS]
        recognised = max((len({classify_header(c) for c in row} - {None}) for row in head), default=0)
        widths = [len(row) for row in rows if any(c.strip() for c in row)]
        regular = sum(1 for w in widths if w == widths[0]) if widths and widths[0] > 1 else 0
        score = (recognised, regular, -priority)
        if score > best:
            best, chosen = score, delimiter
    return chosen


def _read_csv(data: bytes) -> _Grid:
    text = _decode(data)
    delimiter = detect_delimiter(text)
    try:
        csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
        width = max((len(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)), default=0)
        if width == 0:
            return _Grid(rows=[], is_csv=True)
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            names=list(range(width)),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
        )
    except (csv.Error, pd.errors.ParserError, ValueError) as exc:
        raise _Unreadable(f"CSV: {exc}") from exc
    return _Grid(rows=[[_cell(v) for v in row] for row in frame.itertuples(index=False)], is_csv=True)


def _header_score(rows: Sequence[Sequence[Any]]) -> int:
    """2 when some early row has both a question and an answer header, 1 for any known header, else 0."""
    best = 0
    for row in rows:
        kinds = {classify_header(_cell(v)) for v in row}
        best = max(best, 2 if {"question", "answer"} <= kinds else 1 if kinds - {None} else 0)
    return best


def choose_sheet(sheets: dict[str, list[list[Any]]]) -> str:
    """A sheet named FAQ / База / База знань; else the first whose header looks like a KB; else the first."""
    names = list(sheets)
    for name in names:
        if normalize_header(name) in PREFERRED_SHEETS:
            return name
    scored = [(_header_score(sheets[name]), -index, name) for index, name in enumerate(names)]
    top = max(scored)
    return top[2] if top[0] == 2 else names[0]


def _read_xlsx(data: bytes) -> _Grid:
    import openpyxl  # only XLSX uploads need it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # any damage in a client's file (not a zip, bad XML, ...) means "unreadable"
        raise _Unreadable(f"XLSX: {exc}") from exc
    try:
        heads = {
            ws.title: [list(r) for r in ws.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True)]
            for ws in book.worksheets
        }
        if not heads:
            raise _Unreadable("XLSX: the workbook has no sheets")
        sheet = choose_sheet(heads)
        formulas: dict[tuple[int, int], str] = {}
        for row in book[sheet].iter_rows():
            for cell in row:
                if getattr(cell, "data_type", None) == "f" and isinstance(cell.value, str):
                    formulas[(cell.row - 1, cell.column - 1)] = cell.value
    finally:
        book.close()
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=sheet, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # as above: the file is the client's, its damage is reported, not raised
        raise _Unreadable(f"XLSX: {exc}") from exc
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    return _Grid(rows=rows, sheet=sheet, formulas=formulas)


def read_grid(data: bytes, filename: str) -> _Grid:
    suffix = PurePosixPath(filename).suffix.casefold()
    if suffix == ".csv":
        return _read_csv(data)
    if suffix == ".xlsx":
        return _read_xlsx(data)
    raise ValueError(f"unsupported suffix {suffix}")


# --- from grid to entries ----------------------------------------------------------------------


def split_alternatives(text: str) -> list[str]:
    """`Який адреса? | Як вас знайти?` → two phrasings; also `;` and new lines."""
    return [part.strip() for part in re.split(r"[|;\n]+", text) if part.strip()]


def split_keywords(text: str) -> list[str]:
    """Keywords are comma-separated (new lines and `;` too, as people do)."""
    return [part.strip() for part in re.split(r"[,;\n]+", text) if part.strip()]


def _unique(items: Sequence[str], exclude: str = "") -> tuple[str, ...]:
    seen = {question_key(exclude)} if exclude else set()
    kept = []
    for item in items:
        key = question_key(item)
        if key and key not in seen:
            seen.add(key)
            kept.append(item)
    return tuple(kept)


def _find_header_row(rows: list[list[str]]) -> int | None:
    """The first early row naming both a question and an answer column; else the one naming most columns."""
    best_known: tuple[int, int] | None = None  # (recognised kinds, -index)
    first_filled = None
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        kinds = {classify_header(c) for c in row} - {None}
        if {"question", "answer"} <= kinds:
            return index
        if kinds and (best_known is None or (len(kinds), -index) > best_known):
            best_known = (len(kinds), -index)
        if first_filled is None and any(row):
            first_filled = index
    return -best_known[1] if best_known is not None else first_filled


@dataclass
class _Columns:
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    headers: dict[int, str] = field(default_factory=dict)

    def first(self, kind: str) -> int | None:
        return self.by_kind.get(kind, [None])[0]

    def used(self) -> list[int]:
        return sorted(i for indexes in self.by_kind.values() for i in indexes)


def _map_columns(header: list[str], grid: _Grid, header_index: int) -> tuple[_Columns, list[Issue]]:
    columns = _Columns()
    issues: list[Issue] = []
    for index, text in enumerate(header):
        kind = classify_header(text)
        columns.headers[index] = text or f"#{index + 1}"
        if kind is None:
            has_data = any(index < len(row) and row[index] for row in grid.rows[header_index + 1 :])
            if text or (has_data and not grid.is_csv):
                issues.append(Issue.of(IssueCode.UNKNOWN_COLUMN, column=columns.headers[index], header=text or "—"))
            continue
        if kind in SINGLE_KINDS and kind in columns.by_kind:
            used = columns.headers[columns.by_kind[kind][0]]
            issues.append(Issue.of(IssueCode.DUPLICATE_COLUMN, column=text, kind=kind, header=text, used=used))
            continue
        columns.by_kind.setdefault(kind, []).append(index)
    return columns, issues


def parse_grid(grid: _Grid, limits: Limits) -> tuple[list[KbEntry], list[Issue], dict[str, list[str]]]:
    """Entries, the issues found cell by cell, and the headers used per column kind."""
    header_index = _find_header_row(grid.rows)
    if header_index is None:
        return [], [Issue.of(IssueCode.NO_ROWS)], {}
    header = grid.rows[header_index]
    columns, issues = _map_columns(header, grid, header_index)
    found = {kind: [columns.headers[i] for i in indexes] for kind, indexes in columns.by_kind.items()}
    headers_text = ", ".join(f"«{h}»" for h in header if h) or "—"
    if "question" not in columns.by_kind:
        issues.append(Issue.of(IssueCode.MISSING_QUESTION_COLUMN, row=header_index + 1, headers=headers_text))
    if "answer" not in columns.by_kind:
        issues.append(Issue.of(IssueCode.MISSING_ANSWER_COLUMN, row=header_index + 1, headers=headers_text))
    if "question" not in columns.by_kind or "answer" not in columns.by_kind:
        return [], issues, found

    header_width = max(i for i, h in enumerate(header) if h) + 1
    entries: list[KbEntry] = []
    data_rows = 0
    for index in range(header_index + 1, len(grid.rows)):
        row = grid.rows[index] + [""] * (len(header) - len(grid.rows[index]))
        row_number = index + 1

        def get(kind: str, cells: list[str] = row) -> str:
            col = columns.first(kind)
            return cells[col] if col is not None else ""

        question, answer = get("question"), get("answer")
        alternatives = [p for col in columns.by_kind.get("alternatives", []) for p in split_alternatives(row[col])]
        if not (question or answer or alternatives):
            continue  # blank row, or a pre-numbered template row nobody filled
        data_rows += 1
        if data_rows > limits.max_rows:
            total = data_rows + sum(1 for r in grid.rows[index + 1 :] if any(r))
            issues.append(Issue.of(IssueCode.TOO_MANY_ROWS, rows=total, limit=limits.max_rows))
            break
        issues += _cell_issues(grid, row, index, columns, limits, header_width)
        if not question and alternatives:
            question, alternatives = alternatives[0], alternatives[1:]
        entry_id = _entry_id(get("id"), row_number, has_id_column="id" in columns.by_kind)
        row_issue_count = len(issues)
        if not question:
            issues.append(Issue.of(IssueCode.EMPTY_QUESTION, row=row_number, column=_header(columns, "question")))
        if not answer:
            issues.append(
                Issue.of(
                    IssueCode.EMPTY_ANSWER,
                    row=row_number,
                    column=_header(columns, "answer"),
                    entry_id=entry_id or None,
                    question=preview(question),
                )
            )
        if not entry_id:
            issues.append(Issue.of(IssueCode.EMPTY_ID, row=row_number, column=_header(columns, "id")))
        if len(issues) > row_issue_count:
            continue
        keywords = [k for col in columns.by_kind.get("keywords", []) for k in split_keywords(row[col])]
        entries.append(
            KbEntry(
                id=entry_id,
                question=question,
                answer=answer,
                alternatives=_unique(alternatives, exclude=question),
                keywords=_unique(keywords),
                category=get("category") or None,
                row=row_number,
            )
        )
    if data_rows == 0:
        issues.append(Issue.of(IssueCode.NO_ROWS))
    return entries, issues, found


def _header(columns: _Columns, kind: str) -> str | None:
    index = columns.first(kind)
    return columns.headers[index] if index is not None else None


def _entry_id(raw: str, row_number: int, *, has_id_column: bool) -> str:
    if not has_id_column:
        return str(row_number)
    match = _INTEGRAL_FLOAT.match(raw)
    return match.group(1) if match else raw


def _cell_issues(
    grid: _Grid, row: list[str], index: int, columns: _Columns, limits: Limits, header_width: int
) -> list[Issue]:
    """Too-long cells, formulas and (CSV) cells beyond the header, for one row."""
    issues = []
    row_number = index + 1
    for col in columns.used():
        text, header = row[col], columns.headers[col]
        if len(text) > limits.max_cell_chars:
            issues.append(
                Issue.of(
                    IssueCode.CELL_TOO_LONG,
                    row=row_number,
                    column=header,
                    length=len(text),
                    limit=limits.max_cell_chars,
                )
            )
        formula = grid.formulas.get((index, col))
        if formula is not None:
            issues.append(
                Issue.of(
                    IssueCode.FORMULA_CELL,
                    row=row_number,
                    column=header,
                    formula=preview(formula, 40),
                    text=preview(text, 40),
                )
            )
        elif looks_like_formula(text):
            issues.append(Issue.of(IssueCode.FORMULA_LIKE_CELL, row=row_number, column=header, text=preview(text, 40)))
    if grid.is_csv and any(row[header_width:]):
        issues.append(
            Issue.of(
                IssueCode.EXTRA_CELLS,
                row=row_number,
                cells=sum(1 for c in row if c),
                header_cells=header_width,
            )
        )
    return issues


# --- the whole check ---------------------------------------------------------------------------


def check_spreadsheet(
    data: bytes,
    filename: str,
    *,
    limits: Limits | None = None,
    language: Language = Language.UK,
    near_duplicates: NearDuplicateFinder | None = matcher_near_duplicates,
) -> KbCheck:
    """Parse and validate one uploaded file; never raises for a bad file, the report says what is wrong."""
    limits = limits or Limits()
    name = PurePosixPath(filename).name
    report = ValidationReport(source=name, language=language)
    if PurePosixPath(name).suffix.casefold() not in SUPPORTED_SUFFIXES:
        report.issues.append(Issue.of(IssueCode.UNSUPPORTED_FORMAT, name=name))
        return KbCheck([], report)
    if len(data) > limits.max_file_bytes:
        report.issues.append(Issue.of(IssueCode.FILE_TOO_LARGE, size=len(data), limit=limits.max_file_bytes))
        return KbCheck([], report)
    try:
        grid = read_grid(data, name)
    except _Unreadable as exc:
        report.issues.append(Issue.of(IssueCode.UNREADABLE_FILE, detail=str(exc)))
        return KbCheck([], report)
    entries, issues, columns = parse_grid(grid, limits)
    blocked = any(i.code in (IssueCode.MISSING_QUESTION_COLUMN, IssueCode.MISSING_ANSWER_COLUMN) for i in issues)
    if entries and not blocked:
        issues += validate_entries(entries, near_duplicates=near_duplicates)
    issues.sort(key=lambda issue: (issue.row is not None, issue.row or 0))
    report = report.model_copy(
        update={"sheet": grid.sheet, "columns": columns, "entry_count": len(entries), "issues": issues}
    )
    return KbCheck(entries, report)


def load_kb_file(path: Path, *, limits: Limits | None = None) -> list[KbEntry]:
    """The entries of a local KB file, exactly as an upload would read them; `BadSpreadsheet` on errors.

    `faqbot eval` and `faqbot ask` use this, so what they measure is what the bot will serve.
    """
    check = check_spreadsheet(Path(path).read_bytes(), Path(path).name, limits=limits, near_duplicates=None)
    if not check.report.ok:
        raise BadSpreadsheet(check.report)
    return check.entries
