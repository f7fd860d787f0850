"""The website channel's pieces: visitor ids, origins, the widget's request and response, rate limits, the script."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from faqbot.channels.models import BotReply, Choice, InvalidPayload, ReplyStatus
from faqbot.channels.web import (
    MessageTooLong,
    OriginNotAllowed,
    allowed_origin,
    contact_id_for,
    new_visitor_id,
    normalize_origin,
    parse_message,
    render_reply,
    valid_cursor,
    valid_visitor_id,
    visible_messages,
)
from faqbot.config import BotConfig, Channel, Language, Platform, WebSettings
from faqbot.conversation.store import EventKind, Role, StoredMessage
from faqbot.local.handlers import LOCAL_REGION
from faqbot.local.resources import create_tables, plan_resources
from faqbot.web.ratelimit import Limit, RateLimited, RateLimiter
from faqbot.web.widget import MAX_GZIPPED_BYTES, embed_snippet, script_json, widget_script
from moto import mock_aws
from support.tables import plain_client

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def conversations(template: dict[str, Any], aws_env: None, tmp_path: Any) -> Iterator[Any]:
    """The template's conversations table on moto."""
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name=LOCAL_REGION)
        create_tables(template, plan_resources(template, template_dir=tmp_path), dynamodb_client=resource.meta.client)
        yield resource.Table("ConversationsTable")


# ---- visitors and cursors ---------------------------------------------------------------------------


def test_visitor_ids_are_random_url_safe_tokens_of_192_bits() -> None:
    # when
    ids = {new_visitor_id() for _ in range(200)}
    # then
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", visitor) and valid_visitor_id(visitor) == visitor for visitor in ids)
    assert contact_id_for("x" * 32) == "web-" + "x" * 32


@pytest.mark.parametrize("bad", [None, "", "short", "x" * 33, "../../" + "x" * 26, "x" * 31 + "!", 12345])
def test_a_visitor_id_of_another_shape_is_refused(bad: Any) -> None:
    assert valid_visitor_id(bad) is None


def test_cursors_must_be_message_sort_keys() -> None:
    # given
    line = StoredMessage(at=T0, seq=7, role=Role.BOT, text="hi")
    # then
    assert valid_cursor(line.sk) == line.sk
    assert valid_cursor(None) is None and valid_cursor("") is None
    for bad in ("profile", "msg#", "msg#2026-11-25T10:00:00.000000Z#1' OR 1=1", "ratelimit#x"):
        with pytest.raises(InvalidPayload):
            valid_cursor(bad)


# ---- origins ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://Shop.Example.com", "https://shop.example.com"),
        ("https://shop.example.com:443/", "https://shop.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:80", "http://localhost"),
        ("https://shop.example.com/page", None),
        ("ftp://shop.example.com", None),
        ("null", None),
        ("", None),
        (None, None),
        ("https://user:pw@shop.example.com", None),
    ],
)
def test_origins_are_normalised_before_comparing(given: str | None, expected: str | None) -> None:
    assert normalize_origin(given) == expected


def test_only_the_bots_site_origins_are_allowed() -> None:
    # given
    sites = ["https://shop.example.com/", "http://127.0.0.1:8080"]
    # then
    assert allowed_origin("https://SHOP.example.com", sites) == "https://shop.example.com"
    assert allowed_origin("http://127.0.0.1:8080", sites) == "http://127.0.0.1:8080"
    for origin in ("https://evil.example.com", "http://shop.example.com", "https://shop.example.com.evil.io", None):
        with pytest.raises(OriginNotAllowed):
            allowed_origin(origin, sites)
    with pytest.raises(OriginNotAllowed):
        allowed_origin("https://shop.example.com", [])


# ---- the widget's request and response -----------------------------------------------------------------


def test_a_visitor_message_becomes_an_inbound_web_message() -> None:
    # given
    visitor = new_visitor_id()
    # when
    message = parse_message({"text": "  Де ви?  ", "message_id": "abc-123"}, visitor_id=visitor, settings=WebSettings())
    # then
    assert message.platform is Platform.WEB and message.channel is Channel.WEB
    assert (message.contact_id, message.text, message.message_id) == (f"web-{visitor}", "Де ви?", "abc-123")


@pytest.mark.parametrize(
    "body", [{"text": ""}, {"text": "   "}, {"text": 5}, {}, ["text"], {"text": "a", "message_id": "a b"}]
)
def test_a_malformed_visitor_message_is_refused_with_a_reason(body: Any) -> None:
    with pytest.raises(InvalidPayload):
        parse_message(body, visitor_id=new_visitor_id(), settings=WebSettings())


