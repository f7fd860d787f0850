"""`GET /widget/<bot_id>.js`: the chat widget script with the bot's settings and texts built in.

One file, our own plain JS and CSS (`static/widget.js`, `static/widget.css`), no third-party code:
the client's page needs exactly one `<script src=... async>` tag. The settings are injected as
JSON with `<`, `>`, `&` and the JS line separators escaped, so no bot text can end the script.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from faqbot.config import BotConfig, Language

CONTENT_TYPE = "application/javascript; charset=utf-8"
CACHE_SECONDS = 300  # a changed text or colour reaches the sites within minutes
MAX_GZIPPED_BYTES = 30 * 1024
_SCRIPT_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))

_UI_TEXTS: dict[Language, dict[str, str]] = {
    Language.UK: {
        "open": "Відкрити чат",
        "close": "Закрити чат",
        "title": "Чат",
        "placeholder": "Повідомлення…",
        "label": "Ваше повідомлення",
        "send": "Надіслати",
        "you": "Ви",
        "bot": "Бот",
        "manager": "Менеджер",
        "typing": "Пише відповідь…",
        "unread": "Нове повідомлення",
        "error": "Не вдалося надіслати. Спробуйте ще раз.",
        "too_many": "Забагато повідомлень. Спробуйте через {s} с.",
        "too_long": "Повідомлення задовге.",
        "unavailable": "Чат тимчасово недоступний на цьому сайті.",
    },
    Language.RU: {
        "open": "Открыть чат",
        "close": "Закрыть чат",
        "title": "Чат",
        "placeholder": "Сообщение…",
        "label": "Ваше сообщение",
        "send": "Отправить",
        "you": "Вы",
        "bot": "Бот",
        "manager": "Менеджер",
        "typing": "Пишет ответ…",
        "unread": "Новое сообщение",
        "error": "Не удалось отправить. Попробуйте ещё раз.",
        "too_many": "Слишком много сообщений. Попробуйте через {s} с.",
        "too_long": "Сообщение слишком длинное.",
        "unavailable": "Чат временно недоступен на этом сайте.",
    },
    Language.EN: {
        "open": "Open chat",
        "close": "Close chat",
        "title": "Chat",
        "placeholder": "Message…",
        "label": "Your message",
        "send": "Send",
        "you": "You",
        "bot": "Bot",
        "manager": "Manager",
        "typing": "Typing…",
        "unread": "New message",
        "error": "Could not send. Please try again.",
        "too_many": "Too many messages. Try again in {s} s.",
        "too_long": "The message is too long.",
        "unavailable": "The chat is not available on this site right now.",
    },
}


@cache
def _asset(name: str) -> str:
    return files("faqbot.web").joinpath("static", name).read_text(encoding="utf-8")


def widget_config(bot: BotConfig, *, api_base_url: str | None) -> dict[str, Any]:
    """What the script needs to know about the bot (nothing secret: it is public)."""
    texts = {}
    for language in Language:
        ui = dict(_UI_TEXTS[language])
        ui["greeting"] = bot.texts.get("greeting", language)
        if bot.display_name:
            ui["title"] = bot.display_name
            ui["bot"] = bot.display_name
        texts[language.value] = ui
    return {
        "botId": bot.bot_id,
        "api": api_base_url,
        "language": bot.language.value,
        "texts": texts,
        "pollSeconds": bot.web.poll_seconds,
        "maxChars": bot.web.max_message_chars,
        "accent": bot.web.accent_color,
    }


def script_json(value: Any) -> str:
    """JSON safe inside a <script> and a JS string: no `</script>`, no HTML comment, no U+2028/2029."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _SCRIPT_ESCAPES:
        text = text.replace(char, escaped)
    return text


def widget_script(bot: BotConfig, *, api_base_url: str | None = None) -> str:
    """The bot's widget: the script with its config and the stylesheet (for the shadow root) built in."""
    return (
        _asset("widget.js")
        .replace("__FAQBOT_CONFIG__", script_json(widget_config(bot, api_base_url=api_base_url)))
        .replace("__FAQBOT_CSS__", script_json(_asset("widget.css")))
    )


def embed_snippet(api_base_url: str, bot_id: str) -> str:
    """The one line a client puts on their site."""
    return f'<script src="{api_base_url.rstrip("/")}/widget/{bot_id}.js" async></script>'
