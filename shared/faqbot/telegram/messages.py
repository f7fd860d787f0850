"""The escalation notification in the managers' Telegram chat, rendered for the Bot API.

HTML parse mode: every value that comes from a customer or a platform goes through
`html.escape(..., quote=True)`, so `<`, `>`, `&` and quotes can never break the markup (a bad
parse is a 400 from Telegram and a lost notification). Telegram allows 4096 characters after
entity parsing; the message is kept under `MESSAGE_BUDGET`, leaving room for the "resumed by"
line the Resume button adds later. Only the quoted customer message is ever shortened: the
who/why lines are capped field by field and the links are never cut.

Labels follow the bot's language (the managers of a Ukrainian shop read Ukrainian).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from faqbot.config import Channel, Language
from faqbot.events import Escalation, EscalationReason
from faqbot.telegram.callbacks import resume_callback_data

MAX_MESSAGE_CHARS = 4096
RESUMED_NOTE_RESERVE = 196  # room for "\n\n✅ <resumed by …, when>" added on Resume
MESSAGE_BUDGET = MAX_MESSAGE_CHARS - RESUMED_NOTE_RESERVE
MAX_FIELD_CHARS = 120  # a name or username longer than this is cut (they are ours to shorten, the message is not)
ELLIPSIS = "…"

_TAG = re.compile(r"<[^>]*>")
_BUTTON_SCHEMES = {"http", "https", "tg"}

_LABELS: dict[Language, dict[str, str]] = {
    Language.UK: {
        "title": "Потрібен менеджер",
        "who": "Хто",
        "why": "Чому",
        "message": "Повідомлення",
        "open_chat": "Відкрити чат",
        "transcript": "Історія",
        "resume": "Повернути бота",
        "resumed": "Бота повернуто: {by}, {at}",
        "no_message": "(без тексту)",
        "unknown": "клієнт",
        EscalationReason.NO_ANSWER: "бот не знайшов відповіді",
        EscalationReason.ASKED_HUMAN: "клієнт попросив менеджера",
        EscalationReason.CLARIFY_FAILED: "клієнт не обрав жоден із запропонованих варіантів",
    },
    Language.RU: {
        "title": "Нужен менеджер",
        "who": "Кто",
        "why": "Почему",
        "message": "Сообщение",
        "open_chat": "Открыть чат",
        "transcript": "История",
        "resume": "Вернуть бота",
        "resumed": "Бот возвращён: {by}, {at}",
        "no_message": "(без текста)",
        "unknown": "клиент",
        EscalationReason.NO_ANSWER: "бот не нашёл ответа",
        EscalationReason.ASKED_HUMAN: "клиент попросил менеджера",
        EscalationReason.CLARIFY_FAILED: "клиент не выбрал ни один из предложенных вариантов",
    },
    Language.EN: {
        "title": "Manager needed",
        "who": "Who",
        "why": "Why",
        "message": "Message",
        "open_chat": "Open chat",
        "transcript": "Transcript",
        "resume": "Resume bot",
        "resumed": "Bot resumed by {by}, {at}",
        "no_message": "(no text)",
        "unknown": "customer",
        EscalationReason.NO_ANSWER: "no answer in the knowledge base",
        EscalationReason.ASKED_HUMAN: "the customer asked for a person",
        EscalationReason.CLARIFY_FAILED: "the customer picked none of the offered choices",
    },
}
# How managers see a channel, in a notification and in a CRM lead's name.
CHANNEL_NAMES = {
    Channel.INSTAGRAM: "Instagram",
    Channel.WHATSAPP: "WhatsApp",
    Channel.TELEGRAM: "Telegram",
    Channel.MESSENGER: "Messenger",
    Channel.VIBER: "Viber",
    Channel.TIKTOK: "TikTok",
    Channel.WEB: "Website",
}


@dataclass(frozen=True)
class TelegramMessage:
    """`text` (HTML parse mode) and `reply_markup` for sendMessage."""

    text: str
    reply_markup: dict[str, Any] | None


def labels(language: Language | str) -> dict[str, str]:
    lang = Language(language) if language in Language._value2member_map_ else Language.UK
    return _LABELS[lang]


def visible_length(html_text: str) -> int:
    """Length as Telegram counts it: after entity parsing, in UTF-16 code units."""
    return utf16_length(html.unescape(_TAG.sub("", html_text)))


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def button_url(url: str | None) -> str | None:
    """The URL if Telegram accepts it on a button (http, https or tg), else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in _BUTTON_SCHEMES or (parts.scheme.lower() != "tg" and not parts.netloc):
        return None
    return url.strip()


