"""The real history_page handler (Mangum over the ASGI app) on API Gateway HTTP API events, against the emulator."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faqbot.bots.registry import BotRegistry
from faqbot.config import BotConfig, Channel
from faqbot.conversation.store import ConversationStore, EventKind, Role, StoredMessage
from faqbot.history.links import SigningKeys, TokenPurpose, make_token
from faqbot.secrets import SecretStore

pytestmark = pytest.mark.integration

BOT, CONTACT = "demo", "ig-42"
KEYS = SigningKeys("integration-history-key-0123456789")


@pytest.fixture
def seeded(emulator: Any) -> Any:
    """The signing key in the emulator's SSM, the demo bot, and a contact with a transcript."""
    key_param = emulator.function_env("HistoryPageFunction")["HISTORY_SIGNING_KEY_PARAM"]
    SecretStore(emulator.client("ssm"), emulator.client("secretsmanager")).put(key_param, KEYS.to_parameter_value())
    BotRegistry(emulator.table("KbTable")).put(BotConfig(bot_id=BOT, display_name="Demo", timezone="Europe/Kyiv"))
    store = ConversationStore(emulator.client("dynamodb"), emulator.name("ConversationsTable"))
    store.update_contact(BOT, CONTACT, name="Олена", channel=Channel.INSTAGRAM, phone="+380671234567")
    start = datetime.now(UTC) - timedelta(hours=1)
    store.append_messages(
        BOT,
        CONTACT,
        [
            StoredMessage(at=start, role=Role.CUSTOMER, text="<script>alert(1)</script> доставка?"),
            StoredMessage(at=start, role=Role.BOT, text="150 грн", entry_id="7", score=0.91, decision="answer"),
            StoredMessage(at=start + timedelta(minutes=1), role=Role.SYSTEM, kind=EventKind.HANDOFF),
        ],
    )
    return store


def history_event(load_event: Callable[[str], dict[str, Any]], token: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("history_page"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/history/{token}"
    event["pathParameters"] = {"token": token}
    return event


def test_valid_link_through_the_real_handler(seeded: Any, invoke: Any, load_event: Any) -> None:
    # given
    token = make_token(KEYS, TokenPurpose.HISTORY, BOT, CONTACT, datetime.now(UTC) + timedelta(days=1))

    # when
    response = invoke("history_page", history_event(load_event, token))

    # then
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("text/html")
    assert response["headers"]["cache-control"] == "no-store"
    assert response["headers"]["content-security-policy"].startswith("default-src 'none'")
    assert response["headers"]["referrer-policy"] == "no-referrer"
    assert "noindex" in response["headers"]["x-robots-tag"]
    assert response["isBase64Encoded"] is False
    body = response["body"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; доставка?" in body and "<script" not in body
    assert body.index("доставка?") < body.index("150 грн") < body.index("Передано менеджеру")
    assert "#7 · впевненість 0.91" in body


def test_sample_event_with_an_unsigned_token_is_403(seeded: Any, invoke: Any, load_event: Any) -> None:
    # when: events/history_page.json carries a token that is not validly signed
    response = invoke("history_page", load_event("history_page"))

    # then
    assert response["statusCode"] == 403
    assert response["headers"]["cache-control"] == "no-store"
    assert "Олена" not in response["body"]


def _tampered(token: str) -> str:
    body, signature = token.split(".")
    return f"{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


def _for_another_bot(token: str) -> str:
    """The payload rewritten to name the `shop` bot, the signature kept."""
    body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["b"] = "shop"
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode() + "." + signature


@pytest.mark.parametrize("forge", [_tampered, _for_another_bot], ids=["tampered-signature", "wrong-bot"])
def test_forged_links_through_the_real_handler_are_403(
    emulator: Any, seeded: ConversationStore, invoke: Any, load_event: Any, forge: Callable[[str], str]
) -> None:
    # given: the same contact id exists under the other bot too
    BotRegistry(emulator.table("KbTable")).put(BotConfig(bot_id="shop"))
    seeded.update_contact("shop", CONTACT, name="Shop customer")
    token = make_token(KEYS, TokenPurpose.HISTORY, BOT, CONTACT, datetime.now(UTC) + timedelta(days=1))

    # when
    response = invoke("history_page", history_event(load_event, forge(token)))

    # then
    assert response["statusCode"] == 403
    assert response["headers"]["cache-control"] == "no-store"
    assert "Посилання недійсне" in response["body"]
    assert "Олена" not in response["body"] and "Shop customer" not in response["body"]


def test_expired_link_through_the_real_handler(seeded: Any, invoke: Any, load_event: Any) -> None:
    # given
    token = make_token(KEYS, TokenPurpose.HISTORY, BOT, CONTACT, datetime.now(UTC) - timedelta(minutes=1))

    # when
    response = invoke("history_page", history_event(load_event, token))

    # then
    assert response["statusCode"] == 403
    assert "Термін дії посилання минув" in response["body"]


def test_a_thousand_message_conversation_shows_its_newest_page(
    seeded: ConversationStore, invoke: Any, load_event: Any
) -> None:
    # given: 1,000 more messages, and a warm container (the first call pays the imports)
    start = datetime.now(UTC) - timedelta(minutes=30)
    seeded.append_messages(
        BOT,
        CONTACT,
        [
            StoredMessage(at=start + timedelta(seconds=i), role=Role.CUSTOMER if i % 2 else Role.BOT, text=f"m{i}")
            for i in range(1000)
        ],
    )
    token = make_token(KEYS, TokenPurpose.HISTORY, BOT, CONTACT, datetime.now(UTC) + timedelta(days=1))
    event = history_event(load_event, token)
    invoke("history_page", event)

    # when
    response = invoke("history_page", event)

    # then: the newest 200 (a page) with an "earlier" link (speed: `faqbot bench --section history`)
    assert response["statusCode"] == 200
    assert response["body"].count('class="msg ') == 200
    assert "?before=msg%23" in response["body"]
