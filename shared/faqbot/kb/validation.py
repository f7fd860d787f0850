"""The validation report of a knowledge-base upload: what is wrong with the client's sheet, row by row.

Errors block activation (the old KB stays live); warnings are shown to the client but do not.
Every issue carries a code and its parameters; the human text is rendered in the bot's language
when the report is written, so the same report reads well in Ukrainian, Russian or English.
This module is light (pydantic only): the webhook path may import it, pandas lives in `spreadsheet`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from faqbot.config import Language
from faqbot.kb.models import KbEntry

# The matcher's pairwise similarity check grows with the square of the KB (about 11 s for 2,000
# entries); beyond this the upload would risk kb_ingest's timeout, so the check is skipped and said so.
NEAR_DUPLICATE_MAX_ENTRIES = 2000

# Longest text one message may carry, per channel (Instagram DMs are the tightest).
CHANNEL_TEXT_LIMITS: dict[str, int] = {
    "Instagram": 1000,
    "Messenger": 2000,
    "WhatsApp": 4096,
    "Telegram": 4096,
    "Viber": 7000,
}


class Limits(BaseModel):
    """What one upload may contain; beyond these the file is refused with a clear error."""

    model_config = ConfigDict(frozen=True)

    max_file_bytes: int = 5 * 1024 * 1024
    max_rows: int = 5000
    max_cell_chars: int = 8000


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class IssueCode(StrEnum):
    # errors: the file cannot become the live KB
    FILE_TOO_LARGE = "file_too_large"
    UNSUPPORTED_FORMAT = "unsupported_format"
    UNREADABLE_FILE = "unreadable_file"
    NO_ROWS = "no_rows"
    MISSING_QUESTION_COLUMN = "missing_question_column"
    MISSING_ANSWER_COLUMN = "missing_answer_column"
    TOO_MANY_ROWS = "too_many_rows"
    CELL_TOO_LONG = "cell_too_long"
    EMPTY_QUESTION = "empty_question"
    EMPTY_ANSWER = "empty_answer"
    EMPTY_ID = "empty_id"
    DUPLICATE_ID = "duplicate_id"
    DUPLICATE_QUESTION = "duplicate_question"
    EXTRA_CELLS = "extra_cells"
    # warnings: the KB works, but the client should look
    NEAR_DUPLICATE = "near_duplicate"
    NEAR_DUPLICATE_CHECK_SKIPPED = "near_duplicate_check_skipped"
    SHARED_PHRASING = "shared_phrasing"
    ANSWER_TOO_LONG = "answer_too_long"
    FORMULA_LIKE_CELL = "formula_like_cell"
    FORMULA_CELL = "formula_cell"
    UNKNOWN_COLUMN = "unknown_column"
    DUPLICATE_COLUMN = "duplicate_column"


_WARNINGS = {
    IssueCode.NEAR_DUPLICATE,
    IssueCode.NEAR_DUPLICATE_CHECK_SKIPPED,
    IssueCode.SHARED_PHRASING,
    IssueCode.ANSWER_TOO_LONG,
    IssueCode.FORMULA_LIKE_CELL,
    IssueCode.FORMULA_CELL,
    IssueCode.UNKNOWN_COLUMN,
    IssueCode.DUPLICATE_COLUMN,
}

# One template per code and language; `{name}` placeholders come from the issue's params.
_MESSAGES: dict[IssueCode, dict[Language, str]] = {
    IssueCode.FILE_TOO_LARGE: {
        Language.UK: "файл завеликий: {size} байт, максимум {limit}",
        Language.RU: "файл слишком большой: {size} байт, максимум {limit}",
        Language.EN: "file too large: {size} bytes, the limit is {limit}",
    },
    IssueCode.UNSUPPORTED_FORMAT: {
        Language.UK: "непідтримуваний формат «{name}»: завантажте .xlsx або .csv",
        Language.RU: "неподдерживаемый формат «{name}»: загрузите .xlsx или .csv",
        Language.EN: "unsupported file type '{name}': upload .xlsx or .csv",
    },
    IssueCode.UNREADABLE_FILE: {
        Language.UK: "не вдалося прочитати файл: {detail}",
        Language.RU: "не удалось прочитать файл: {detail}",
        Language.EN: "the file could not be read: {detail}",
    },
    IssueCode.NO_ROWS: {
        Language.UK: "у таблиці немає жодного рядка з питанням і відповіддю",
        Language.RU: "в таблице нет ни одной строки с вопросом и ответом",
        Language.EN: "the sheet has no rows with a question and an answer",
    },
    IssueCode.MISSING_QUESTION_COLUMN: {
        Language.UK: "немає колонки з питаннями (заголовок «Питання», «Вопрос» або «Question»); знайдено: {headers}",
        Language.RU: "нет колонки с вопросами (заголовок «Вопрос», «Питання» или «Question»); найдено: {headers}",
        Language.EN: "no question column (header 'Question', 'Питання' or 'Вопрос'); found: {headers}",
    },
    IssueCode.MISSING_ANSWER_COLUMN: {
        Language.UK: "немає колонки з відповідями (заголовок «Відповідь», «Ответ» або «Answer»); знайдено: {headers}",
        Language.RU: "нет колонки с ответами (заголовок «Ответ», «Відповідь» или «Answer»); найдено: {headers}",
        Language.EN: "no answer column (header 'Answer', 'Відповідь' or 'Ответ'); found: {headers}",
    },
    IssueCode.TOO_MANY_ROWS: {
        Language.UK: "забагато рядків: {rows}, максимум {limit}",
        Language.RU: "слишком много строк: {rows}, максимум {limit}",
        Language.EN: "too many rows: {rows}, the limit is {limit}",
    },
    IssueCode.CELL_TOO_LONG: {
        Language.UK: "задовгий текст у клітинці: {length} символів, максимум {limit}",
        Language.RU: "слишком длинный текст в ячейке: {length} символов, максимум {limit}",
        Language.EN: "cell text too long: {length} characters, the limit is {limit}",
    },
    IssueCode.EMPTY_QUESTION: {
        Language.UK: "є відповідь, але немає питання",
        Language.RU: "есть ответ, но нет вопроса",
        Language.EN: "the row has an answer but no question",
    },
    IssueCode.EMPTY_ANSWER: {
        Language.UK: "порожня відповідь на питання «{question}»",
        Language.RU: "пустой ответ на вопрос «{question}»",
        Language.EN: "empty answer to '{question}'",
    },
    IssueCode.EMPTY_ID: {
        Language.UK: "порожній id (заповніть його або приберіть колонку id — тоді id буде номер рядка)",
        Language.RU: "пустой id (заполните его или уберите колонку id — тогда id будет номер строки)",
        Language.EN: "empty id (fill it in, or remove the id column to number rows automatically)",
    },
    IssueCode.DUPLICATE_ID: {
        Language.UK: "id «{id}» повторюється (вже є в рядку {other_row})",
        Language.RU: "id «{id}» повторяется (уже есть в строке {other_row})",
        Language.EN: "id '{id}' is used twice (also in row {other_row})",
    },
    IssueCode.DUPLICATE_QUESTION: {
        Language.UK: "те саме питання, що й у рядку {other_row} (id {other_id}): «{question}»",
        Language.RU: "тот же вопрос, что и в строке {other_row} (id {other_id}): «{question}»",
        Language.EN: "same question as row {other_row} (id {other_id}): '{question}'",
    },
    IssueCode.EXTRA_CELLS: {
        Language.UK: "у рядку {cells} заповнених клітинок, а в заголовку {header_cells} колонок — "
        "мабуть, текст із комою чи крапкою з комою не взято в лапки",
        Language.RU: "в строке {cells} заполненных ячеек, а в заголовке {header_cells} колонок — "
        "видимо, текст с запятой или точкой с запятой не взят в кавычки",
        Language.EN: "the row has {cells} filled cells but the header has {header_cells} columns — "
        "probably a text with a comma or semicolon is not in quotes",
    },
    IssueCode.NEAR_DUPLICATE: {
        Language.UK: "записи {id} і {other_id} (рядок {other_row}) майже однакові (схожість {similarity}): "
        "бот не зможе їх розрізнити — об'єднайте їх або зробіть питання різнішими",
        Language.RU: "записи {id} и {other_id} (строка {other_row}) почти одинаковы (сходство {similarity}): "
        "бот не сможет их различить — объедините их или сделайте вопросы различнее",
        Language.EN: "entries {id} and {other_id} (row {other_row}) are nearly the same (similarity {similarity}): "
        "the bot cannot tell them apart — merge them or make the questions more distinct",
    },
    IssueCode.NEAR_DUPLICATE_CHECK_SKIPPED: {
        Language.UK: "у базі {count} записів: перевірку на майже однакові записи робимо лише до {limit}",
        Language.RU: "в базе {count} записей: проверку на почти одинаковые записи делаем только до {limit}",
        Language.EN: "the KB has {count} entries: the nearly-identical-entries check runs only up to {limit}",
    },
    IssueCode.SHARED_PHRASING: {
        Language.UK: "формулювання «{phrase}» є і в записі {other_id} (рядок {other_row})",
        Language.RU: "формулировка «{phrase}» есть и в записи {other_id} (строка {other_row})",
        Language.EN: "the phrasing '{phrase}' also belongs to entry {other_id} (row {other_row})",
    },
    IssueCode.ANSWER_TOO_LONG: {
        Language.UK: "відповідь довга ({length} символів): не влізе в одне повідомлення {channels}",
        Language.RU: "ответ длинный ({length} символов): не поместится в одно сообщение {channels}",
        Language.EN: "long answer ({length} characters): too long for one message on {channels}",
    },
    IssueCode.FORMULA_LIKE_CELL: {
        Language.UK: "клітинка схожа на формулу: «{text}» — Excel виконає її як формулу; "
        "якщо це текст, почніть його з іншого символу",
        Language.RU: "ячейка похожа на формулу: «{text}» — Excel выполнит её как формулу; "
        "если это текст, начните его с другого символа",
        Language.EN: "cell looks like a formula: '{text}' — a spreadsheet app would run it; "
        "if it is text, start it with another character",
    },
    IssueCode.FORMULA_CELL: {
        Language.UK: "у клітинці формула {formula}: бот надішле останнє обчислене значення «{text}»",
        Language.RU: "в ячейке формула {formula}: бот отправит последнее вычисленное значение «{text}»",
        Language.EN: "the cell holds the formula {formula}: the bot sends its last computed value '{text}'",
    },
    IssueCode.UNKNOWN_COLUMN: {
        Language.UK: "колонку «{header}» не розпізнано, її пропущено",
        Language.RU: "колонка «{header}» не распознана и пропущена",
        Language.EN: "column '{header}' is not recognised and was skipped",
    },
    IssueCode.DUPLICATE_COLUMN: {
        Language.UK: "другу колонку типу «{kind}» («{header}») пропущено, використано «{used}»",
        Language.RU: "вторая колонка типа «{kind}» («{header}») пропущена, использована «{used}»",
        Language.EN: "a second {kind} column ('{header}') was skipped; '{used}' is used",
    },
}

_LABELS: dict[str, dict[Language, str]] = {
    "title": {Language.UK: "Перевірка файлу", Language.RU: "Проверка файла", Language.EN: "Check of"},
    "sheet": {Language.UK: "аркуш", Language.RU: "лист", Language.EN: "sheet"},
    "counts": {
        Language.UK: "записів: {entries}, помилок: {errors}, попереджень: {warnings}",
        Language.RU: "записей: {entries}, ошибок: {errors}, предупреждений: {warnings}",
        Language.EN: "entries: {entries}, errors: {errors}, warnings: {warnings}",
    },
    "columns": {Language.UK: "Колонки", Language.RU: "Колонки", Language.EN: "Columns"},
    "errors": {
        Language.UK: "ПОМИЛКИ (база знань не оновлена, поки їх не виправлено):",
        Language.RU: "ОШИБКИ (база знаний не обновлена, пока их не исправить):",
        Language.EN: "ERRORS (the knowledge base is not updated until they are fixed):",
    },
    "warnings": {
        Language.UK: "ПОПЕРЕДЖЕННЯ (база працює, але варто переглянути):",
        Language.RU: "ПРЕДУПРЕЖДЕНИЯ (база работает, но стоит проверить):",
        Language.EN: "WARNINGS (the knowledge base works, but have a look):",
    },
    "row": {Language.UK: "рядок", Language.RU: "строка", Language.EN: "row"},
    "column": {Language.UK: "колонка", Language.RU: "колонка", Language.EN: "column"},
    "file": {Language.UK: "файл", Language.RU: "файл", Language.EN: "file"},
    "ok": {
        Language.UK: "Помилок немає.",
        Language.RU: "Ошибок нет.",
        Language.EN: "No errors.",
    },
    "activated": {
        Language.UK: "Результат: базу знань оновлено, активна версія {version}.",
        Language.RU: "Результат: база знаний обновлена, активная версия {version}.",
        Language.EN: "Result: the knowledge base is updated, version {version} is live.",
    },
    "rejected": {
        Language.UK: "Результат: файл не прийнято; працює попередня версія бази ({live}).",
        Language.RU: "Результат: файл не принят; работает предыдущая версия базы ({live}).",
        Language.EN: "Result: the file was not accepted; the previous version ({live}) stays live.",
    },
    "superseded": {
        Language.UK: "Результат: поки файл оброблявся, завантажили новіший (версія {live}); цей файл не активовано.",
        Language.RU: "Результат: пока файл обрабатывался, загрузили более новый (версия {live}); "
        "этот файл не активирован.",
        Language.EN: "Result: a newer upload (version {live}) went live while this one was processed; "
        "this file was not activated.",
    },
    "none": {Language.UK: "немає", Language.RU: "нет", Language.EN: "none"},
}

_KIND_LABELS: dict[str, dict[Language, str]] = {
    "id": {Language.UK: "id", Language.RU: "id", Language.EN: "id"},
    "question": {Language.UK: "питання", Language.RU: "вопрос", Language.EN: "question"},
    "answer": {Language.UK: "відповідь", Language.RU: "ответ", Language.EN: "answer"},
    "alternatives": {Language.UK: "варіанти питання", Language.RU: "варианты вопроса", Language.EN: "alternatives"},
    "keywords": {Language.UK: "ключові слова", Language.RU: "ключевые слова", Language.EN: "keywords"},
    "category": {Language.UK: "категорія", Language.RU: "категория", Language.EN: "category"},
}


class _Params(dict[str, Any]):
    """Message parameters; one missing (a report from an older version) shows as `?`, not a crash."""

    def __missing__(self, key: str) -> str:
        return "?"


def _label(key: str, language: Language, **params: Any) -> str:
    return _LABELS[key][language].format(**params)


def kind_label(kind: str, language: Language) -> str:
    """The client-facing name of a column kind (question, answer, ...)."""
    return _KIND_LABELS.get(kind, {}).get(language, kind)


def preview(text: str, limit: int = 60) -> str:
    """A one-line excerpt of a cell for messages."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Issue(BaseModel):
    """One problem in the upload, located by spreadsheet row (header is row 1) and column header."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    code: IssueCode
    row: int | None = None
    column: str | None = None
    entry_id: str | None = None
    params: dict[str, str | int | float] = Field(default_factory=dict)

    @classmethod
    def of(
        cls,
        code: IssueCode,
        *,
        row: int | None = None,
        column: str | None = None,
        entry_id: str | None = None,
        **params: str | int | float,
    ) -> Issue:
        severity = Severity.WARNING if code in _WARNINGS else Severity.ERROR
        return cls(severity=severity, code=code, row=row, column=column, entry_id=entry_id, params=params)

    def message(self, language: Language = Language.UK) -> str:
        """The problem in words, without its location."""
        params = _Params(self.params)
        if isinstance(params.get("kind"), str):
            params["kind"] = kind_label(str(params["kind"]), language)
        return _MESSAGES[self.code][language].format_map(params)

    def located_message(self, language: Language = Language.UK) -> str:
        """`row 5, column «Відповідь»: ...` — what the summary lists."""
        where = []
        if self.row is not None:
            where.append(f"{_label('row', language)} {self.row}")
        if self.column:
            where.append(f"{_label('column', language)} «{self.column}»")
        prefix = ", ".join(where) if where else _label("file", language)
        return f"{prefix}: {self.message(language)}"


class Activation(BaseModel):
    """What the upload did to the live KB (filled in by ingest, absent for a dry-run check)."""

    status: Literal["activated", "rejected", "superseded"]
    version: int | None = Field(default=None, description="the version this upload created, if any")
    live_version: int | None = Field(default=None, description="the version live after this upload")


class ValidationReport(BaseModel):
    """Everything the client needs to fix their sheet, and what happened to the upload."""

    source: str
    language: Language = Language.UK
    checked_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    sheet: str | None = None
    columns: dict[str, list[str]] = Field(default_factory=dict, description="column kind -> headers used")
    entry_count: int = 0
    issues: list[Issue] = Field(default_factory=list)
    upload_id: str | None = Field(default=None, description="echoes the upload's metadata so `kb upload` can wait")
    activation: Activation | None = None

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """True when nothing blocks activation."""
        return not self.errors

    def to_json_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, each issue with its message in the report's language."""
        data = self.model_dump(mode="json")
        data["ok"] = self.ok
        data["error_count"] = len(self.errors)
        data["warning_count"] = len(self.warnings)
        for issue, dumped in zip(self.issues, data["issues"], strict=True):
            dumped["message"] = issue.message(self.language)
        return data

    def summary(self) -> str:
        """A readable text report for the client, in the bot's language."""
        lang = self.language
        head = f"{_label('title', lang)} {self.source}"
        if self.sheet:
            head += f" ({_label('sheet', lang)} «{self.sheet}»)"
        lines = [
            head,
            _label("counts", lang, entries=self.entry_count, errors=len(self.errors), warnings=len(self.warnings)),
        ]
        if self.columns:
            found = "; ".join(
                f"{kind_label(kind, lang)} — " + ", ".join(f"«{h}»" for h in headers)
                for kind, headers in self.columns.items()
            )
            lines.append(f"{_label('columns', lang)}: {found}")
        for title, issues in (("errors", self.errors), ("warnings", self.warnings)):
            if issues:
                lines += ["", _label(title, lang)]
                lines += [f" • {issue.located_message(lang)}" for issue in issues]
        if not self.errors:
            lines += ["", _label("ok", lang)]
        if self.activation:
            live = self.activation.live_version if self.activation.live_version is not None else _label("none", lang)
            if self.activation.status == "activated":
                lines.append(_label("activated", lang, version=self.activation.version))
            else:
                lines.append(_label(self.activation.status, lang, live=live))
        return "\n".join(lines) + "\n"


