"""Telegram webhook updates for a bot's admin chat: who may send them and what they ask for.

`setWebhook(url, secret_token=S)` makes Telegram send `X-Telegram-Bot-Api-Secret-Token: S` with
every update; it is compared in constant time with the secret named by
`TelegramSettings.webhook_secret_param`. An update is acted on only when it comes from the
bot's configured admin chat: anyone can add a bot to another group and press its buttons there.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from faqbot.bots.auth import Unauthorized
from faqbot.telegram.callbacks import CallbackAction, parse_callback_data

SECRET_TOKEN_HEADER = "x-telegram-bot-api-secret-token"


class TgUser(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None

    @property
    def display_name(self) -> str:
        """How the transcript and the edited message name a manager: "Olena Petrenko (@olena)"."""
        name = " ".join(part for part in (self.first_name, self.last_name) if part).strip() or f"id {self.id}"
        return f"{name} (@{self.username})" if self.username else name


class TgChat(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    type: str = ""
    title: str | None = None


class TgMessage(BaseModel):
    """A message; an "inaccessible" one (older than 48 h) has `date` 0 and no text."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: int
    chat: TgChat
    date: int = 0
    message_thread_id: int | None = None
    from_user: TgUser | None = Field(default=None, alias="from")
    text: str | None = None
    entities: list[dict[str, Any]] = Field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    reply_to_message: TgMessage | None = None


class TgCallbackQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    from_user: TgUser = Field(alias="from")
    message: TgMessage | None = None
    data: str | None = None


class TgUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    update_id: int
    message: TgMessage | None = None
    callback_query: TgCallbackQuery | None = None


class ResumePress(BaseModel):
    """A manager pressed "Resume bot" under a notification."""

    model_config = ConfigDict(frozen=True)

    callback_query_id: str
    manager: TgUser
    message: TgMessage | None
    contact_id: str | None = Field(description="from callback_data; None: look it up from the message")
    allowed: bool = Field(description="pressed in the bot's admin chat (anywhere else it must do nothing)")


def verify_secret_token(headers: Mapping[str, Any], expected: str) -> None:
    """Raise `Unauthorized` unless the request carries Telegram's secret token (constant-time compare)."""
    lowered = {str(key).lower(): value for key, value in headers.items()}
    presented = lowered.get(SECRET_TOKEN_HEADER)
    if not isinstance(presented, str) or not presented:
        raise Unauthorized("missing X-Telegram-Bot-Api-Secret-Token")
    if not hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8")):
        raise Unauthorized("wrong X-Telegram-Bot-Api-Secret-Token")


def parse_update(body: Any) -> TgUpdate:
    """A webhook body → the update (raises `pydantic.ValidationError` on something that is not one)."""
    return TgUpdate.model_validate(body)


def is_admin_chat(chat_id: int | None, admin_chat_id: int | None) -> bool:
    return chat_id is not None and admin_chat_id is not None and chat_id == admin_chat_id


def resume_press(update: TgUpdate, *, admin_chat_id: int | None) -> ResumePress | None:
    """The Resume press in this update, if it is one; `allowed` only when it comes from the admin chat."""
    query = update.callback_query
    if query is None:
        return None
    action: CallbackAction | None = parse_callback_data(query.data)
    if action is None:
        return None
    chat_id = query.message.chat.id if query.message is not None else None
    return ResumePress(
        callback_query_id=query.id,
        manager=query.from_user,
        message=query.message,
        contact_id=action.contact_id,
        allowed=is_admin_chat(chat_id, admin_chat_id),
    )