def test_a_message_over_the_bots_size_limit_is_refused() -> None:
    # given
    settings = WebSettings(max_message_chars=20)
    # then
    parse_message({"text": "x" * 20}, visitor_id=new_visitor_id(), settings=settings)
    with pytest.raises(MessageTooLong, match="20 characters"):
        parse_message({"text": "x" * 21}, visitor_id=new_visitor_id(), settings=settings)


def test_the_visitor_sees_their_bots_and_managers_lines_but_no_system_events() -> None:
    # given
    lines = [
        StoredMessage(at=T0, seq=1, role=Role.CUSTOMER, text="<b>hi</b>"),
        StoredMessage(at=T0, seq=2, role=Role.BOT, text="Hello"),
        StoredMessage(at=T0, seq=3, role=Role.SYSTEM, kind=EventKind.HANDOFF, detail="asked_human"),
        StoredMessage(at=T0, seq=4, role=Role.MANAGER, text="Марія тут", detail="Марія"),
        StoredMessage(at=T0, seq=5, role=Role.MANAGER, text="no name"),
    ]
    # when
    shown = visible_messages(lines)
    # then: text is passed as data (the widget escapes it), never interpreted here
    assert [(m["role"], m["text"], m.get("author")) for m in shown] == [
        ("visitor", "<b>hi</b>", None),
        ("bot", "Hello", None),
        ("manager", "Марія тут", "Марія"),
        ("manager", "no name", None),
    ]
    assert shown[0]["id"] == lines[0].sk


def test_a_clarifying_reply_carries_its_choices_as_buttons() -> None:
    # given: the stored bot line has the numbered list (for transcripts); the widget gets buttons instead
    reply = BotReply(
        status=ReplyStatus.CLARIFY,
        language=Language.UK,
        texts=("Уточніть, будь ласка:",),
        choices=(Choice(number=1, entry_id="5", title="Манікюр"), Choice(number=2, entry_id="6", title="Педикюр")),
        choices_hint="Відповідайте цифрою.",
    )
    lines = [
        StoredMessage(at=T0, seq=1, role=Role.CUSTOMER, text="ціна"),
        StoredMessage(at=T0, seq=2, role=Role.BOT, text="Уточніть, будь ласка:\n1. Манікюр\n2. Педикюр"),
    ]
    # when
    response = render_reply(reply, visitor_id="v" * 32, new_lines=lines, after=None)
    # then
    bot = response["messages"][-1]
    assert bot["text"] == "Уточніть, будь ласка:"
    assert bot["choices"] == [{"number": 1, "title": "Манікюр"}, {"number": 2, "title": "Педикюр"}]
    assert (response["status"], response["cursor"], response["visitor_id"]) == ("clarify", lines[-1].sk, "v" * 32)


def test_a_reply_whose_transcript_write_failed_still_reaches_the_visitor() -> None:
    # given
    reply = BotReply(status=ReplyStatus.HANDOFF, language=Language.EN, texts=("A manager will reply.",))
    # when
    response = render_reply(reply, visitor_id="v" * 32, new_lines=[], after="msg#x")
    # then
    assert response["messages"] == [{"id": None, "role": "bot", "text": "A manager will reply.", "at": None}]
    assert response["cursor"] == "msg#x" and response["handoff"] is True


# ---- rate limits --------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_rate_limit_refuses_over_the_limit_with_the_wait_and_recovers_next_window(conversations: Any) -> None:
    # given: 3 messages per 60 s
    clock = FakeClock(1_800_000_010.0)
    limiter = RateLimiter(conversations, clock=clock)
    limit = Limit("bot#visitor#v1", max_hits=3, window_seconds=60)
    for _ in range(3):
        limiter.hit(limit, what="visitor")
    # when
    with pytest.raises(RateLimited) as refused:
        limiter.hit(limit, what="visitor")
    # then: told to wait until the window ends (10 s into it → 50 s)
    assert refused.value.retry_after == 50
    limiter.hit(Limit("bot#visitor#v2", max_hits=3, window_seconds=60), what="visitor")  # others are unaffected
    clock.now += 50
    limiter.hit(limit, what="visitor")
    item = conversations.get_item(Key={"pk": "ratelimit#bot#visitor#v1", "sk": "1800000000"})["Item"]
    assert int(item["expires_at"]) == 1_800_000_000 + 120  # counters clean themselves up


# ---- the widget script ----------------------------------------------------------------------------------


