"""The history_page ASGI app: what a manager sees through a signed link, and what a bad link gets."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import boto3
import httpx
import pytest
from faqbot.bots.registry import BotRegistry
from faqbot.config import BotConfig, Channel, Platform
from faqbot.conversation.store import ConversationStore, EventKind, Role, StoredMessage
from faqbot.history.benchmark import MemoryTranscript, sample_contact, sample_conversation
from faqbot.history.links import SigningKeys, SigningKeySource, TokenPurpose, make_token
from faqbot.history.web import create_app
from faqbot.secrets import SecretNotFound
from hypothesis import example, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from support.tables import create_pk_sk_table, plain_client

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
KEYS = SigningKeys("history-test-key-0123456789abcdef")
BOT = "demo"
CONTACT = "ig-42"
REGION = "eu-central-1"


class World:
    """A bot, a contact with a transcript, and the app over them (moto in-process)."""

    def __init__(self) -> None:
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        self.registry = BotRegistry(create_pk_sk_table(dynamodb, "KbTable"))
        conversations = create_pk_sk_table(dynamodb, "ConversationsTable")
        self.store = ConversationStore(plain_client(conversations), conversations.name, clock=lambda: NOW)
        self.registry.put(BotConfig(bot_id=BOT, display_name="Квіти Поділля", timezone="Europe/Kyiv"))
        self.now = NOW

    def add_contact(self, contact_id: str = CONTACT, **fields: Any) -> None:
        defaults: dict[str, Any] = {
            "name": "Олена <b>Коваль</b>",
            "channel": Channel.INSTAGRAM,
            "platform": Platform.MANYCHAT,
            "username": "olena.k",
            "phone": "+380671234567",
            "email": "olena@example.com",
            "chat_url": "https://app.manychat.com/fb123/chat/42",
        }
        self.store.update_contact(BOT, contact_id, **{**defaults, **fields})

    def add_messages(self, *messages: StoredMessage, contact_id: str = CONTACT) -> None:
        self.store.append_messages(BOT, contact_id, messages)

    def app(self, keys: SigningKeys | SigningKeySource = KEYS, **options: Any) -> Any:
        return create_app(self.store, keys, self.registry, clock=lambda: self.now, **options)


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()


def get(app: Any, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="https://api.test") as client:
            return await client.get(path, headers=headers or {})

    return asyncio.run(call())


def token(
    *,
    keys: SigningKeys = KEYS,
    purpose: TokenPurpose = TokenPurpose.HISTORY,
    bot_id: str = BOT,
    contact_id: str | None = CONTACT,
    expires_at: datetime = NOW + timedelta(days=3),
) -> str:
    return make_token(keys, purpose, bot_id, contact_id, expires_at)


def at(minutes: int) -> datetime:
    return datetime(2025, 1, 15, 10, 0, tzinfo=UTC) + timedelta(minutes=minutes)


def conversation() -> list[StoredMessage]:
    return [
        StoredMessage(at=at(0), role=Role.CUSTOMER, text="Скільки коштує доставка?"),
        StoredMessage(
            at=at(0),
            role=Role.BOT,
            text="Доставка по Києву — 150 грн.",
            decision="answer",
            entry_id="7",
            entry_question="Яка вартість доставки?",
            score=0.8734,
            kb_version="3",
        ),
        StoredMessage(at=at(5), role=Role.CUSTOMER, text="<script>alert('x')</script> & покличте менеджера"),
        StoredMessage(at=at(5), role=Role.BOT, text="Добре, кличу менеджера.", decision="human"),
        StoredMessage(at=at(5), role=Role.SYSTEM, kind=EventKind.HANDOFF, detail="asked_human"),
        StoredMessage(
            at=at(6),
            role=Role.SYSTEM,
            kind=EventKind.PAUSED,
            detail="asked_human by bot until 2025-01-15T11:06:00.000000Z",
        ),
        StoredMessage(at=at(20), role=Role.MANAGER, text="Вітаю! Я Марія, допоможу."),
        StoredMessage(at=at(30), role=Role.SYSTEM, kind=EventKind.RESUMED, detail="resumed by @maria"),
        StoredMessage(at=at(31), role=Role.SYSTEM, kind=EventKind.LEAD_CREATED, detail="Kommo lead 1234"),
    ]


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert "noindex" in response.headers["x-robots-tag"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["base-uri"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "script-src" not in directives  # no script may run on these pages
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp and "http" not in csp
    nonce = re.search(r"style-src 'nonce-([\w-]+)'", csp)
    assert nonce is not None
    assert f'<style nonce="{nonce.group(1)}">' in response.text
    assert "<script" not in response.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//(?!app\.manychat\.com)""", response.text)


