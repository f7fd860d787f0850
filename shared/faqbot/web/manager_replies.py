"""A manager's Telegram reply in the admin chat → a manager message in the website visitor's transcript.

The escalation notification's message id is remembered with its contact (`NotificationThreads`);
a manager answers with Telegram's "Reply" to it, and the widget shows the answer on its next
poll. The manager's own message is remembered too, so a reply to any message of the thread reaches
the same visitor (Telegram delivers replies to other people's messages only when the bot's privacy
mode is off or it is an admin of the chat; replies to the bot's messages always arrive).

Only messages from the bot's configured admin chat count (the webhook secret header is checked
before this). A reply to a notification whose customer is unknown or forgotten, or is not a website
visitor, gets a short note in the chat; replies to other people's messages that lead nowhere are
ordinary chat and are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from faqbot.channels.models import MAX_INBOUND_TEXT_CHARS
from faqbot.channels.web import is_web_contact
from faqbot.config import BotConfig, Language
from faqbot.conversation.store import ConversationStore, Role, StoredMessage
from faqbot.telegram.client import TelegramClient, TelegramError
from faqbot.telegram.threads import NotificationThreads
from faqbot.telegram.updates import TgMessage, TgUpdate, TgUser, is_admin_chat

logger = logging.getLogger(__name__)

MANAGER_PAUSE_REASON = "manager_reply"

_NOTES: dict[Language, dict[str, str]] = {
    Language.UK: {
        "unknown": "Не знайшов відвідувача сайту для цієї відповіді (розмова застаріла або видалена).",
        "not_web": "Цей клієнт пише не з сайту: відповідайте йому в його месенджері (кнопка «Відкрити чат»).",
        "text_only": "Відвідувачу сайту можна надіслати лише текст.",
    },
    Language.RU: {
        "unknown": "Не нашёл посетителя сайта для этого ответа (разговор устарел или удалён).",
        "not_web": "Этот клиент пишет не с сайта: отвечайте ему в его мессенджере (кнопка «Открыть чат»).",
        "text_only": "Посетителю сайта можно отправить только текст.",
    },
    Language.EN: {
        "unknown": "No website visitor found for this reply (the conversation is too old or was deleted).",
        "not_web": "This customer is not on the website: answer them in their messenger (the Open chat button).",
        "text_only": "Only text can be sent to a website visitor.",
    },
}


def manager_name(user: TgUser, style: str) -> str | None:
    """How the visitor sees the manager: first name (default), full name, or no name (None)."""
    if style == "none":
        return None
    if style == "full_name":
        full = " ".join(part for part in (user.first_name, user.last_name) if part).strip()
        return full or None
    return user.first_name.strip() or None


class ManagerReplies:
    def __init__(
        self,
        *,
        store: ConversationStore,
        threads: NotificationThreads,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._threads = threads
        self._clock = clock

    def handle(self, bot: BotConfig, update: TgUpdate, client: TelegramClient | None) -> dict[str, Any] | None:
        """Deliver the update's reply to its visitor; None when the update is not a reply at all."""
        message = update.message
        if message is None or message.reply_to_message is None:
            return None
        sender = message.from_user
        if not is_admin_chat(message.chat.id, bot.telegram.chat_id) or sender is None or sender.is_bot:
            return {"action": "ignored"}
        target = message.reply_to_message
        contact_id = self._threads.contact_for(bot.bot_id, message.chat.id, target.message_id)
        about_bot_message = target.from_user is not None and target.from_user.is_bot
        if contact_id is None or not is_web_contact(contact_id):
            if about_bot_message:
                self._note(client, bot, message, "unknown" if contact_id is None else "not_web")
            return {"action": "unknown_thread" if contact_id is None else "not_web"}
        text = (message.text or "").strip()
        if not text:
            self._note(client, bot, message, "text_only")
            return {"action": "not_text", "contact_id": contact_id}
        contact = self._store.get_contact(bot.bot_id, contact_id)
        if contact is None:
            self._note(client, bot, message, "unknown")
            return {"action": "unknown_thread"}
        now = self._clock()
        retention = bot.transcript_retention_days
        shown = manager_name(sender, bot.web.manager_name)
        self._store.append_message(
            bot.bot_id,
            contact_id,
            StoredMessage(at=now, role=Role.MANAGER, text=text[:MAX_INBOUND_TEXT_CHARS], detail=shown),
            retention_days=retention,
        )
        self._threads.remember(bot.bot_id, message.chat.id, message.message_id, contact_id, retention_days=retention)
        if not contact.is_paused(now):  # a manager is talking: the bot keeps quiet until resumed or timed out
            minutes = bot.pause_timeout_minutes
            until = now + timedelta(minutes=minutes) if minutes else None
            self._store.pause(
                bot.bot_id,
                contact_id,
                until=until,
                reason=MANAGER_PAUSE_REASON,
                by=f"{sender.display_name} (Telegram)",
                retention_days=retention,
            )
        logger.info("manager reply delivered to a website visitor", extra={"bot_id": bot.bot_id})
        return {"action": "delivered", "contact_id": contact_id}

    def _note(self, client: TelegramClient | None, bot: BotConfig, message: TgMessage, key: str) -> None:
        if client is None:
            return
        try:
            client.send_message(
                message.chat.id,
                _NOTES[bot.language][key],
                parse_mode=None,
                reply_to_message_id=message.message_id,
                message_thread_id=message.message_thread_id,
            )
        except TelegramError as exc:
            logger.warning("could not send a note to the admin chat", extra={"bot_id": bot.bot_id, "error": str(exc)})