def render_escalation(
    escalation: Escalation,
    *,
    language: Language | str,
    bot_name: str | None = None,
    transcript_url: str | None = None,
    budget: int = MESSAGE_BUDGET,
) -> TelegramMessage:
    """The notification for one escalation: who, why, the customer's message, links and buttons."""
    words = labels(language)
    chat_url = button_url(escalation.chat_url)
    transcript = button_url(transcript_url)

    def text_with(question: str) -> str:
        return _text(escalation, words, bot_name=bot_name, question=question, chat_url=chat_url, transcript=transcript)

    question = escalation.question.strip() or words["no_message"]
    text = text_with(question)
    if visible_length(text) > budget:
        text = text_with(_longest_fitting(question, lambda q: visible_length(text_with(q)) <= budget))
    return TelegramMessage(
        text=text,
        reply_markup=_keyboard(words, contact_id=escalation.contact_id, chat_url=chat_url, transcript=transcript),
    )


def resumed_note(language: Language | str, *, by: str, at: datetime) -> str:
    """Plain text appended to the notification when a manager presses Resume."""
    note = labels(language)["resumed"].format(by=_cap(by, 60), at=at.strftime("%d.%m.%Y %H:%M"))
    return f"✅ {note}"


def _text(
    escalation: Escalation,
    words: dict[str, str],
    *,
    bot_name: str | None,
    question: str,
    chat_url: str | None,
    transcript: str | None,
) -> str:
    title = f"🔔 <b>{_e(words['title'])}</b>"
    if bot_name:
        title += f" · {_e(_cap(bot_name))}"
    lines = [
        title,
        f"<b>{_e(words['why'])}:</b> {_e(words.get(escalation.reason, escalation.reason.value))}",
        f"<b>{_e(words['who'])}:</b> {_who(escalation, words)}",
        f"<b>{_e(words['message'])}:</b>",
        f"<blockquote>{_e(question)}</blockquote>",
    ]
    links = [
        f'<a href="{_e(url)}">{_e(words[label])}</a>'
        for label, url in (("open_chat", chat_url), ("transcript", transcript))
        if url
    ]
    if links:
        lines.append(" · ".join(links))
    return "\n".join(lines)


def _who(escalation: Escalation, words: dict[str, str]) -> str:
    parts = [escalation.name or words["unknown"]]
    channel = CHANNEL_NAMES.get(escalation.channel)
    if channel:
        parts.append(channel)
    if escalation.username:
        username = escalation.username.strip()
        parts.append(username if username.startswith("@") else f"@{username}")
    parts.extend(value for value in (escalation.phone, escalation.email) if value)
    return " · ".join(_e(_cap(part)) for part in parts)


def _keyboard(
    words: dict[str, str], *, contact_id: str, chat_url: str | None, transcript: str | None
) -> dict[str, Any]:
    links = [
        {"text": words[label], "url": url}
        for label, url in (("open_chat", chat_url), ("transcript", transcript))
        if url
    ]
    rows: list[list[dict[str, str]]] = [links] if links else []
    rows.append([{"text": words["resume"], "callback_data": resume_callback_data(contact_id)}])
    return {"inline_keyboard": rows}


def _longest_fitting(question: str, fits: Callable[[str], bool]) -> str:
    """The longest `question[:n] + "…"` that `fits` (binary search: rendering is cheap, messages are short)."""
    low, high = 0, len(question)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(question[:middle].rstrip() + ELLIPSIS):
            low = middle
        else:
            high = middle - 1
    return question[:low].rstrip() + ELLIPSIS


def _cap(value: str, limit: int = MAX_FIELD_CHARS) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + ELLIPSIS


def _e(value: str) -> str:
    return html.escape(value, quote=True)