# ---- a valid link --------------------------------------------------------------------------------------


def test_valid_link_shows_the_whole_conversation_in_order(world: World) -> None:
    # given
    world.add_contact()
    world.add_messages(*conversation())

    # when
    response = get(world.app(), f"/history/{token()}")

    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    texts = [
        "Скільки коштує доставка?",
        "Доставка по Києву — 150 грн.",
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; покличте менеджера",
        "Добре, кличу менеджера.",
        "Передано менеджеру",
        "Бот на паузі",
        "Вітаю! Я Марія, допоможу.",
        "Бот знову відповідає",
        "Створено лід",
    ]
    positions = [html.index(text) for text in texts]
    assert positions == sorted(positions)
    assert html.count('class="msg customer"') == 2
    assert html.count('class="msg bot"') == 2
    assert html.count('class="msg manager"') == 1
    assert html.count('class="event"') == 4


def test_customer_text_is_escaped_not_executed(world: World) -> None:
    # given
    world.add_contact(name='"><img src=x onerror=alert(1)>')
    world.add_messages(StoredMessage(at=at(0), role=Role.CUSTOMER, text="<script>alert(document.cookie)</script>"))

    # when
    response = get(world.app(), f"/history/{token()}")

    # then
    assert response.status_code == 200
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in response.text
    assert "<script" not in response.text
    assert "<img" not in response.text
    assert_security_headers(response)


def test_page_shows_who_the_customer_is_and_the_kb_entry_behind_each_answer(world: World) -> None:
    # given
    world.add_contact()
    world.add_messages(*conversation())

    # when
    html = get(world.app(), f"/history/{token()}").text

    # then
    assert "Олена &lt;b&gt;Коваль&lt;/b&gt;" in html
    assert "Instagram" in html
    assert "@olena.k" in html
    assert 'href="tel:+380671234567"' in html
    assert 'href="mailto:olena@example.com"' in html
    assert 'href="https://app.manychat.com/fb123/chat/42"' in html
    assert "Квіти Поділля" in html
    assert "#7 · впевненість 0.87" in html
    assert "Яка вартість доставки?" in html
    assert "клієнт попросив менеджера" in html  # the decision behind a non-answer


def test_times_are_in_the_bots_time_zone(world: World) -> None:
    # given: 10:00 UTC on 15 January is 12:00 in Kyiv (UTC+2 in winter)
    world.add_contact()
    world.add_messages(StoredMessage(at=at(0), role=Role.CUSTOMER, text="Привіт"))

    # when
    html = get(world.app(), f"/history/{token()}").text

    # then
    assert '<time datetime="2025-01-15T12:00:00+02:00">12:00</time>' in html
    assert "15.01.2025" in html
    assert "Europe/Kyiv" in html


def test_system_events_are_told_in_the_managers_words(world: World) -> None:
    # given
    world.add_contact()
    world.add_messages(*conversation())

    # when
    html = get(world.app(), f"/history/{token()}").text

    # then: reason codes and UTC times from the store become words and Kyiv time
    assert "<strong>Передано менеджеру</strong> · клієнт попросив менеджера" in html
    assert "<strong>Бот на паузі</strong> · клієнт попросив менеджера · до 15.01 13:06" in html
    assert "<strong>Бот знову відповідає</strong> · @maria" in html
    assert "asked_human" not in html


