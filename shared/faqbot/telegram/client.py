"""The Telegram Bot API over HTTP: the methods faqbot calls and what their errors mean for us.

Every reply is `{"ok": true, "result": ...}` or `{"ok": false, "error_code": N, "description": "...",
"parameters": {...}}`. Errors are mapped to three kinds a caller can act on:

- `TelegramRetryAfter(seconds)`: 429 (flood control); wait `parameters.retry_after` seconds.
- `TelegramTransientError`: 5xx, timeouts, connection failures; retry later.
- `TelegramPermanentError`: 400/401/403/404 (bad chat id, bot removed from the chat, bad token,
  "can't parse entities"); retrying cannot help. A group upgraded to a supergroup gives 400 with
  `parameters.migrate_to_chat_id`, kept on the error so the caller can send there instead.

One quick retry happens here, inside the call, so a blip does not cost a whole queue round trip:
after a 5xx answer (Telegram did not take the request), and after a 429 whose `retry_after` is at
most `max_inline_wait` seconds. Timeouts are not retried here: the message may have been sent.

The bot token is part of the URL path and never appears in an error message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

DEFAULT_BASE_URL = "https://api.telegram.org"
DEFAULT_RETRY_AFTER_SECONDS = 5
MAX_INLINE_WAIT_SECONDS = 1.0  # never sleep longer than this inside a Lambda
RETRY_PAUSE_SECONDS = 0.5


class TelegramError(Exception):
    """A Bot API call failed."""

    def __init__(self, method: str, description: str, *, error_code: int | None = None) -> None:
        super().__init__(f"Telegram {method}: {description}")
        self.method = method
        self.description = description
        self.error_code = error_code


class TelegramRetryAfter(TelegramError):
    """429 Too Many Requests: retry after `seconds`."""

    def __init__(self, method: str, description: str, *, seconds: int) -> None:
        super().__init__(method, description, error_code=429)
        self.seconds = seconds


class TelegramTransientError(TelegramError):
    """5xx, a timeout or a connection failure: the same call may succeed later."""


class TelegramPermanentError(TelegramError):
    """The request itself is refused; `description` is Telegram's reason."""

    def __init__(
        self, method: str, description: str, *, error_code: int | None, migrate_to_chat_id: int | None = None
    ) -> None:
        super().__init__(method, description, error_code=error_code)
        self.migrate_to_chat_id = migrate_to_chat_id


