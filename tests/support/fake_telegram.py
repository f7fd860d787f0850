"""A fake Telegram Bot API speaking the documented format (core.telegram.org/bots/api).

`POST /bot<token>/<method>` with a JSON body; answers `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`. It is strict where
Telegram is: HTML parse mode must use supported tags and escape every bare `<`, `>`, `&` ("can't
parse entities"), text ≤ 4096 characters after parsing, `callback_data` 1-64 bytes, button URLs
http(s)/tg. Unknown token → 401, unknown chat → 400 "chat not found", a chat the bot was
removed from → 403, a migrated group → 400 with `migrate_to_chat_id`.
"""

from __future__ import annotations

import html
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

from support.fake_http import FakeHttpServer, FakeRequest, FakeResponse

MAX_TEXT = 4096
_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "blockquote", "tg-spoiler"}
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_TAG = re.compile(r"<(/?)([a-z-]+)((?:\s+[a-z-]+=\"[^\"<]*\")*)\s*>")


class ParseError(ValueError):
    pass


def parse_html(text: str) -> str:
    """The visible text of a message in HTML parse mode, or `ParseError` as Telegram would refuse it."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            match = _TAG.match(text, i)
            if not match or match.group(2) not in _TAGS:
                raise ParseError(f"Unsupported start tag at byte offset {i}")
            closing, name, attributes = match.groups()
            if closing:
                if not stack or stack.pop() != name:
                    raise ParseError(f"Unmatched end tag at byte offset {i}, expected \"</{name}>\"")
            else:
                if name == "a" and not re.fullmatch(r"\s+href=\"[^\"<]*\"", attributes or ""):
                    raise ParseError("Can't find end of a href attribute")
                for value in re.findall(r"=\"([^\"]*)\"", attributes or ""):
                    _check_entities(value, i)
                stack.append(name)
            i = match.end()
        elif char == "&":
            match = _ENTITY.match(text, i)
            if not match:
                raise ParseError(f"Character entity expected at byte offset {i}")
            out.append(html.unescape(match.group(0)))
            i = match.end()
        elif char == ">":
            raise ParseError(f"Unexpected end tag at byte offset {i}")
        else:
            out.append(char)
            i += 1
    if stack:
        raise ParseError(f"Can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)


def _check_entities(value: str, offset: int) -> None:
    for position, char in enumerate(value):
        if char == "&" and not _ENTITY.match(value, position):
            raise ParseError(f"Character entity expected at byte offset {offset}")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class SentMessage:
    message_id: int
    chat_id: int
    text: str  # visible text
    html: str | None
    reply_markup: dict[str, Any] | None
    message_thread_id: int | None
    entities: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)


class FakeTelegram(FakeHttpServer):
    def __init__(self, token: str, *, chats: tuple[int, ...]) -> None:
        super().__init__()
        self.token = token
        self.chats = set(chats)
        self.kicked_from: set[int] = set()
        self.migrated: dict[int, int] = {}  # group id → supergroup id
        self.messages: list[SentMessage] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.retry_after_seconds = 2
        self.webhook: dict[str, Any] = {}  # the last setWebhook body
        self._ids = itertools.count(100)

    # ---- what the tests look at ------------------------------------------------------------------------

    def messages_in(self, chat_id: int) -> list[SentMessage]:
        with self.lock:
            return [m for m in self.messages if m.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        with self.lock:
            return next(m for m in self.messages if m.chat_id == chat_id and m.message_id == message_id)

    # ---- the API -------------------------------------------------------------------------------------------

    def transient_failure(self, request: FakeRequest) -> FakeResponse:
        if self.failure_plan.pick(["429", "5xx"]) == "429":
            return self._fail(
                429,
                f"Too Many Requests: retry after {self.retry_after_seconds}",
                parameters={"retry_after": self.retry_after_seconds},
            )
        return self._fail(502, "Bad Gateway")

    def handle(self, request: FakeRequest) -> FakeResponse:
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", request.path)
        if request.method != "POST" or not match:
            return self._fail(404, "Not Found")
        token, method = match.groups()
        if token != self.token:
            return self._fail(401, "Unauthorized")
        body = request.json() or {}
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._fail(404, "Not Found: method not found")
        return handler(body)  # type: ignore[no-any-return]

    def _m_getMe(self, body: dict[str, Any]) -> FakeResponse:
        return self._ok({"id": 4242, "is_bot": True, "first_name": "Faq Bot", "username": "faq_test_bot"})

    def _m_setWebhook(self, body: dict[str, Any]) -> FakeResponse:
        url = str(body.get("url") or "")
        if url and not url.startswith("https://"):
            return self._fail(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = body.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            return self._fail(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = dict(body)
        return self._ok(True)

    def _m_getWebhookInfo(self, body: dict[str, Any]) -> FakeResponse:
        info: dict[str, Any] = {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                                "pending_update_count": 0}
        if self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return self._ok(info)

    def _m_getChat(self, body: dict[str, Any]) -> FakeResponse:
        chat_id = body.get("chat_id")
        problem = self._chat_problem(chat_id)
        if problem:
            return problem
        return self._ok({"id": chat_id, "type": "supergroup", "title": "Managers"})

    def _m_sendMessage(self, body: dict[str, Any]) -> FakeResponse:
        chat_id = body.get("chat_id")
        problem = self._chat_problem(chat_id)
        if problem:
            return problem
        text = str(body.get("text") or "")
        visible, error = self._visible(text, body.get("parse_mode"))
        if error:
            return error
        markup_error = self._check_markup(body.get("reply_markup"))
        if markup_error:
            return markup_error
        message = SentMessage(
            message_id=next(self._ids),
            chat_id=int(chat_id),  # type: ignore[arg-type]
            text=visible,
            html=text if body.get("parse_mode") == "HTML" else None,
            reply_markup=body.get("reply_markup"),
            message_thread_id=body.get("message_thread_id"),
        )
        self.messages.append(message)
        return self._ok(self._message_json(message))

    def _m_editMessageText(self, body: dict[str, Any]) -> FakeResponse:
        chat_id, message_id = body.get("chat_id"), body.get("message_id")
        problem = self._chat_problem(chat_id)
        if problem:
            return problem
        try:
            message = self.message(int(chat_id), int(message_id))  # type: ignore[arg-type]
        except (StopIteration, TypeError, ValueError):
            return self._fail(400, "Bad Request: message to edit not found")
        text = str(body.get("text") or "")
        visible, error = self._visible(text, body.get("parse_mode"))
        if error:
            return error
        for entity in body.get("entities") or []:
            if entity["offset"] + entity["length"] > utf16_length(visible):
                return self._fail(400, "Bad Request: entity beyond the end of the text")
        if visible == message.text and body.get("reply_markup") == message.reply_markup:
            return self._fail(400, "Bad Request: message is not modified")
        markup_error = self._check_markup(body.get("reply_markup"))
        if markup_error:
            return markup_error
        message.edits.append(body)
        message.text = visible
        message.entities = list(body.get("entities") or [])
        if "reply_markup" in body:
            message.reply_markup = body["reply_markup"]
        return self._ok(self._message_json(message))

    def _m_answerCallbackQuery(self, body: dict[str, Any]) -> FakeResponse:
        if not body.get("callback_query_id"):
            return self._fail(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.callback_answers.append(body)
        return self._ok(True)

    # ---- helpers -------------------------------------------------------------------------------------------

    def _chat_problem(self, chat_id: Any) -> FakeResponse | None:
        if not isinstance(chat_id, int):
            return self._fail(400, "Bad Request: chat_id is empty")
        if chat_id in self.migrated:
            return self._fail(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                parameters={"migrate_to_chat_id": self.migrated[chat_id]},
            )
        if chat_id in self.kicked_from:
            return self._fail(403, "Forbidden: bot was kicked from the supergroup chat")
        if chat_id not in self.chats:
            return self._fail(400, "Bad Request: chat not found")
        return None

    def _visible(self, text: str, parse_mode: Any) -> tuple[str, FakeResponse | None]:
        if parse_mode == "HTML":
            try:
                visible = parse_html(text)
            except ParseError as exc:
                return "", self._fail(400, f"Bad Request: can't parse entities: {exc}")
        else:
            visible = text
        if not visible.strip():
            return "", self._fail(400, "Bad Request: message text is empty")
        if utf16_length(visible) > MAX_TEXT:
            return "", self._fail(400, "Bad Request: message is too long")
        return visible, None

    def _check_markup(self, markup: Any) -> FakeResponse | None:
        if markup is None:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if "callback_data" in button:
                    size = len(button["callback_data"].encode("utf-8"))
                    if not 1 <= size <= 64:
                        return self._fail(400, "Bad Request: BUTTON_DATA_INVALID")
                elif "url" in button:
                    if not re.match(r"^(https?://[^/\s]+|tg://)", button["url"]):
                        return self._fail(400, "Bad Request: BUTTON_URL_INVALID")
                else:
                    return self._fail(400, "Bad Request: can't find field \"text\"")
        return None

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "supergroup", "title": "Managers"},
            "from": {"id": 4242, "is_bot": True, "first_name": "Faq Bot", "username": "faq_test_bot"},
            "text": message.text,
        }
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _ok(self, result: Any) -> FakeResponse:
        return FakeResponse(200, {"ok": True, "result": result})

    def _fail(self, code: int, description: str, *, parameters: dict[str, Any] | None = None) -> FakeResponse:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return FakeResponse(code, body)
