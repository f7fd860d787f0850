"""The playground: the webhook's decisions and replies for the owner, with the reasons, and no side effects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from faqbot.bots.registry import BotRegistry
from faqbot.config import BotConfig, Language, Platform
from faqbot.conversation.knowledge import MatcherCache
from faqbot.conversation.store import ConversationStore
from faqbot.history.links import SigningKeys, TokenPurpose, make_token
from faqbot.history.web import create_app
from faqbot.kb.models import KbEntry
from faqbot.kb.spreadsheet import check_spreadsheet
from faqbot.kb.store import KnowledgeBaseStore
from faqbot.kb.sync import SourceState, SourceStateStore
from faqbot.playground.sandbox import Playground, TryRequest
from faqbot.playground.web import playground_routes
from moto import mock_aws
from support.tables import create_pk_sk_table, plain_client

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KEYS = SigningKeys("playground-test-key-0123456789abcdef")
REGION = "eu-central-1"
DEMO_KB = Path(__file__).resolve().parents[2] / "shared" / "faqbot" / "demo" / "demo_kb.csv"


class World:
    """The demo KB live for bot `demo`, the history_page app with the playground routes (moto in-process)."""

    def __init__(self) -> None:
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        self.kb_table = create_pk_sk_table(dynamodb, "KbTable")
        self.conversations = create_pk_sk_table(dynamodb, "ConversationsTable")
        self.registry = BotRegistry(self.kb_table, cache_seconds=0)
        self.kb = KnowledgeBaseStore(self.kb_table)
        self.sources = SourceStateStore(self.kb_table)
        self.registry.put(BotConfig(bot_id="demo", display_name="Лаванда", language=Language.UK))
        self.registry.put(BotConfig(bot_id="empty", platform=Platform.SMARTSENDER, language=Language.RU))
        self.kb.publish("demo", check_spreadsheet(DEMO_KB.read_bytes(), "demo_kb.csv").entries, source="demo_kb.csv")
        self.playground = Playground(MatcherCache(self.kb), clock=lambda: NOW)
        self.now = NOW

    def app(self) -> Any:
        routes = playground_routes(
            self.playground, _fixed(KEYS), self.registry, self.kb, self.sources, clock=lambda: self.now
        )
        store = ConversationStore(plain_client(self.conversations), self.conversations.name)
        return create_app(store, KEYS, self.registry, clock=lambda: self.now, extra_routes=routes)

    def token(self, bot_id: str = "demo", purpose: TokenPurpose = TokenPurpose.PLAYGROUND, **kwargs: Any) -> str:
        contact = "ig-1" if purpose is TokenPurpose.HISTORY else None
        expires = kwargs.get("expires_at", NOW + timedelta(days=7))
        return make_token(KEYS, purpose, bot_id, contact, expires)

    def conversation_items(self) -> int:
        return int(self.conversations.scan(Select="COUNT")["Count"])


def _fixed(keys: SigningKeys) -> Any:
    from faqbot.history.links import SigningKeySource

    return SigningKeySource.fixed(keys)


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()


def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="https://api.test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(run())


def ask(world: World, text: str, channel: str = "instagram", **extra: Any) -> dict[str, Any]:
    response = call(
        world.app(), "POST", f"/try/{world.token()}/messages", json={"text": text, "channel": channel, **extra}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


# ---- the JSON contract ------------------------------------------------------------------------------------------


def test_a_kb_question_gets_the_entrys_answer_with_the_reasons(world: World) -> None:
    # when
    data = ask(world, "Скільки коштує педикюр?")

    # then
    assert data["decision"] == "answer"
    assert data["entry_id"] == "7"
    assert data["reply"]["messages"] == ["Апаратний педикюр без покриття — 600 грн, з покриттям гель-лаком — 750 грн."]
    assert data["candidates"][0] == {"id": "7", "question": "Скільки коштує педикюр?", "score": 1.0, "row": 8}
    assert 1 <= len(data["candidates"]) <= 3
    assert [c["score"] for c in data["candidates"]] == sorted((c["score"] for c in data["candidates"]), reverse=True)
    assert data["kb_version"] == "1"
    assert data["handoff"] is None and data["pending"] is None


def test_a_vague_question_offers_choices_and_a_click_answers_the_picked_entry(world: World) -> None:
    # given
    offer = ask(world, "фарбування", channel="whatsapp")
    assert offer["decision"] == "clarify"
    assert offer["reply"]["choices"] == ["Скільки коштує фарбування волосся?", "Чи робите ви брови та вії?"]
    # WhatsApp has no quick replies: the choices are numbered text, and a click sends the number
    assert offer["reply"]["chips"] == []
    assert "1. Скільки коштує фарбування волосся?" in offer["reply"]["messages"][-1]
    assert [option["send"] for option in offer["reply"]["options"]] == ["1", "2"]

    # when
    picked = ask(world, "2", channel="whatsapp", pending=offer["pending"])

    # then
    assert picked["decision"] == "answer" and picked["picked"] is True
    assert picked["entry_id"] == "19"
    assert picked["pending"] is None


def test_quick_replies_become_chips_where_the_channel_has_them(world: World) -> None:
    # given: a ManyChat bot whose flow takes quick-reply picks at a node
    config = world.registry.get("demo")
    world.registry.put(
        config.model_copy(update={"manychat": config.manychat.model_copy(update={"choice_target": "pick"})})
    )

    # when
    instagram = ask(world, "фарбування", channel="instagram")
    whatsapp = ask(world, "фарбування", channel="whatsapp")

    # then
    assert [chip.split(".")[0] for chip in instagram["reply"]["chips"]] == ["1", "2"]
    assert [o["send"] for o in instagram["reply"]["options"]] == instagram["reply"]["chips"]
    assert whatsapp["reply"]["chips"] == []


def test_long_answers_are_split_as_the_channel_sends_them(world: World) -> None:
    # given: an answer longer than an Instagram message, shorter than a WhatsApp one
    long_answer = " ".join(f"Речення номер {n} про наш графік роботи." for n in range(60))
    entries = [KbEntry(id="long", question="Який у вас графік роботи?", answer=long_answer, row=2)]
    world.kb.publish("demo", entries, source="long.csv")

    # when
    instagram = ask(world, "Який у вас графік роботи?", channel="instagram")
    whatsapp = ask(world, "Який у вас графік роботи?", channel="whatsapp")

    # then
    assert len(instagram["reply"]["messages"]) > 1
    assert all(len(part) <= 1000 for part in instagram["reply"]["messages"])
    assert len(whatsapp["reply"]["messages"]) == 1
    assert instagram["kb_version"] == "2"


def test_asking_for_a_manager_shows_the_handoff_and_reaches_nobody(world: World) -> None:
    # given
    config = world.registry.get("demo")
    world.registry.put(config.model_copy(update={"telegram": config.telegram.model_copy(update={"chat_id": -100})}))

    # when
    data = ask(world, "Покличте менеджера, будь ласка")

    # then
    assert data["decision"] == "human"
    assert data["reply"]["messages"] == ["Добре, кличу менеджера — він відповість вам тут найближчим часом."]
    assert data["handoff"] == {"reason": "asked_human", "escalated": True, "notify": ["telegram"]}
    assert world.conversation_items() == 0  # no contact, no transcript, no pause stored


def test_smartsender_renders_numbered_choices(world: World) -> None:
    # when
    data = ask(world, "знижка", channel="smartsender")

    # then
    assert data["platform"] == "smartsender"
    assert data["decision"] == "clarify"
    assert data["reply"]["messages"][-1].endswith("Відповідайте цифрою.")


def test_a_bot_without_a_kb_hands_off(world: World) -> None:
    # when
    token = world.token("empty")
    response = call(world.app(), "POST", f"/try/{token}/messages", json={"text": "Сколько стоит?"})

    # then
    data = response.json()
    assert data["decision"] == "escalate"
    assert data["kb_version"] is None and data["candidates"] == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"text": "  "}).encode(), "text"),
        (json.dumps({"text": "hi", "channel": "fax"}).encode(), "channel"),
        (json.dumps({"text": "hi", "extra": 1}).encode(), "extra"),
        (json.dumps({"text": "x" * 4001}).encode(), "text"),
        (json.dumps({"text": "hi", "pending": {"offered_ids": []}}).encode(), "pending"),
    ],
)
def test_a_bad_body_gets_400_with_a_reason(world: World, body: bytes, reason: str) -> None:
    # when
    response = call(world.app(), "POST", f"/try/{world.token()}/messages", content=body)

    # then
    assert response.status_code == 400
    assert reason in response.json()["reason"]


@pytest.mark.parametrize("kind", ["history", "tampered", "expired", "garbage"])
def test_anything_but_a_valid_playground_token_gets_403(world: World, kind: str) -> None:
    # given
    good = world.token()
    token = {
        "history": world.token(purpose=TokenPurpose.HISTORY),
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "expired": world.token(expires_at=NOW - timedelta(seconds=1)),
        "garbage": "not-a-token",
    }[kind]

    # when
    api = call(world.app(), "POST", f"/try/{token}/messages", json={"text": "Скільки коштує педикюр?"})
    page = call(world.app(), "GET", f"/try/{token}")

    # then
    assert api.status_code == 403 and "reply" not in api.json()
    assert page.status_code == 403
    assert "Педикюр" not in page.text and "педикюр" not in page.text


def test_a_playground_token_does_not_open_a_history_page(world: World) -> None:
    # when
    response = call(world.app(), "GET", f"/history/{world.token()}")

    # then
    assert response.status_code == 403


# ---- the page ---------------------------------------------------------------------------------------------------


def test_the_page_has_the_chat_the_channels_and_the_kb_panel_under_a_strict_csp(world: World) -> None:
    # given: a KB with an over-long answer and two near-identical questions
    entries = [
        KbEntry(id="a", question="Скільки коштує педикюр?", answer="600 грн", row=2),
        KbEntry(id="b", question="Скільки коштує педикюр зараз?", answer="650 грн", row=3),
        KbEntry(id="c", question="Де ви?", answer="Львів. " * 200, row=4),
    ]
    world.kb.publish("demo", entries, source="faq.xlsx")

    # when
    response = call(world.app(), "GET", f"/try/{world.token()}", headers={"accept-language": "uk"})

    # then
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'nonce-" in csp and "connect-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    for channel in ("Instagram", "WhatsApp", "Telegram", "Messenger", "SmartSender"):
        assert f">{channel}</option>" in html
    assert "Активна версія 2: 3 записів" in html
    assert "«faq.xlsx»" in html
    assert "рядок 4" in html  # the over-long answer, named by its row
    assert "рядок 3" in html  # the near-duplicate
    assert "<script src" not in html and "http://" not in html and "https://" not in html


def test_the_page_says_which_sheet_the_kb_follows(world: World) -> None:
    # given
    url = "https://docs.google.com/spreadsheets/d/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/edit#gid=0"
    world.registry.put(world.registry.get("demo").model_copy(update={"kb_source_url": url}))
    world.sources.put(
        SourceState(bot_id="demo", url=url, checked_at=NOW, status="failed", reason="not_shared", message="закрита")
    )

    # when
    html = call(world.app(), "GET", f"/try/{world.token()}", headers={"accept-language": "uk"}).text

    # then
    assert url.replace("&", "&amp;") in html or url in html
    assert "не вдалося прочитати: закрита" in html


# ---- the sandbox itself -----------------------------------------------------------------------------------------


def test_a_disabled_bot_still_shows_what_it_would_answer(world: World) -> None:
    # given
    bot = world.registry.get("demo").model_copy(update={"enabled": False})

    # when
    result = world.playground.try_message(bot, TryRequest(text="Скільки коштує педикюр?"))

    # then
    assert result.decision == "answer" and result.bot_enabled is False