class SentMessage(BaseModel):
    """The part of a sent `Message` we keep."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: int
    chat_id: int


class TelegramClient:
    """One bot's Bot API; takes the httpx client (timeouts, transport) so tests and the outbox swap it."""

    def __init__(
        self,
        http: httpx.Client,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        max_inline_wait: float = MAX_INLINE_WAIT_SECONDS,
        retry_pause: float = RETRY_PAUSE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = http
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._max_inline_wait = max_inline_wait
        self._retry_pause = retry_pause
        self._sleep = sleep

    def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
        message_thread_id: int | None = None,
        parse_mode: str | None = "HTML",
        reply_to_message_id: int | None = None,
    ) -> SentMessage:
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": True}}
        if parse_mode:
            payload["parse_mode"] = parse_mode
        if reply_markup:
            payload["reply_markup"] = reply_markup
        if message_thread_id is not None:
            payload["message_thread_id"] = message_thread_id
        if reply_to_message_id is not None:
            payload["reply_parameters"] = {"message_id": reply_to_message_id, "allow_sending_without_reply": True}
        result = self.call("sendMessage", payload)
        return _sent(result, chat_id)

    def edit_message_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        parse_mode: str | None = None,
        reply_markup: dict[str, Any] | None = None,
    ) -> None:
        """Replace a message's text; editing to the same text is not an error for us."""
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": text,
            "link_preview_options": {"is_disabled": True},
        }
        if entities:
            payload["entities"] = entities
        if parse_mode:
            payload["parse_mode"] = parse_mode
        if reply_markup is not None:
            payload["reply_markup"] = reply_markup
        try:
            self.call("editMessageText", payload)
        except TelegramPermanentError as exc:
            if "message is not modified" not in exc.description:
                raise

    def answer_callback_query(
        self, callback_query_id: str, *, text: str | None = None, show_alert: bool = False
    ) -> None:
        payload: dict[str, Any] = {"callback_query_id": callback_query_id}
        if text:
            payload["text"] = text[:200]  # Telegram's limit for callback answers
        if show_alert:
            payload["show_alert"] = True
        self.call("answerCallbackQuery", payload)

    def get_me(self) -> dict[str, Any]:
        """The bot itself (checks the token)."""
        result = self.call("getMe", {})
        return result if isinstance(result, dict) else {}

    def get_chat(self, chat_id: int) -> dict[str, Any]:
        """The chat (checks the bot is a member and the id is right)."""
        result = self.call("getChat", {"chat_id": chat_id})
        return result if isinstance(result, dict) else {}

    def set_webhook(self, url: str, *, secret_token: str, allowed_updates: list[str]) -> None:
        """Where Telegram POSTs the bot's updates, with `X-Telegram-Bot-Api-Secret-Token: <secret_token>`."""
        self.call("setWebhook", {"url": url, "secret_token": secret_token, "allowed_updates": allowed_updates})

    def get_webhook_info(self) -> dict[str, Any]:
        result = self.call("getWebhookInfo", {})
        return result if isinstance(result, dict) else {}

    def call(self, method: str, payload: dict[str, Any]) -> Any:
        """POST `payload` as JSON to `method`; the `result`, or one of the errors above (after one quick retry)."""
        try:
            return self._call_once(method, payload)
        except TelegramRetryAfter as exc:
            if exc.seconds > self._max_inline_wait:
                raise
            self._sleep(exc.seconds)
        except TelegramTransientError as exc:
            if exc.error_code is None:  # a timeout or connection failure: the request may have arrived
                raise
            self._sleep(self._retry_pause)
        return self._call_once(method, payload)

    def _call_once(self, method: str, payload: dict[str, Any]) -> Any:
        try:
            response = self._http.post(f"{self._base_url}/bot{self._token}/{method}", json=payload)
        except httpx.TimeoutException as exc:
            raise TelegramTransientError(method, f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TelegramTransientError(method, f"connection failed ({type(exc).__name__})") from None
        body = _json(response)
        if response.is_success and body.get("ok") is True:
            return body.get("result")
        raise _error(method, response.status_code, body)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(method: str, status: int, body: dict[str, Any]) -> TelegramError:
    error_code = body.get("error_code")
    code = error_code if isinstance(error_code, int) else status
    description = str(body.get("description") or f"HTTP {status}")
    raw_parameters = body.get("parameters")
    parameters: dict[str, Any] = raw_parameters if isinstance(raw_parameters, dict) else {}
    if code == 429:
        retry_after = parameters.get("retry_after")
        seconds = int(retry_after) if isinstance(retry_after, int | float) else DEFAULT_RETRY_AFTER_SECONDS
        return TelegramRetryAfter(method, description, seconds=max(seconds, 0))
    if code >= 500 or status >= 500 or code == 408:
        return TelegramTransientError(method, description, error_code=code)
    migrate = parameters.get("migrate_to_chat_id")
    return TelegramPermanentError(
        method, description, error_code=code, migrate_to_chat_id=int(migrate) if isinstance(migrate, int) else None
    )


def _sent(result: Any, chat_id: int) -> SentMessage:
    if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
        raise TelegramTransientError("sendMessage", "the reply carried no message id")
    raw_chat = result.get("chat")
    chat: dict[str, Any] = raw_chat if isinstance(raw_chat, dict) else {}
    return SentMessage(message_id=result["message_id"], chat_id=int(chat.get("id") or chat_id))