# --- checks over parsed entries -------------------------------------------------------------


@dataclass(frozen=True)
class NearDuplicate:
    """Two entries the matcher scores so alike that a customer's message cannot pick one."""

    first_id: str
    second_id: str
    similarity: float


NearDuplicateFinder = Callable[[Sequence[KbEntry]], list[NearDuplicate]]


def matcher_near_duplicates(entries: Sequence[KbEntry]) -> list[NearDuplicate]:
    """Ask the matcher itself which entries it cannot tell apart (the same scoring the bot uses)."""
    from faqbot.kb.matcher import Matcher  # the matcher is heavier than this module; only load it here

    pairs = Matcher(list(entries)).near_duplicates()
    return [_as_near_duplicate(pair) for pair in pairs]


def _as_near_duplicate(pair: Any) -> NearDuplicate:
    if isinstance(pair, NearDuplicate):
        return pair
    if isinstance(pair, tuple):
        first, second, similarity = pair
    else:
        first, second, similarity = pair.first_id, pair.second_id, pair.similarity
    first_id = first.id if isinstance(first, KbEntry) else str(first)
    second_id = second.id if isinstance(second, KbEntry) else str(second)
    return NearDuplicate(first_id, second_id, float(similarity))


_FORMULA = re.compile(
    r"""^(?:
        =                                   # anything a spreadsheet would evaluate
      | [+\-@]\s*[A-Za-z_][\w.]*\s*\(       # +SUM(  -HYPERLINK(  @cmd(
      | [+\-]\s*\$?[A-Za-z]{1,3}\$?\d+\b    # +A1  -$B$2
      | [+\-@][A-Za-z]+\|                    # -cmd|' /C calc'!A0 (DDE)
    )""",
    re.VERBOSE,
)


