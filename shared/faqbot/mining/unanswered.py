"""The weekly unanswered-questions report: what customers asked that the bot handed off, grouped and ranked.

A customer's message "ended in a handoff" when the bot escalated it (no answer in the KB) or when the
customer's reply to "Did you mean…" matched none of the choices (a failed clarification); then the
question is the message that got the choices. Requests for a person ("позовите менеджера") are not
questions and are left out. The messages are grouped exactly like call transcripts (`grouping`), and
each group is checked against the live KB: close to an entry → "add as a phrasing of entry N",
otherwise → "new entry". This is how a client's KB gets better every week.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from faqbot.config import Language, MatchThresholds
from faqbot.conversation.store import (
    ConversationStore,
    EventKind,
    Role,
    StoredMessage,
)
from faqbot.kb.matcher import Decision, Matcher
from faqbot.kb.models import KbEntry
from faqbot.mining.draft import escape_cell
from faqbot.mining.grouping import DEFAULT_THRESHOLD, QuestionGroup, group_questions
from faqbot.mining.questions import QUOTE_CHARS, Question

REPORTED_REASONS = frozenset({"no_answer", "clarify_failed"})

REPORT_HEADERS: dict[Language, tuple[str, ...]] = {
    Language.RU: ("№", "Вопрос", "Варианты вопроса", "Сколько раз", "Что сделать", "Примеры", "Переписка"),
    Language.UK: ("№", "Питання", "Варіанти питання", "Скільки разів", "Що зробити", "Приклади", "Переписка"),
    Language.EN: ("No", "Question", "Question variants", "Times asked", "Action", "Examples", "Conversation"),
}
_NEW_ENTRY = {Language.RU: "новая запись", Language.UK: "новий запис", Language.EN: "new entry"}
_ADD_PHRASING = {
    Language.RU: "добавить как вариант вопроса записи {entry} («{question}»)",
    Language.UK: "додати як варіант питання запису {entry} («{question}»)",
    Language.EN: "add as a phrasing of entry {entry} ('{question}')",
}


@dataclass(frozen=True)
class UnansweredMessage:
    text: str
    contact_id: str
    at: datetime
    reason: str  # "no_answer" | "clarify_failed"


@dataclass(frozen=True)
class ReportRow:
    group: QuestionGroup
    entry: KbEntry | None  # the KB entry this question is a new phrasing of, if any
    score: float  # how close that entry is (matcher score)
    link: str  # one conversation: a signed history link, or how to get one


def unanswered_in(messages: Sequence[StoredMessage], contact_id: str, since: datetime) -> list[UnansweredMessage]:
    """The customer's messages in one transcript that ended in a reported handoff at or after `since`."""
    found: list[UnansweredMessage] = []
    for index, message in enumerate(messages):
        if message.role is not Role.SYSTEM or message.kind is not EventKind.HANDOFF:
            continue
        if message.detail not in REPORTED_REASONS or message.at < since:
            continue
        question = _asked_before(messages[:index], clarify=message.detail == "clarify_failed")
        if question is not None:
            found.append(UnansweredMessage(question.text.strip(), contact_id, question.at, str(message.detail)))
    return found


def _asked_before(earlier: Sequence[StoredMessage], *, clarify: bool) -> StoredMessage | None:
    """The customer's question behind a handoff: the last customer message (before the choices, if clarifying)."""
    seen_choices = False
    for message in reversed(earlier):
        if clarify and not seen_choices:
            seen_choices = message.role is Role.BOT and message.decision == Decision.CLARIFY.value
            continue
        if message.role is Role.CUSTOMER and message.text.strip():
            return message
        if message.role is Role.SYSTEM and message.kind is EventKind.HANDOFF:
            return None
    return None


def link_command(bot_id: str, contact_id: str) -> str:
    """What a report shows instead of a transcript link it could not sign: the command that makes one."""
    return f"faqbot history link {bot_id} {contact_id}"


