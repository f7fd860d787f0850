"""`POST /telegram/<bot_id>`: what the managers do in the admin chat, here the "Resume bot" button.

The webhook function does HTTP; this does the rest: check Telegram's secret token header, parse
the update, act only on presses in the bot's admin chat, resume the contact
(`ConversationStore.resume`, which writes "resumed by …" into the transcript), answer the
callback (the button stops spinning) and edit the notification to say who resumed and when.
Telegram calls that fail after the resume are logged, not retried: the resume itself is done and
a redelivered update would find the contact already resumed.
A manager's Telegram reply to a website visitor's notification is delivered by `faqbot.web.manager_replies`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from faqbot import aws
from faqbot.bots.auth import SecretUnavailable, Unauthorized
from faqbot.bots.registry import BotRegistry
from faqbot.config import BotConfig
from faqbot.conversation.store import ConversationStore
from faqbot.history.transcript import bot_time_zone
from faqbot.notify.telegram_bots import MissingTelegramSetup, TelegramBots
from faqbot.secrets import SecretNotFound, SecretStore
from faqbot.settings import WebhookSettings
from faqbot.telegram.client import TelegramClient, TelegramError
from faqbot.telegram.messages import resumed_note, utf16_length
from faqbot.telegram.threads import NotificationThreads
from faqbot.telegram.updates import ResumePress, TgMessage, TgUpdate, parse_update, resume_press, verify_secret_token
from faqbot.web.manager_replies import ManagerReplies

logger = logging.getLogger(__name__)

_ANSWERS: dict[str, dict[str, str]] = {
    "uk": {
        "resumed": "Бот знову відповідає цьому клієнту",
        "already": "Бот уже відповідає цьому клієнту",
        "unknown": "Не знайшов клієнта цього повідомлення (воно застаріле?)",
        "forbidden": "Ця кнопка працює лише в чаті менеджерів бота",
    },
    "ru": {
        "resumed": "Бот снова отвечает этому клиенту",
        "already": "Бот уже отвечает этому клиенту",
        "unknown": "Не нашёл клиента этого сообщения (оно устарело?)",
        "forbidden": "Эта кнопка работает только в чате менеджеров бота",
    },
    "en": {
        "resumed": "The bot answers this customer again",
        "already": "The bot is already answering this customer",
        "unknown": "No customer found for this message (is it too old?)",
        "forbidden": "This button works only in the bot's admin chat",
    },
}


class AdminChat:
    def __init__(
        self,
        *,
        registry: BotRegistry,
        secrets: SecretStore,
        store: ConversationStore,
        threads: NotificationThreads,
        telegram: TelegramBots,
        replies: ManagerReplies | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._replies = replies  # managers' replies to website visitors (None: not handled)
        self._registry = registry
        self._secrets = secrets
        self._store = store
        self._threads = threads
        self._telegram = telegram
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: WebhookSettings) -> AdminChat:
        dynamodb = aws.dynamodb()
        secrets = SecretStore()
        conversations = dynamodb.Table(settings.conversations_table_name)
        store = ConversationStore(aws.client("dynamodb"), settings.conversations_table_name)
        return cls(
            registry=BotRegistry(dynamodb.Table(settings.kb_table_name)),
            secrets=secrets,
            store=store,
            threads=NotificationThreads(conversations),
            telegram=TelegramBots(secrets, outbox_mode=settings.outbox, timeout=3.0),
            replies=ManagerReplies(store=store, threads=NotificationThreads(conversations)),
        )

    def authenticate(self, bot_id: str, headers: Mapping[str, Any]) -> BotConfig:
        """The bot, if the request carries its Telegram webhook secret (`UnknownBot`, `Unauthorized` otherwise)."""
        bot = self._registry.get(bot_id)
        name = bot.telegram.webhook_secret_param
        if not name:
            raise Unauthorized("this bot takes no Telegram updates: telegram.webhook_secret_param is not set")
        try:
            expected = self._secrets.get(name)
        except SecretNotFound as exc:
            raise SecretUnavailable(f"cannot read the bot's Telegram webhook secret {name}") from exc
        verify_secret_token(headers, expected)
        return bot

    def handle_update(self, bot: BotConfig, body: Any) -> dict[str, Any]:
        """Act on one update of an authenticated bot; what was done, for the log and the tests."""
        update = parse_update(body)
        press = resume_press(update, admin_chat_id=bot.telegram.chat_id)
        if press is None:
            replied = self._manager_reply(bot, update)
            return {"update_id": update.update_id, **(replied or {"action": "ignored"})}
        return {"update_id": update.update_id, **self._resume(bot, press)}

    def _resume(self, bot: BotConfig, press: ResumePress) -> dict[str, Any]:
        answers = _ANSWERS.get(bot.language.value, _ANSWERS["en"])
        try:
            client: TelegramClient | None = self._telegram.client(bot)
        except (MissingTelegramSetup, SecretNotFound):
            logger.exception("cannot answer in Telegram", extra={"bot_id": bot.bot_id})
            client = None
        if not press.allowed:
            logger.warning(
                "Resume pressed outside the admin chat; ignored",
                extra={"bot_id": bot.bot_id, "chat_id": press.message.chat.id if press.message else None},
            )
            self._answer(client, press, answers["forbidden"])
            return {"action": "forbidden"}
        contact_id = press.contact_id or self._contact_from_message(bot, press.message)
        if contact_id is None:
            self._answer(client, press, answers["unknown"])
            return {"action": "unknown_contact"}
        by = f"{press.manager.display_name} (Telegram)"
        resumed = self._store.resume(bot.bot_id, contact_id, by=by, retention_days=bot.transcript_retention_days)
        logger.info("Resume pressed", extra={"bot_id": bot.bot_id, "resumed": resumed})
        if not resumed:
            self._answer(client, press, answers["already"])
            return {"action": "already_active", "contact_id": contact_id}
        self._answer(client, press, answers["resumed"])
        if client is not None and press.message is not None and press.message.text:
            self._mark_resumed(client, bot, press.message, by=press.manager.display_name)
        return {"action": "resumed", "contact_id": contact_id}

    def _manager_reply(self, bot: BotConfig, update: TgUpdate) -> dict[str, Any] | None:
        """A manager's reply to a notification goes to the website visitor it is about (`ManagerReplies`)."""
        if self._replies is None or update.message is None or update.message.reply_to_message is None:
            return None
        try:
            client: TelegramClient | None = self._telegram.client(bot)
        except (MissingTelegramSetup, SecretNotFound):
            logger.exception("cannot answer in Telegram", extra={"bot_id": bot.bot_id})
            client = None
        return self._replies.handle(bot, update, client)

    def _contact_from_message(self, bot: BotConfig, message: TgMessage | None) -> str | None:
        if message is None:
            return None
        return self._threads.contact_for(bot.bot_id, message.chat.id, message.message_id)

    def _answer(self, client: TelegramClient | None, press: ResumePress, text: str) -> None:
        if client is None:
            return
        try:
            client.answer_callback_query(press.callback_query_id, text=text)
        except TelegramError as exc:
            logger.warning("could not answer the callback query", extra={"error": str(exc)})

    def _mark_resumed(self, client: TelegramClient, bot: BotConfig, message: TgMessage, *, by: str) -> None:
        """Append "resumed by …, when" to the notification, keep its formatting and links, drop the button."""
        text = message.text or ""
        note = resumed_note(bot.language, by=by, at=self._clock().astimezone(bot_time_zone(bot)))
        separator = "\n\n"
        entities = [
            *message.entities,
            {"type": "italic", "offset": utf16_length(text + separator), "length": utf16_length(note)},
        ]
        try:
            client.edit_message_text(
                message.chat.id,
                message.message_id,
                text + separator + note,
                entities=entities,
                reply_markup=_without_callback_buttons(message.reply_markup),
            )
        except TelegramError as exc:
            logger.warning("could not edit the notification", extra={"bot_id": bot.bot_id, "error": str(exc)})


def _without_callback_buttons(markup: dict[str, Any] | None) -> dict[str, Any]:
    """The notification's URL buttons (chat, transcript) stay; the Resume button has done its job."""
    rows = (markup or {}).get("inline_keyboard") or []
    kept = [[button for button in row if "url" in button] for row in rows if isinstance(row, list)]
    return {"inline_keyboard": [row for row in kept if row]}