def looks_like_formula(text: str) -> bool:
    """True for cells a spreadsheet app would run as a formula.

    A leading `-` or `+` is common in real answers (list bullets, "+380 67...", "-10%"), so those
    only count when a function call or cell reference follows.
    """
    return bool(_FORMULA.match(text.lstrip(" ")))


def question_key(text: str) -> str:
    """A question reduced to its letters and digits, to spot the same question written twice."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return " ".join(re.findall(r"\w+", folded))


def validate_entries(
    entries: Sequence[KbEntry],
    *,
    near_duplicates: NearDuplicateFinder | None = matcher_near_duplicates,
    channel_limits: dict[str, int] | None = None,
) -> list[Issue]:
    """Checks that need the whole KB: duplicate ids and questions, ambiguity, answers too long for a channel.

    Cell-level checks (empty cells, lengths, formulas) happen while reading the sheet, where headers are known.
    """
    issues: list[Issue] = []
    issues += _duplicate_ids(entries)
    issues += _duplicate_questions(entries)
    issues += _shared_phrasings(entries)
    issues += _long_answers(entries, channel_limits or CHANNEL_TEXT_LIMITS)
    if near_duplicates is not None and len({e.id for e in entries}) == len(entries) and len(entries) > 1:
        if len(entries) > NEAR_DUPLICATE_MAX_ENTRIES:
            issues.append(
                Issue.of(IssueCode.NEAR_DUPLICATE_CHECK_SKIPPED, count=len(entries), limit=NEAR_DUPLICATE_MAX_ENTRIES)
            )
        else:
            issues += _near_duplicates(entries, near_duplicates)
    return issues


def _duplicate_ids(entries: Sequence[KbEntry]) -> list[Issue]:
    first_row: dict[str, int | None] = {}
    issues = []
    for entry in entries:
        if entry.id in first_row:
            issues.append(
                Issue.of(
                    IssueCode.DUPLICATE_ID,
                    row=entry.row,
                    entry_id=entry.id,
                    id=entry.id,
                    other_row=_row_text(first_row[entry.id]),
                )
            )
        else:
            first_row[entry.id] = entry.row
    return issues


def _duplicate_questions(entries: Sequence[KbEntry]) -> list[Issue]:
    seen: dict[str, KbEntry] = {}
    issues = []
    for entry in entries:
        key = question_key(entry.question)
        other = seen.get(key)
        if other is not None and other.id != entry.id:
            issues.append(
                Issue.of(
                    IssueCode.DUPLICATE_QUESTION,
                    row=entry.row,
                    entry_id=entry.id,
                    other_row=_row_text(other.row),
                    other_id=other.id,
                    question=preview(entry.question),
                )
            )
        elif other is None:
            seen[key] = entry
    return issues


def _shared_phrasings(entries: Sequence[KbEntry]) -> list[Issue]:
    """An alternative phrasing that is also another entry's question or alternative makes the match a coin toss."""
    owner: dict[str, KbEntry] = {}
    for entry in entries:
        owner.setdefault(question_key(entry.question), entry)
    issues = []
    for entry in entries:
        for phrase in entry.alternatives:
            key = question_key(phrase)
            other = owner.get(key)
            if other is not None and other.id != entry.id:
                issues.append(
                    Issue.of(
                        IssueCode.SHARED_PHRASING,
                        row=entry.row,
                        entry_id=entry.id,
                        phrase=preview(phrase),
                        other_id=other.id,
                        other_row=_row_text(other.row),
                    )
                )
            elif other is None:
                owner[key] = entry
    return issues


