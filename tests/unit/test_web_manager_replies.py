"""A manager's Telegram reply → the website visitor's transcript; replies that lead nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from faqbot.config import BotConfig, Language, Platform, TelegramSettings, WebSettings
from faqbot.conversation.store import ConversationStore, Role
from faqbot.local.handlers import LOCAL_REGION
from faqbot.local.resources import create_tables, plan_resources
from faqbot.telegram.threads import NotificationThreads
from faqbot.telegram.updates import TgUser, parse_update
from faqbot.web.manager_replies import MANAGER_PAUSE_REASON, ManagerReplies, manager_name
from moto import mock_aws
from support.tables import plain_client

CHAT = -100123
VISITOR = "web-" + "v" * 32
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


class RecordingClient:
    """Stands in for `TelegramClient`: records the notes sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, chat_id: int, text: str, **options: Any) -> None:
        self.sent.append({"chat_id": chat_id, "text": text, **options})


class World:
    def __init__(self, table: Any) -> None:
        self.store = ConversationStore(plain_client(table), table.name, clock=lambda: NOW)
        self.threads = NotificationThreads(table)
        self.replies = ManagerReplies(store=self.store, threads=self.threads, clock=lambda: NOW)
        self.client = RecordingClient()
        self.bot = BotConfig(bot_id="shop", language=Language.EN, telegram=TelegramSettings(chat_id=CHAT))

    def reply(
        self, to: int, text: str | None = "Hi!", *, chat: int = CHAT, to_bot: bool = True, bot: Any = None
    ) -> Any:
        message: dict[str, Any] = {
            "message_id": 500 + to,
            "chat": {"id": chat, "type": "supergroup"},
            "from": {"id": 7, "is_bot": False, "first_name": "Olena", "last_name": "Kovalenko"},
            "reply_to_message": {"message_id": to, "chat": {"id": chat}, "from": {"id": 1, "is_bot": to_bot}},
        }
        if text is not None:
            message["text"] = text
        update = parse_update({"update_id": to, "message": message})
        return self.replies.handle(bot or self.bot, update, self.client)  # type: ignore[arg-type]


@pytest.fixture
def world(template: dict[str, Any], aws_env: None, tmp_path: Any) -> Iterator[World]:
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name=LOCAL_REGION)
        create_tables(template, plan_resources(template, template_dir=tmp_path), dynamodb_client=resource.meta.client)
        yield World(resource.Table("ConversationsTable"))


def test_a_reply_to_a_notification_reaches_the_visitor_and_keeps_the_bot_quiet(world: World) -> None:
    # given: the visitor's escalation was notified as message 10
    world.store.update_contact("shop", VISITOR, platform=Platform.WEB)
    world.threads.remember("shop", CHAT, 10, VISITOR)
    # when: a reply to it, then a reply to that reply
    first = world.reply(10, "Hello, I am <Olena>")
    second = world.reply(510, "Still there?", to_bot=False)
    # then
    assert first == second == {"action": "delivered", "contact_id": VISITOR}
    lines = [(m.role, m.text, m.detail) for m in world.store.messages("shop", VISITOR) if m.role is Role.MANAGER]
    assert lines == [(Role.MANAGER, "Hello, I am <Olena>", "Olena"), (Role.MANAGER, "Still there?", "Olena")]
    contact = world.store.get_contact("shop", VISITOR)
    assert contact is not None and contact.paused and contact.paused_reason == MANAGER_PAUSE_REASON
    assert world.client.sent == []


def test_replies_that_lead_nowhere_get_a_short_note_or_are_left_alone(world: World) -> None:
    # given: a messenger contact's notification (11); nothing known about 12
    world.threads.remember("shop", CHAT, 11, "ig-42")
    # when
    results = [
        world.reply(11),  # not a website visitor
        world.reply(12),  # unknown bot message
        world.reply(13, to_bot=False),  # managers talking among themselves
        world.reply(12, chat=-999),  # another chat
    ]
    world.threads.remember("shop", CHAT, 14, VISITOR)
    results.append(world.reply(14, None))  # a sticker
    # then
    assert [r["action"] for r in results] == ["not_web", "unknown_thread", "unknown_thread", "ignored", "not_text"]
    assert [note["text"].split(":")[0].split(" (")[0] for note in world.client.sent] == [
        "This customer is not on the website",
        "No website visitor found for this reply",
        "Only text can be sent to a website visitor.",
    ]
    assert all(note["chat_id"] == CHAT and note["parse_mode"] is None for note in world.client.sent)
    assert world.client.sent[0]["reply_to_message_id"] == 511


def test_a_reply_about_a_forgotten_visitor_is_noted(world: World) -> None:
    # given: the thread is remembered but the visitor's conversation is gone
    world.threads.remember("shop", CHAT, 15, VISITOR)
    # when
    result = world.reply(15)
    # then
    assert result == {"action": "unknown_thread"} and len(world.client.sent) == 1
    assert world.store.messages("shop", VISITOR) == []


def test_a_plain_message_is_not_a_reply() -> None:
    # given
    update = parse_update({"update_id": 1, "message": {"message_id": 1, "chat": {"id": CHAT}, "text": "hi"}})
    replies = ManagerReplies(store=None, threads=None)  # type: ignore[arg-type]
    # then
    assert replies.handle(BotConfig(bot_id="shop"), update, None) is None


@pytest.mark.parametrize(
    ("style", "expected"), [("first_name", "Olena"), ("full_name", "Olena Kovalenko"), ("none", None)]
)
def test_the_manager_is_named_as_the_bot_is_configured(style: str, expected: str | None) -> None:
    # given
    user = TgUser(id=1, first_name="Olena", last_name="Kovalenko", username="olena_k")
    # then
    assert manager_name(user, WebSettings(manager_name=style).manager_name) == expected
