"""notify through the local stack: escalations on the real SQS queue → the real handler → a fake Telegram.

The stack's poller delivers the queue to NotifyFunction as Lambda does (partial batch failures,
failed records come back, `maxReceiveCount` receives → DLQ). The fake Telegram on 127.0.0.1 speaks
the Bot API format, refuses bad HTML like Telegram, and can fail a seeded share of calls.
The Resume button goes through the stack's HTTP API (`POST /telegram/<bot_id>` → WebhookFunction).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from faqbot.config import BotConfig, Channel, Language, Platform, TelegramSettings
from faqbot.conversation.store import ConversationStore, EventKind
from faqbot.events import Escalation, EscalationReason
from faqbot.local.stack import LocalStack
from support.fake_telegram import FakeTelegram
from support.managers import drain_dead_letters, enqueue, put_bot, queue_empty, wait_until

pytestmark = pytest.mark.integration

TOKEN = "123456:telegram-test-token"
QUEUE, DLQ = "EscalationsQueue", "EscalationsDlq"
_numbers = itertools.count(1)
SEED = int(os.environ.get("FAQBOT_TEST_SEED", "20240605"))


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN, chats=()) as fake:
        yield fake  # type: ignore[misc]


class Managers:
    """One bot with its own admin chat in the fake Telegram."""

    def __init__(self, stack: LocalStack, telegram: FakeTelegram, *, language: Language = Language.EN) -> None:
        number = next(_numbers)
        self.stack = stack
        self.telegram = telegram
        self.chat_id = -1001000000000 - number
        self.bot_id = f"notify{number}"
        self.webhook_secret = f"tg-webhook-secret-{number}"
        telegram.chats.add(self.chat_id)
        token_param = f"/faqbot/local/bots/{self.bot_id}/telegram-token"
        secret_param = f"/faqbot/local/bots/{self.bot_id}/telegram-webhook-secret"
        self.config = put_bot(
            stack,
            BotConfig(
                bot_id=self.bot_id,
                display_name="Salon <Beauty> & Co",
                language=language,
                telegram=TelegramSettings(
                    chat_id=self.chat_id,
                    bot_token_param=token_param,
                    webhook_secret_param=secret_param,
                    api_base_url=telegram.url,
                ),
            ),
            {token_param: TOKEN, secret_param: self.webhook_secret},
        )
        self.store = ConversationStore(stack.emulator.client("dynamodb"), "ConversationsTable")

    def escalation(self, contact_id: str, **fields: Any) -> Escalation:
        values: dict[str, Any] = {
            "bot_id": self.bot_id,
            "contact_id": contact_id,
            "platform": Platform.MANYCHAT,
            "channel": Channel.INSTAGRAM,
            "name": "Ann",
            "question": "Can I bring my dog?",
            "reason": EscalationReason.NO_ANSWER,
            "chat_url": f"https://app.manychat.com/fb1/chat/{contact_id}",
            **fields,
        }
        return Escalation(**values)

    def messages(self) -> list[Any]:
        return self.telegram.messages_in(self.chat_id)

    def press_resume(self, message: Any, *, secret: str | None = None, chat_id: int | None = None) -> httpx.Response:
        """What Telegram POSTs when a manager presses the message's callback button."""
        button = message.reply_markup["inline_keyboard"][-1][0]
        update = {
            "update_id": 9000 + message.message_id,
            "callback_query": {
                "id": f"cbq-{message.message_id}",
                "from": {"id": 77, "is_bot": False, "first_name": "Olena", "last_name": "<K>", "username": "olena_m"},
                "chat_instance": "-42",
                "data": button["callback_data"],
                "message": {
                    "message_id": message.message_id,
                    "date": 1767225600,
                    "chat": {"id": chat_id or self.chat_id, "type": "supergroup", "title": "Managers"},
                    "text": message.text,
                    "entities": message.entities,
                    "reply_markup": message.reply_markup,
                },
            },
        }
        return httpx.post(
            f"{self.stack.api_url}/telegram/{self.bot_id}",
            content=json.dumps(update),
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": secret or self.webhook_secret,
            },
            timeout=30,
        )


def drained(stack: LocalStack) -> bool:
    return queue_empty(stack, QUEUE)


def test_an_escalation_yields_exactly_one_escaped_message_with_buttons(
    stack: LocalStack, telegram: FakeTelegram
) -> None:
    # given
    managers = Managers(stack, telegram)
    contact_id = "ig<7>&1"
    managers.store.update_contact(managers.bot_id, contact_id, platform=Platform.MANYCHAT, name='Ann "<b>" & Co')
    escalation = managers.escalation(
        contact_id,
        name='Ann "<b>" & Co',
        username="ann_<x>",
        phone="+380671234567",
        question='Is <script>alert("x")</script> & parking free?',
        reason=EscalationReason.ASKED_HUMAN,
        chat_url="https://app.manychat.com/fb1/chat/7?tab=a&b=<c>",
    )

    # when: SQS delivers the record twice
    enqueue(stack, QUEUE, escalation)
    enqueue(stack, QUEUE, escalation)
    wait_until(lambda: managers.messages() and drained(stack), what="the escalations to be handled")

    # then
    [message] = managers.messages()
    assert 'Ann "<b>" & Co · Instagram · @ann_<x> · +380671234567' in message.text
    assert 'Is <script>alert("x")</script> & parking free?' in message.text
    assert "the customer asked for a person" in message.text
    assert "&lt;script&gt;" in message.html and "<script>" not in message.html
    [links, [resume]] = message.reply_markup["inline_keyboard"]
    assert links[0] == {"text": "Open chat", "url": "https://app.manychat.com/fb1/chat/7?tab=a&b=<c>"}
    assert links[1]["text"] == "Transcript"
    assert links[1]["url"].startswith(f"{stack.api_url}/history/")
    assert resume == {"text": "Resume bot", "callback_data": f"r:{contact_id}"}
    page = httpx.get(links[1]["url"], timeout=30)
    assert page.status_code == 200 and "Ann" in page.text