def test_the_readers_language_picks_the_page_words(world: World) -> None:
    # given
    world.add_contact()
    world.add_messages(*conversation())

    # when
    html = get(world.app(), f"/history/{token()}", headers={"accept-language": "en-GB,en;q=0.9"}).text

    # then
    assert "Handed to a manager" in html
    assert '<html lang="en">' in html


def test_a_chat_link_that_is_not_http_is_not_made_clickable(world: World) -> None:
    # given
    world.add_contact(chat_url="javascript:alert(1)")

    # when
    html = get(world.app(), f"/history/{token()}").text

    # then
    assert "javascript:" not in html


def test_headers_on_the_page(world: World) -> None:
    # given
    world.add_contact()
    world.add_messages(*conversation())

    # when
    response = get(world.app(), f"/history/{token()}")

    # then
    assert_security_headers(response)


# ---- refused links -------------------------------------------------------------------------------------


def _tampered(value: str) -> str:
    body, signature = value.split(".")
    return f"{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


@pytest.mark.parametrize(
    "bad_token",
    [
        pytest.param(_tampered(token()), id="tampered-signature"),
        pytest.param(token(keys=SigningKeys("some-other-deployment-key-000000")), id="other-key"),
        pytest.param(token(purpose=TokenPurpose.PLAYGROUND, contact_id=None), id="playground-token"),
        pytest.param("not-a-token", id="malformed"),
        pytest.param("e30." + "A" * 43, id="empty-payload"),
    ],
)
def test_bad_tokens_get_403_without_transcript_data(world: World, bad_token: str) -> None:
    # given
    world.add_contact()
    world.add_messages(*conversation())

    # when
    response = get(world.app(), f"/history/{bad_token}")

    # then
    assert response.status_code == 403
    assert "Посилання недійсне" in response.text
    assert "Олена" not in response.text and "доставка" not in response.text
    assert_security_headers(response)


def _forged(value: str, **claims: str) -> str:
    """A genuine token whose payload is rewritten (bot `b`, contact `c`), its signature kept."""
    body, signature = value.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(claims)
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{encoded}.{signature}"


@pytest.mark.parametrize(("claims", "leak"), [({"b": "shop"}, "Shop secret"), ({"c": "ig-43"}, "Andrii secret")])
def test_token_rewritten_to_another_bot_or_contact_is_403(world: World, claims: dict[str, str], leak: str) -> None:
    # given: a genuine link for demo/ig-42, and transcripts that exist under the names it is rewritten to
    world.add_contact()
    world.registry.put(BotConfig(bot_id="shop"))
    world.store.update_contact("shop", CONTACT, name="Shop secret customer")
    world.store.append_messages("shop", CONTACT, [StoredMessage(at=at(0), role=Role.CUSTOMER, text="Shop secret")])
    world.add_contact("ig-43", name="Andrii")
    world.add_messages(StoredMessage(at=at(0), role=Role.CUSTOMER, text="Andrii secret"), contact_id="ig-43")

    # when
    response = get(world.app(), f"/history/{_forged(token(), **claims)}")

    # then
    assert response.status_code == 403
    assert "Посилання недійсне" in response.text
    assert leak not in response.text and "Олена" not in response.text
    assert_security_headers(response)


@pytest.mark.parametrize(
    "path",
    [
        "/history/%C3%A9.AAAA",  # non-ASCII payload with a well-formed signature part
        "/history/%00.AAAA",
        "/history/e30%0A.AAAA",
        "/history/..",
        "/history/%2E%2E%2Fadmin",
        "/history/" + "A" * 5000,
        "/history/" + "A" * 500 + "." + "B" * 43,
        "/history/e30.AAAA?before=msg%232025-01-15T10%3A03%3A00.000000Z%23000003",
    ],
)
def test_odd_paths_are_refused_never_a_server_error(world: World, path: str) -> None:
    # given
    world.add_contact()
    world.add_messages(*conversation())

    # when
    response = get(world.app(), path)

    # then
    assert response.status_code in (403, 404)
    assert "Олена" not in response.text
    assert_security_headers(response)


