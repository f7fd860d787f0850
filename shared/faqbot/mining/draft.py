"""The draft FAQ sheet the client fills in: ranked question groups as XLSX or CSV, and `--groups` JSON.

The columns are the KB sheet's own (`№`, question, variants, answer) plus two the KB reader ignores
(how many calls asked, examples with the call they came from), so the file, once the answers are
filled in, is uploaded under `kb/<bot_id>/` as it is. Headers follow the bot's language. Every cell
a spreadsheet app could run as a formula (starting with `=`, `+`, `-`, `@`) gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from faqbot.config import Language
from faqbot.mining.grouping import MAX_VARIANTS, QuestionGroup

EXAMPLES_PER_GROUP = 3
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

DRAFT_HEADERS: dict[Language, tuple[str, ...]] = {
    Language.RU: ("№", "Вопрос", "Варианты вопроса", "Сколько раз", "Ответ", "Примеры"),
    Language.UK: ("№", "Питання", "Варіанти питання", "Скільки разів", "Відповідь", "Приклади"),
    Language.EN: ("No", "Question", "Question variants", "Times asked", "Answer", "Examples"),
}
_SHEET_TITLE = {Language.RU: "FAQ", Language.UK: "FAQ", Language.EN: "FAQ"}


def escape_cell(text: str) -> str:
    """A cell Excel or Google Sheets shows as text and never evaluates."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _variant(text: str) -> str:
    """Variants share one cell, one per line; `|` and `;` would split a phrasing when the KB is read."""
    return text.replace("|", "/").replace(";", ",").replace("\n", " ")


def draft_rows(groups: Sequence[QuestionGroup], *, examples: int = EXAMPLES_PER_GROUP) -> list[list[Any]]:
    """One row per group, most asked first: number, question, variants, calls, empty answer, examples."""
    rows: list[list[Any]] = []
    for number, group in enumerate(groups, start=1):
        quotes = "\n".join(f"«{m.quote}» — {m.call}" for m in group.examples(examples))
        rows.append(
            [
                number,
                escape_cell(group.question),
                escape_cell("\n".join(_variant(v) for v in group.variants(MAX_VARIANTS))),
                group.calls,
                "",
                escape_cell(quotes),
            ]
        )
    return rows


def draft_xlsx(groups: Sequence[QuestionGroup], language: Language = Language.RU) -> bytes:
    """The draft as an XLSX workbook (one sheet, header row frozen, long cells wrapped)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _SHEET_TITLE[language]
    sheet.append(list(DRAFT_HEADERS[language]))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in draft_rows(groups):
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula, whatever it starts with
            cell.alignment = wrap
    for column, width in zip("ABCDEF", (5, 45, 50, 12, 60, 70), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def draft_csv(groups: Sequence[QuestionGroup], language: Language = Language.RU) -> bytes:
    """The draft as CSV (UTF-8 with BOM, so Excel opens Cyrillic correctly)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(DRAFT_HEADERS[language])
    writer.writerows(draft_rows(groups))
    return out.getvalue().encode("utf-8-sig")


def draft_bytes(groups: Sequence[QuestionGroup], filename: str, language: Language = Language.RU) -> bytes:
    """XLSX or CSV by the file name's suffix."""
    suffix = PurePosixPath(filename).suffix.casefold()
    if suffix == ".csv":
        return draft_csv(groups, language)
    if suffix == ".xlsx":
        return draft_xlsx(groups, language)
    raise ValueError(f"{filename}: the draft is written as .xlsx or .csv")


def write_draft(path: Path, groups: Sequence[QuestionGroup], language: Language = Language.RU) -> None:
    path.write_bytes(draft_bytes(groups, path.name, language))


def draft_key(bot_id: str, on: date) -> str:
    """Where the S3 run puts the draft: `drafts/<bot_id>/faq-draft-<date>.xlsx`."""
    return f"drafts/{bot_id}/faq-draft-{on.isoformat()}.xlsx"


def groups_document(groups: Sequence[QuestionGroup]) -> dict[str, Any]:
    """Every group, ranked, with all its phrasings and the call each came from (`--groups`)."""
    return {
        "groups": [
            {
                "question": group.question,
                "calls": group.calls,
                "members": [{"text": member.text, "call": member.call} for member in group.members],
            }
            for group in groups
        ]
    }