def test_the_resume_button_resumes_the_contact_and_edits_the_message(stack: LocalStack, telegram: FakeTelegram) -> None:
    # given: a paused contact whose escalation reached the admin chat
    managers = Managers(stack, telegram)
    contact_id = "contact-" + "x" * 70  # too long for callback_data: found through the message instead
    managers.store.pause(managers.bot_id, contact_id, until=None, reason="handoff", by="bot")
    enqueue(stack, QUEUE, managers.escalation(contact_id))
    [message] = wait_until(managers.messages, what="the notification")
    assert message.reply_markup["inline_keyboard"][-1][0]["callback_data"] == "r:"

    # when: the wrong secret, then a press from another chat, then the real press
    wrong_secret = managers.press_resume(message, secret="not-the-secret")
    other_chat = managers.press_resume(message, chat_id=-100999)
    still_paused = managers.store.get_contact(managers.bot_id, contact_id)
    pressed = managers.press_resume(message)

    # then
    assert wrong_secret.status_code == 401
    assert other_chat.status_code == 200 and still_paused is not None and still_paused.paused
    assert pressed.status_code == 200
    contact = managers.store.get_contact(managers.bot_id, contact_id)
    assert contact is not None and not contact.paused
    [resumed] = [m for m in managers.store.messages(managers.bot_id, contact_id) if m.kind is EventKind.RESUMED]
    assert resumed.detail == "resumed by Olena <K> (@olena_m) (Telegram)"
    answers = [a for a in telegram.callback_answers if a["callback_query_id"] == f"cbq-{message.message_id}"]
    assert [a["text"] for a in answers] == [
        "This button works only in the bot's admin chat",
        "The bot answers this customer again",
    ]
    edited = telegram.message(managers.chat_id, message.message_id)
    assert edited.text.startswith(message.text)
    assert "✅ Bot resumed by Olena <K> (@olena_m), " in edited.text
    assert [b["text"] for row in edited.reply_markup["inline_keyboard"] for b in row] == ["Open chat", "Transcript"]


def test_permanent_refusals_end_in_the_dead_letter_queue_with_the_reason_logged(
    stack: LocalStack, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    # given: the bot was removed from its admin chat
    managers = Managers(stack, telegram)
    telegram.kicked_from.add(managers.chat_id)
    drain_dead_letters(stack, DLQ)
    escalation = managers.escalation("kicked-1")
    sends_before = _send_attempts(telegram, managers.chat_id)

    # when
    enqueue(stack, QUEUE, escalation)
    [dead] = wait_until(lambda: drain_dead_letters(stack, DLQ), what="the record in the DLQ")

    # then: sent once (not retried maxReceiveCount times), parked with Telegram's reason
    wait_until(lambda: drained(stack), what="the queue to drain")
    assert json.loads(dead["Body"])["event_id"] == escalation.event_id
    reason = dead["MessageAttributes"]["faqbot_failure_reason"]["StringValue"]
    assert "403: Forbidden: bot was kicked from the supergroup chat" in reason
    assert "add the bot to the admin chat again" in reason
    assert _send_attempts(telegram, managers.chat_id) - sends_before == 1
    assert managers.messages() == []
    [logged] = [
        r for r in caplog.records if r.getMessage() == "permanent failure; record goes to the dead-letter queue"
    ]
    assert logged.levelname == "ERROR"
    assert logged.reason == reason


def test_with_30_percent_of_calls_failing_every_escalation_arrives_exactly_once(
    stack: LocalStack, telegram: FakeTelegram
) -> None:
    # given: 24 escalations, 6 of them delivered twice, while 30% of Telegram calls fail (429 or 502)
    managers = Managers(stack, telegram)
    drain_dead_letters(stack, DLQ)
    escalations = [managers.escalation(f"load-{n}", question=f"question {n}") for n in range(24)]
    calls_before = len(telegram.requests)
    telegram.retry_after_seconds = 1
    telegram.fail_randomly(0.3, seed=SEED)
    try:
        # when
        for escalation in [*escalations, *escalations[:6]]:
            enqueue(stack, QUEUE, escalation)
        wait_until(lambda: drained(stack), timeout=120, interval=0.5, what="the queue to drain")
    finally:
        failures = telegram.failure_plan.failures
        telegram.fail_randomly(0.0, seed=0)
        telegram.retry_after_seconds = 2

    # then: nothing lost, nothing duplicated, nothing parked
    texts = [m.text for m in managers.messages()]
    assert sorted(t.split("question ")[1].split("\n")[0] for t in texts) == sorted(str(n) for n in range(24))
    assert drain_dead_letters(stack, DLQ) == []
    assert telegram.errors == []
    calls = len(telegram.requests) - calls_before
    print(
        f"30% failure run: {len(escalations) + 6} records, {calls} Telegram calls, {failures} failed, "
        f"{len(texts)} messages"
    )
    assert failures >= 5


def _send_attempts(telegram: FakeTelegram, chat_id: int) -> int:
    return sum(
        1
        for request in telegram.requests
        if request.path.endswith("/sendMessage") and (request.json() or {}).get("chat_id") == chat_id
    )