def _long_answers(entries: Sequence[KbEntry], limits: dict[str, int]) -> list[Issue]:
    issues = []
    for entry in entries:
        length = len(entry.answer)
        too_short_for = [f"{name} ({limit})" for name, limit in limits.items() if length > limit]
        if too_short_for:
            issues.append(
                Issue.of(
                    IssueCode.ANSWER_TOO_LONG,
                    row=entry.row,
                    entry_id=entry.id,
                    length=length,
                    channels=", ".join(too_short_for),
                )
            )
    return issues


def _near_duplicates(entries: Sequence[KbEntry], finder: NearDuplicateFinder) -> list[Issue]:
    by_id = {entry.id: entry for entry in entries}
    issues = []
    for pair in finder(entries):
        first, second = by_id.get(pair.first_id), by_id.get(pair.second_id)
        if first is None or second is None:
            continue
        if (second.row or 0) < (first.row or 0):
            first, second = second, first
        issues.append(
            Issue.of(
                IssueCode.NEAR_DUPLICATE,
                row=second.row,
                entry_id=second.id,
                id=second.id,
                other_id=first.id,
                other_row=_row_text(first.row),
                similarity=round(pair.similarity, 2),
            )
        )
    return issues


def _row_text(row: int | None) -> str | int:
    return row if row is not None else "?"