def test_the_widget_script_carries_the_bots_settings_and_stays_small() -> None:
    # given
    bot = BotConfig(bot_id="shop", display_name="Shop </script><script>alert(1)</script>", language=Language.RU)
    # when
    script = widget_script(bot, api_base_url="https://api.example.com")
    # then: no placeholder left, nothing that could end the script tag, config readable back
    assert "__FAQBOT_" not in script and "</script>" not in script.lower()
    assert '"botId":"shop"' in script and '"language":"ru"' in script and '"api":"https://api.example.com"' in script
    assert len(gzip.compress(script.encode("utf-8"))) < MAX_GZIPPED_BYTES
    assert not re.search(r"https?://(?!api\.example\.com)", script) and "import(" not in script  # nothing third-party
    assert "innerHTML" not in script.replace("launcher.innerHTML = '<svg", "")  # only our own static icon


def test_script_json_escapes_what_could_break_out_of_a_script() -> None:
    # when
    text = script_json({"t": "</script><!-- & \u2028"})
    # then
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"t": "</script><!-- & \u2028"}


def test_the_embed_snippet_is_one_async_script_tag() -> None:
    assert embed_snippet("https://api.example.com/", "shop") == (
        '<script src="https://api.example.com/widget/shop.js" async></script>'
    )


# ---- the CLI ------------------------------------------------------------------------------------------


def test_bots_widget_prints_the_snippet_and_edits_the_allowed_sites(conversations: Any) -> None:
    # given
    import faqbot.cli.widget  # noqa: F401 - registers `bots widget` (and `bots`) on `cli`
    from click.testing import CliRunner
    from faqbot.bots.registry import BotRegistry
    from faqbot.cli import cli

    registry = BotRegistry(boto3.resource("dynamodb", region_name=LOCAL_REGION).Table("KbTable"), cache_seconds=0)
    registry.put(BotConfig(bot_id="shop", site_origins=["https://old.example.com"]))
    runner = CliRunner()
    widget = ["bots", "widget", "shop", "--api-url", "https://api.example.com"]

    # when
    added = runner.invoke(
        cli, [*widget, "--origin", "https://Shop.example.com/", "--remove-origin", "https://old.example.com"]
    )
    bad = runner.invoke(cli, [*widget, "--origin", "shop.example.com/page"])
    unknown = runner.invoke(cli, ["bots", "widget", "nobot"])

    # then
    assert added.exit_code == 0, added.output
    assert '<script src="https://api.example.com/widget/shop.js" async></script>' in added.output
    assert registry.get("shop").site_origins == ["https://shop.example.com"]
    assert bad.exit_code == 2 and "not a site origin" in bad.output
    assert unknown.exit_code == 1 and "nobot" in unknown.output


# ---- the endpoints' domain ------------------------------------------------------------------------------


def test_new_visitors_from_one_address_share_the_address_limit(conversations: Any) -> None:
    # given: a bot allowing 2 messages per address; each call without a visitor id mints a new visitor
    from faqbot.conversation.store import ConversationStore
    from faqbot.web.chat import WebChat

    bot = BotConfig(bot_id="shop", site_origins=["https://shop.example.com"], web=WebSettings(ip_messages_per_minute=2))
    handled: list[str] = []

    def handle(_: BotConfig, message: Any) -> BotReply:
        handled.append(message.contact_id)
        return BotReply(status=ReplyStatus.ANSWERED, language=Language.UK, texts=("ok",))

    store = ConversationStore(plain_client(conversations), conversations.name)
    chat = WebChat(bots=lambda _: bot, handle=handle, store=store, limiter=RateLimiter(conversations))

    # when
    answers = [chat.post(bot, visitor_id=None, body={"text": "hi"}, client_ip="203.0.113.9")[0] for _ in range(2)]
    with pytest.raises(RateLimited) as refused:
        chat.post(bot, visitor_id=None, body={"text": "hi"}, client_ip="203.0.113.9")
    other_address = chat.post(bot, visitor_id=None, body={"text": "hi"}, client_ip="198.51.100.7")[0]

    # then: distinct random visitors, the third call refused before any handling
    assert len({a["visitor_id"] for a in [*answers, other_address]}) == 3
    assert handled == [f"web-{a['visitor_id']}" for a in [*answers, other_address]]
    assert refused.value.what == "address"
    assert chat.bot("shop", "https://shop.example.com")[1] == "https://shop.example.com"
    with pytest.raises(OriginNotAllowed):
        chat.bot("shop", "https://evil.example.com")
    with pytest.raises(InvalidPayload):
        chat.poll(bot, visitor_id="not-a-visitor", after=None)
    assert chat.poll(bot, visitor_id=None, after=None) == {"messages": [], "cursor": None}