class OneBot:
    """Bot configs without DynamoDB: every id is this bot."""

    def __init__(self, config: BotConfig) -> None:
        self.config = config

    def get(self, bot_id: str) -> BotConfig:
        return self.config


_FUZZ_APP = create_app(
    MemoryTranscript(sample_contact(), sample_conversation(5)),
    KEYS,
    OneBot(BotConfig(bot_id="bench")),
    clock=lambda: NOW,
)


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.text(min_size=1, max_size=120),
        st.builds("{}.{}".format, st.text(max_size=60), st.from_regex(r"[A-Za-z0-9_-]{43}", fullmatch=True)),
    )
)
@example("0/")  # a "/" in the token once got Starlette's trailing-slash redirect instead of the 403 page
def test_any_token_text_gets_a_403_page(text: str) -> None:
    # when: whatever a mangled link carries in its last path segment
    response = get(_FUZZ_APP, "/history/" + quote(text, safe=""))

    # then
    assert response.status_code in (403, 404), response.text[:200]
    assert response.headers["cache-control"] == "no-store"


def test_token_of_another_bot_opens_only_that_bots_contact(world: World) -> None:
    # given: the same contact id exists under another bot, which has no such contact
    world.registry.put(BotConfig(bot_id="shop"))
    world.add_contact()
    world.add_messages(*conversation())

    # when
    response = get(world.app(), f"/history/{token(bot_id='shop')}")

    # then
    assert response.status_code == 404
    assert "Олена" not in response.text


def test_expired_link_says_so_and_how_to_get_a_fresh_one(world: World) -> None:
    # given
    world.add_contact()
    world.add_messages(*conversation())
    expired = token(expires_at=NOW - timedelta(seconds=1))

    # when
    response = get(world.app(), f"/history/{expired}", headers={"accept-language": "en"})

    # then
    assert response.status_code == 403
    assert "This link has expired" in response.text
    assert "Transcript" in response.text and "faqbot history link" in response.text
    assert "Olena" not in response.text and "Олена" not in response.text
    assert_security_headers(response)


def test_unknown_contact_and_unknown_bot_are_404(world: World) -> None:
    # given
    world.add_contact()

    # when
    no_contact = get(world.app(), f"/history/{token(contact_id='nobody')}")
    no_bot = get(world.app(), f"/history/{token(bot_id='gone')}")

    # then
    assert (no_contact.status_code, no_bot.status_code) == (404, 404)
    assert "Розмову не знайдено" in no_contact.text
    assert_security_headers(no_contact)


def test_unknown_path_is_a_404_page_with_the_headers(world: World) -> None:
    # when
    response = get(world.app(), "/history")

    # then
    assert response.status_code == 404
    assert_security_headers(response)


# ---- key rotation --------------------------------------------------------------------------------------


def test_link_signed_with_the_previous_key_works_during_grace_only(world: World) -> None:
    # given: a link sent before the key was rotated with a 2-day grace period
    world.add_contact()
    world.add_messages(*conversation())
    old_link = token(keys=KEYS, expires_at=NOW + timedelta(days=7))
    rotated = KEYS.rotated("the-new-history-key-0123456789abc", grace=timedelta(days=2), now=NOW)
    app = world.app(rotated)

    # when
    during = get(app, f"/history/{old_link}")
    world.now = NOW + timedelta(days=2, seconds=1)
    after = get(app, f"/history/{old_link}")

    # then
    assert during.status_code == 200
    assert after.status_code == 403


def test_link_signed_with_a_just_rotated_key_rereads_the_keys(world: World) -> None:
    # given: this container still holds the old keys; the parameter already has the new ones
    world.add_contact()
    rotated = KEYS.rotated("the-new-history-key-0123456789abc", grace=timedelta(days=2), now=NOW)
    source = SigningKeySource(lambda fresh: rotated if fresh else KEYS)

    # when
    response = get(world.app(source), f"/history/{token(keys=rotated)}")

    # then
    assert response.status_code == 200


