"""notify's domain: one escalation → one message in the bot's Telegram admin chat.

Exactly once per escalation `event_id`: the send runs under `Once` (the IdempotencyTable), so a
record SQS delivers twice is sent once, and a send that failed is sent again on the retry. The
message id is then remembered with the contact (`NotificationThreads`), so the Resume button and
replies to the notification find the customer.

Failures are classified for the queue (`faqbot.consumer`):
- 429: `RetryLater(retry_after)` (the client already waited once if it was ≤ 1 s). The chat stays
  blocked in this container until then, so the rest of the batch does not hammer it.
- 5xx / timeouts (after the client's one quick retry): `TelegramTransientError` propagates; the
  queue retries with backoff.
- 400/401/403: `PermanentFailure` with Telegram's description and what to fix; the record goes to
  the DLQ. A group upgraded to a supergroup (400 + `migrate_to_chat_id`) is sent to the new id at
  once, and the log says which chat id to configure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from faqbot import aws
from faqbot.bots.registry import BotRegistry, UnknownBot
from faqbot.config import BotConfig
from faqbot.consumer import PermanentFailure, RetryLater
from faqbot.events import Escalation
from faqbot.notify.links import TranscriptLinks
from faqbot.notify.telegram_bots import MissingTelegramSetup, TelegramBots
from faqbot.once import Once
from faqbot.secrets import SecretStore
from faqbot.settings import NotifySettings
from faqbot.telegram.client import MAX_INLINE_WAIT_SECONDS, TelegramClient, TelegramPermanentError, TelegramRetryAfter
from faqbot.telegram.messages import TelegramMessage, render_escalation
from faqbot.telegram.threads import NotificationThreads

logger = logging.getLogger(__name__)

NotifyStatus = Literal["sent", "duplicate", "skipped"]


@dataclass(frozen=True)
class NotifyResult:
    status: NotifyStatus
    chat_id: int | None = None
    message_id: int | None = None


class Notifier:
    def __init__(
        self,
        *,
        registry: BotRegistry,
        telegram: TelegramBots,
        threads: NotificationThreads,
        links: TranscriptLinks,
        once: Once,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._telegram = telegram
        self._threads = threads
        self._links = links
        self._once = once
        self._sleep = sleep
        self._monotonic = monotonic
        self._blocked_until: dict[int, float] = {}  # chat id → monotonic time Telegram lets us send again
        self._migrated: dict[int, int] = {}  # group id → the supergroup it became

    @classmethod
    def from_settings(cls, settings: NotifySettings) -> Notifier:
        dynamodb = aws.dynamodb()
        secrets = SecretStore()
        return cls(
            registry=BotRegistry(dynamodb.Table(settings.kb_table_name)),
            telegram=TelegramBots(secrets, outbox_mode=settings.outbox),
            threads=NotificationThreads(dynamodb.Table(settings.conversations_table_name)),
            links=TranscriptLinks.from_parameter(settings.public_base_url, settings.history_signing_key_param, secrets),
            once=Once.on_table(
                settings.idempotency_table_name,
                key_prefix="faqbot.notify.escalation",
                dynamodb_client=aws.client("dynamodb"),
            ),
        )

    def register_lambda_context(self, context: Any) -> None:
        self._once.register_lambda_context(context)

    def notify_managers(self, escalation: Escalation) -> NotifyResult:
        """Send the escalation to the bot's admin chat (once), and remember which contact the message is about."""
        try:
            bot = self._registry.get(escalation.bot_id)
        except UnknownBot as exc:
            raise PermanentFailure(f"escalation for unknown bot {escalation.bot_id!r}") from exc
        if bot.telegram.chat_id is None:
            logger.info("bot has no Telegram admin chat; escalation not notified", extra={"bot_id": bot.bot_id})
            return NotifyResult(status="skipped")
        try:
            client = self._telegram.client(bot)
        except MissingTelegramSetup as exc:
            raise PermanentFailure(str(exc)) from exc
        message = render_escalation(
            escalation,
            language=bot.language,
            bot_name=bot.display_name,
            transcript_url=self._links.for_contact(bot, escalation.contact_id),
        )
        sent_now = False

        def send() -> dict[str, Any]:
            nonlocal sent_now
            sent = self._send(client, bot, message)
            sent_now = True
            return sent

        sent = self._once.run({"event_id": escalation.event_id, "bot_id": bot.bot_id}, send)
        chat_id, message_id = int(sent["chat_id"]), int(sent["message_id"])
        self._threads.remember(
            bot.bot_id,
            chat_id,
            message_id,
            escalation.contact_id,
            event_id=escalation.event_id,
            retention_days=bot.transcript_retention_days,
        )
        return NotifyResult(status="sent" if sent_now else "duplicate", chat_id=chat_id, message_id=message_id)

    def _send(self, client: TelegramClient, bot: BotConfig, message: TelegramMessage) -> dict[str, Any]:
        assert bot.telegram.chat_id is not None
        chat_id = self._migrated.get(bot.telegram.chat_id, bot.telegram.chat_id)
        migrated = False
        while True:
            self._check_not_blocked(chat_id)
            try:
                sent = client.send_message(
                    chat_id,
                    message.text,
                    reply_markup=message.reply_markup,
                    message_thread_id=bot.telegram.message_thread_id,
                )
                return {"chat_id": sent.chat_id, "message_id": sent.message_id}
            except TelegramRetryAfter as exc:
                self._blocked_until[chat_id] = self._monotonic() + exc.seconds
                raise RetryLater(exc.seconds, f"Telegram flood control in chat {chat_id}: {exc.description}") from exc
            except TelegramPermanentError as exc:
                if exc.migrate_to_chat_id is not None and not migrated:
                    migrated = True
                    chat_id = self._migrate(bot, exc.migrate_to_chat_id)
                    continue
                raise PermanentFailure(refusal_reason(bot, chat_id, exc)) from exc

    def _check_not_blocked(self, chat_id: int) -> None:
        """After a 429 the chat's other records wait (a short wait here, a long one in the queue)."""
        remaining = self._blocked_until.get(chat_id, 0.0) - self._monotonic()
        if remaining > MAX_INLINE_WAIT_SECONDS:
            raise RetryLater(remaining, f"Telegram flood control in chat {chat_id} (waiting)")
        if remaining > 0:
            self._sleep(remaining)

    def _migrate(self, bot: BotConfig, new_chat_id: int) -> int:
        """The group became a supergroup: send to the new id now (and from this container on); a person updates config.

        notify only reads bot configs (it must not be able to rewrite every client's bot), so the
        fix is logged, loudly, on every cold start until telegram.chat_id is changed.
        """
        logger.warning(
            "Telegram admin chat was upgraded to a supergroup: set telegram.chat_id of bot %s to %s",
            bot.bot_id,
            new_chat_id,
            extra={"bot_id": bot.bot_id, "old_chat_id": bot.telegram.chat_id, "new_chat_id": new_chat_id},
        )
        if bot.telegram.chat_id is not None:
            self._migrated[bot.telegram.chat_id] = new_chat_id
        return new_chat_id


def refusal_reason(bot: BotConfig, chat_id: int, exc: TelegramPermanentError) -> str:
    """Telegram's reason and what a person should do about it."""
    description = exc.description
    lowered = description.lower()
    if exc.error_code == 401 or "unauthorized" in lowered:
        hint = "the bot token is wrong or was revoked: store the current @BotFather token"
    elif exc.error_code == 403:
        hint = "the bot cannot post there: add the bot to the admin chat again (and unblock it)"
    elif "chat not found" in lowered:
        hint = "telegram.chat_id is wrong, or the bot was never added to that chat"
    elif "thread not found" in lowered or "topic" in lowered:
        hint = "telegram.message_thread_id names no open topic of the chat"
    else:
        hint = "see Telegram's description"
    return (
        f"Telegram refused the notification of bot {bot.bot_id} to chat {chat_id} "
        f"({exc.error_code}: {description}); {hint}"
    )
