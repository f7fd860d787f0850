"""The website channel through the local stack: widget endpoints → webhook → notify → a fake Telegram → back.

A visitor talks to `/bots/<bot_id>/web/messages` as the widget does (Origin header, visitor id
header, cursors); the escalation goes over the real SQS queue to NotifyFunction and the fake
Telegram; the manager's Telegram reply comes back through `POST /telegram/<bot_id>` and reaches
the visitor's next poll; the Resume button hands the visitor back to the bot.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from faqbot.channels.web import new_visitor_id
from faqbot.config import BotConfig, Language, Platform, TelegramSettings, WebSettings
from faqbot.conversation.store import ConversationStore
from faqbot.local.stack import DEMO_KB_FILE, LocalStack
from support.fake_telegram import FakeTelegram, SentMessage
from support.managers import put_bot, queue_empty, wait_until

pytestmark = pytest.mark.integration

TOKEN = "123456:web-test-token"
SITE = "http://shop.test:8080"
VISITOR_HEADER = "X-Faqbot-Visitor"
_numbers = itertools.count(1)
_updates = itertools.count(70_000)


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN, chats=()) as fake:
        yield fake  # type: ignore[misc]


class Site:
    """A client's website bot (Ukrainian, the demo KB, an admin chat in the fake Telegram) and its visitors' calls."""

    def __init__(self, stack: LocalStack, telegram: FakeTelegram, *, web: WebSettings | None = None) -> None:
        number = next(_numbers)
        self.stack = stack
        self.telegram = telegram
        self.bot_id = f"site{number}"
        self.chat_id = -1002000000000 - number
        self.webhook_secret = f"tg-secret-{number}"
        telegram.chats.add(self.chat_id)
        token_param = f"/faqbot/local/bots/{self.bot_id}/telegram-token"
        secret_param = f"/faqbot/local/bots/{self.bot_id}/telegram-webhook-secret"
        put_bot(
            stack,
            BotConfig(
                bot_id=self.bot_id,
                platform=Platform.WEB,
                language=Language.UK,
                site_origins=[SITE],
                web=web or WebSettings(),
                telegram=TelegramSettings(
                    chat_id=self.chat_id,
                    bot_token_param=token_param,
                    webhook_secret_param=secret_param,
                    api_base_url=telegram.url,
                ),
            ),
            {token_param: TOKEN, secret_param: self.webhook_secret},
        )
        key = stack.upload_kb(self.bot_id, DEMO_KB_FILE)
        stack.wait_for_kb(self.bot_id, key=key)
        self.url = f"{stack.api_url}/bots/{self.bot_id}/web/messages"
        self.store = ConversationStore(stack.emulator.client("dynamodb"), "ConversationsTable")

    def post(self, text: str, *, visitor: str | None = None, after: str | None = None, origin: str = SITE) -> Any:
        headers = {"Origin": origin, **({VISITOR_HEADER: visitor} if visitor else {})}
        body = {"text": text, "message_id": uuid.uuid4().hex, "after": after}
        return httpx.post(self.url, json=body, headers=headers, timeout=30)

    def poll(self, visitor: str, *, after: str | None = None, origin: str = SITE) -> Any:
        params = {"after": after} if after else {}
        return httpx.get(self.url, params=params, headers={"Origin": origin, VISITOR_HEADER: visitor}, timeout=30)

    def admin_messages(self) -> list[SentMessage]:
        return self.telegram.messages_in(self.chat_id)

    def telegram_update(self, update: dict[str, Any], *, secret: str | None = None) -> Any:
        return httpx.post(
            f"{self.stack.api_url}/telegram/{self.bot_id}",
            content=json.dumps({"update_id": next(_updates), **update}),
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": secret or self.webhook_secret,
            },
            timeout=30,
        )

    def manager_reply(self, to_message_id: int, text: str, *, to_bot: bool = True, chat_id: int | None = None) -> Any:
        """What Telegram POSTs when a manager answers a message of the admin chat with "Reply"."""
        chat = {"id": chat_id or self.chat_id, "type": "supergroup", "title": "Managers"}
        author = (
            {"id": 4242, "is_bot": True, "first_name": "Faq Bot"}
            if to_bot
            else {"id": 77, "is_bot": False, "first_name": "Olena"}
        )
        message_id = next(_updates)
        update = {
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": chat,
                "from": {"id": 77, "is_bot": False, "first_name": "Olena", "last_name": "Kovalenko"},
                "text": text,
                "reply_to_message": {
                    "message_id": to_message_id,
                    "date": int(time.time()),
                    "chat": chat,
                    "from": author,
                },
            }
        }
        return message_id, self.telegram_update(update)

    def press_resume(self, message: SentMessage) -> Any:
        button = message.reply_markup["inline_keyboard"][-1][0]  # type: ignore[index]
        return self.telegram_update(
            {
                "callback_query": {
                    "id": f"cbq-{message.message_id}",
                    "from": {"id": 77, "is_bot": False, "first_name": "Olena"},
                    "chat_instance": "-1",
                    "data": button["callback_data"],
                    "message": {
                        "message_id": message.message_id,
                        "date": int(time.time()),
                        "chat": {"id": self.chat_id, "type": "supergroup", "title": "Managers"},
                        "text": message.text,
                        "reply_markup": message.reply_markup,
                    },
                }
            }
        )


def _texts(response: Any, role: str) -> list[str]:
    return [m["text"] for m in response.json()["messages"] if m["role"] == role]


def test_a_visitor_gets_the_kb_answer_a_manager_and_the_bot_back(stack: LocalStack, telegram: FakeTelegram) -> None:
    # given
    site = Site(stack, telegram)

    # when: a first question (no visitor id yet), then a reload's history
    first = site.post("Де знаходиться салон?")
    visitor = first.json()["visitor_id"]
    history = site.poll(visitor)

    # then: the KB answer, readable by the site's page only
    assert first.status_code == 200, first.text
    assert first.headers["access-control-allow-origin"] == SITE and first.headers["vary"] == "Origin"
    assert first.json()["status"] == "answered"
    assert _texts(first, "visitor") == ["Де знаходиться салон?"]
    assert "Городоцька, 25" in _texts(first, "bot")[0]
    assert [m["role"] for m in history.json()["messages"]] == ["visitor", "bot"]
    cursor = first.json()["cursor"]
    assert history.json()["cursor"] == cursor and site.poll(visitor, after=cursor).json()["messages"] == []

    # when: the visitor asks for a person
    handoff = site.post("Покличте менеджера", visitor=visitor, after=cursor)
    cursor = handoff.json()["cursor"]

    # then: told a manager will answer, asked for a phone or e-mail, and exactly one notification
    assert handoff.json()["status"] == "handoff"
    [told] = _texts(handoff, "bot")
    assert "менеджера" in told and "номер телефону або e-mail" in told
    [notification] = wait_until(site.admin_messages, what="the Telegram notification")
    wait_until(lambda: queue_empty(stack, "EscalationsQueue"), what="the escalations queue to drain")
    assert len(site.admin_messages()) == 1
    assert "Website" in notification.text and "Покличте менеджера" in notification.text

    # when: the bot stays quiet while paused; the manager replies, then replies to their own message
    quiet = site.post("Алло?", visitor=visitor, after=cursor)
    cursor = quiet.json()["cursor"]
    manager_message_id, replied = site.manager_reply(notification.message_id, "Вітаю! Я <Олена>, допоможу.")
    _, again = site.manager_reply(manager_message_id, "Ви ще тут?", to_bot=False)
    polled = site.poll(visitor, after=cursor)

    # then: both replies reach the visitor's next poll, named by first name only
    assert quiet.json()["status"] == "paused" and _texts(quiet, "bot") == []
    assert replied.status_code == 200 and again.status_code == 200
    managers = [m for m in polled.json()["messages"] if m["role"] == "manager"]
    assert [(m["text"], m["author"]) for m in managers] == [
        ("Вітаю! Я <Олена>, допоможу.", "Olena"),
        ("Ви ще тут?", "Olena"),
    ]
    cursor = polled.json()["cursor"]

    # when: the manager presses "Resume bot"
    resumed = site.press_resume(notification)
    back = site.post("Який у вас графік роботи?", visitor=visitor, after=cursor)

    # then: the bot answers again
    assert resumed.status_code == 200
    assert back.json()["status"] == "answered" and "9:00" in _texts(back, "bot")[0]


def test_replies_that_lead_nowhere_are_noted_or_ignored(stack: LocalStack, telegram: FakeTelegram) -> None:
    # given
    site = Site(stack, telegram)

    # when: a reply to an unknown bot message, one from another chat, one with the wrong secret
    _, unknown = site.manager_reply(999_999, "Hello?")
    _, elsewhere = site.manager_reply(999_998, "Hello?", chat_id=-100777)
    wrong = site.telegram_update({"message": {"message_id": 1, "chat": {"id": site.chat_id}, "text": "x"}}, secret="no")

    # then: one short note in the admin chat, in the bot's language
    assert unknown.status_code == 200 and elsewhere.status_code == 200
    assert wrong.status_code == 401
    [note] = site.admin_messages()
    assert note.text.startswith("Не знайшов відвідувача сайту")


def test_a_wrong_origin_is_refused_and_preflight_allows_only_the_site(
    stack: LocalStack, telegram: FakeTelegram
) -> None:
    # given
    site = Site(stack, telegram)
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}

    # when
    evil = site.post("Де знаходиться салон?", origin="https://evil.test")
    no_origin = httpx.post(site.url, json={"text": "hi"}, timeout=30)
    good_preflight = httpx.options(site.url, headers={"Origin": SITE, **preflight}, timeout=30)
    evil_preflight = httpx.options(site.url, headers={"Origin": "https://evil.test", **preflight}, timeout=30)
    widget = httpx.get(f"{stack.api_url}/widget/{site.bot_id}.js", timeout=30)

    # then
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    assert no_origin.status_code == 403
    assert good_preflight.status_code == 204
    assert good_preflight.headers["access-control-allow-origin"] == SITE
    assert "x-faqbot-visitor" in good_preflight.headers["access-control-allow-headers"].lower()
    assert good_preflight.headers["access-control-max-age"] == "600"
    assert evil_preflight.status_code == 403 and "access-control-allow-origin" not in evil_preflight.headers
    assert widget.status_code == 200 and widget.headers["content-type"].startswith("application/javascript")
    assert f'"botId":"{site.bot_id}"' in widget.text
    assert httpx.get(f"{stack.api_url}/widget/nosuchbot.js", timeout=30).status_code == 404


def test_the_rate_limit_answers_429_with_retry_after_and_recovers(stack: LocalStack, telegram: FakeTelegram) -> None:
    # given: 2 messages per visitor per 4 s window
    site = Site(stack, telegram, web=WebSettings(messages_per_minute=2, rate_window_seconds=4, max_message_chars=50))
    visitor = site.post("Привіт").json()["visitor_id"]
    first_window = int(time.time() // 4)
    # start at the beginning of a later window, so the burst neither shares nor straddles one
    while int(time.time() // 4) == first_window or time.time() % 4 > 1:
        time.sleep(0.05)

    # when
    burst = [site.post("Де знаходиться салон?", visitor=visitor) for _ in range(3)]
    too_long = site.post("x" * 51, visitor=new_visitor_id())

    # then
    assert [r.status_code for r in burst] == [200, 200, 429]
    refused = burst[-1]
    assert refused.headers["access-control-allow-origin"] == SITE  # the widget can read the wait
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 4
    assert too_long.status_code == 413
    time.sleep(wait)
    assert site.post("Де знаходиться салон?", visitor=visitor).status_code == 200