def test_missing_signing_key_is_a_503_page_not_a_crash(world: World) -> None:
    # given
    world.add_contact()

    def missing(fresh: bool) -> SigningKeys:
        raise SecretNotFound("/faqbot/dev/history-signing-key")

    # when
    response = get(world.app(SigningKeySource(missing)), f"/history/{token()}")

    # then
    assert response.status_code == 503
    assert "history-signing-key" not in response.text
    assert_security_headers(response)


def test_a_failing_store_is_a_500_page_with_the_headers(world: World) -> None:
    # given
    class BrokenStore:
        def get_contact(self, bot_id: str, contact_id: str) -> None:
            raise RuntimeError("DynamoDB is down")

    app = create_app(BrokenStore(), KEYS, world.registry, clock=lambda: NOW)  # type: ignore[arg-type]

    # when
    response = get(app, f"/history/{token()}")

    # then
    assert response.status_code == 500
    assert "DynamoDB" not in response.text
    assert_security_headers(response)


# ---- long conversations --------------------------------------------------------------------------------


def test_long_conversation_pages_back_with_an_earlier_link(world: World) -> None:
    # given: 450 messages, 200 a page
    world.add_contact()
    world.add_messages(
        *[StoredMessage(at=at(i), role=Role.CUSTOMER, text=f"message number {i:03d}") for i in range(450)]
    )
    app = world.app(page_size=200)
    path = f"/history/{token()}"

    # when
    pages = []
    while path:
        html = get(app, path).text
        pages.append([int(n) for n in re.findall(r"message number (\d{3})", html)])
        earlier = re.search(r'href="(\?before=[^"]+)"', html)
        path = f"/history/{token()}{earlier.group(1).replace('&amp;', '&')}" if earlier else ""

    # then
    assert pages == [list(range(250, 450)), list(range(50, 250)), list(range(0, 50))]


def test_earlier_page_links_back_to_the_latest(world: World) -> None:
    # given
    world.add_contact()
    world.add_messages(*[StoredMessage(at=at(i), role=Role.CUSTOMER, text=f"m{i}") for i in range(5)])
    link = token()
    cursor = "msg%232025-01-15T10%3A03%3A00.000000Z%23000003"

    # when
    html = get(world.app(page_size=2), f"/history/{link}?before={cursor}").text

    # then
    assert ">m1<" in html and ">m2<" in html and ">m3<" not in html
    assert f'href="{link}"' in html


@pytest.mark.parametrize("cursor", ["profile", "msg#x", "msg%232025-01-15T10%3A03%3A00Z%230", "a" * 300])
def test_bad_cursor_is_a_400_page(world: World, cursor: str) -> None:
    # given
    world.add_contact()

    # when
    response = get(world.app(), f"/history/{token()}?before={cursor}")

    # then
    assert response.status_code == 400
    assert_security_headers(response)


def test_empty_conversation_renders(world: World) -> None:
    # given
    world.add_contact()

    # when
    response = get(world.app(), f"/history/{token()}")

    # then
    assert response.status_code == 200
    assert "Повідомлень поки немає." in response.text


def test_a_thousand_messages_render_on_one_page_in_well_under_a_second() -> None:
    # given: a 1,000-message conversation in memory (the store's read is not what is measured)
    conversation_ = sample_conversation(1000)
    configs = OneBot(BotConfig(bot_id="bench", timezone="Europe/Kyiv"))
    app = create_app(
        MemoryTranscript(sample_contact(), conversation_), KEYS, configs, clock=lambda: NOW, page_size=1000
    )
    path = f"/history/{token(bot_id='bench', contact_id='ig-1000', expires_at=NOW + timedelta(days=1))}"
    get(app, path)  # templates compile on the first request of a container

    # when
    response = get(app, path)

    # then: every message, in order, on the page
    assert response.status_code == 200
    shown = [int(n) for n in re.findall(r"(?:Питання|Відповідь) (\d+):", response.text)]
    expected = [i for i, message in enumerate(conversation_) if message.role is not Role.SYSTEM]
    assert shown == expected and len(shown) == 980
    assert response.text.count('class="event"') == 20