def load_unanswered(store: ConversationStore, bot_id: str, since: datetime) -> list[UnansweredMessage]:
    """Every reported handoff of `bot_id` since `since`: the transcripts of the contacts seen since then."""
    found: list[UnansweredMessage] = []
    for contact_id in store.contacts_seen_since(bot_id, since):
        found.extend(unanswered_in(store.messages(bot_id, contact_id), contact_id, since))
    return found


def build_report(
    messages: Iterable[UnansweredMessage],
    entries: Sequence[KbEntry],
    *,
    thresholds: MatchThresholds | None = None,
    link: Callable[[str], str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[ReportRow]:
    """Group the unanswered messages and say, for each group, whether it belongs to an existing entry."""
    thresholds = thresholds or MatchThresholds()
    questions = [
        Question(text=m.text, call=m.contact_id, quote=_quote(m.text), source=m.reason) for m in messages if m.text
    ]
    groups = group_questions(questions, threshold=threshold)
    matcher = Matcher(entries, thresholds) if entries else None
    rows = []
    for group in groups:
        entry, score = _closest_entry(matcher, group, thresholds) if matcher else (None, 0.0)
        contact = group.members[0].call
        rows.append(ReportRow(group, entry, score, link(contact) if link else contact))
    return rows


def _closest_entry(
    matcher: Matcher, group: QuestionGroup, thresholds: MatchThresholds
) -> tuple[KbEntry | None, float]:
    """The entry most of the group's phrasings come close to (score ≥ the clarify threshold), if any."""
    votes: dict[str, tuple[int, float, KbEntry]] = {}
    for member in group.members:
        ranked = matcher.rank(member.text, limit=1)
        if ranked and ranked[0].score >= max(thresholds.clarify_min_score, thresholds.answer_min_score / 2):
            count, best, entry = votes.get(ranked[0].entry.id, (0, 0.0, ranked[0].entry))
            votes[ranked[0].entry.id] = (count + 1, max(best, ranked[0].score), entry)
    if not votes:
        return None, 0.0
    count, score, entry = max(votes.values(), key=lambda vote: (vote[0], vote[1]))
    return entry, score


def action_text(row: ReportRow, language: Language) -> str:
    if row.entry is None:
        return _NEW_ENTRY[language]
    number = row.entry.row - 1 if row.entry.row else row.entry.id
    return _ADD_PHRASING[language].format(entry=number, question=row.entry.question)


def report_rows(rows: Sequence[ReportRow], language: Language) -> list[list[Any]]:
    table: list[list[Any]] = []
    for number, row in enumerate(rows, start=1):
        examples = "\n".join(f"«{m.quote}» — {m.call}" for m in row.group.examples())
        table.append(
            [
                number,
                escape_cell(row.group.question),
                escape_cell("\n".join(row.group.variants())),
                row.group.calls,
                escape_cell(action_text(row, language)),
                escape_cell(examples),
                escape_cell(row.link),
            ]
        )
    return table


def report_bytes(rows: Sequence[ReportRow], filename: str, language: Language = Language.RU) -> bytes:
    """The report as XLSX or CSV, by the file name's suffix."""
    headers = REPORT_HEADERS[language]
    body = report_rows(rows, language)
    if PurePosixPath(filename).suffix.casefold() == ".csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(headers)
        writer.writerows(body)
        return text.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Unanswered"
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in body:
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for column, width in zip("ABCDEFG", (5, 45, 45, 12, 45, 70, 50), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def report_key(bot_id: str, now: datetime) -> str:
    """Where the scheduled run puts the report: `reports/<bot_id>/unanswered-<date>.xlsx`."""
    return f"reports/{bot_id}/unanswered-{now.date().isoformat()}.xlsx"


def parse_since(text: str, now: datetime) -> datetime:
    """`7d`, `12h`, `2w` → that long before `now`."""
    units = {"h": "hours", "d": "days", "w": "weeks"}
    text = text.strip().casefold()
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise ValueError(f"{text!r}: expected a duration like 7d, 12h or 2w")
    return now - timedelta(**{units[text[-1]]: int(text[:-1])})


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"
