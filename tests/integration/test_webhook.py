"""The real webhook handler against the emulator, with the demo KB ingested through S3 → kb_ingest.

Requests are the API Gateway events of `events/` (ManyChat per channel, SmartSender), with the
customer's text changed per test. The queues are not consumed here, so escalations can be counted.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from faqbot.bots.admin import create_bot
from faqbot.bots.registry import BotRegistry
from faqbot.config import Channel, Platform
from faqbot.conversation.store import ConversationStore
from faqbot.events import Escalation, EscalationReason, parse_queue_event
from faqbot.secrets import SecretStore
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webhook_support import assert_valid_dynamic_block, status_of, texts_of

pytestmark = pytest.mark.integration

DEMO_KB = Path(__file__).resolve().parents[2] / "shared" / "faqbot" / "demo" / "demo_kb.csv"
SECRET = "demo-secret"  # what the events in events/ send
ANSWERABLE = "Скільки коштує педикюр?"
ANSWER_FRAGMENT = "600 грн"
UNANSWERABLE = "Чи продаєте ви велосипеди?"
CHANNEL_EVENTS = {
    Channel.INSTAGRAM: "manychat_instagram",
    Channel.WHATSAPP: "manychat_whatsapp",
    Channel.TELEGRAM: "manychat_telegram",
    Channel.MESSENGER: "manychat_messenger",
}


class Api:
    """Calls the webhook handler with events shaped like API Gateway's."""

    def __init__(self, invoke: Callable[..., Any], load_event: Callable[[str], dict[str, Any]], emulator: Any) -> None:
        self._invoke = invoke
        self._load_event = load_event
        self.emulator = emulator
        self._messages = 0

    def call(self, event: dict[str, Any]) -> tuple[int, Any]:
        response = self._invoke("webhook", event)
        body = response.get("body") or ""
        return response["statusCode"], json.loads(body) if body.startswith(("{", "[")) else body

    def manychat(self, text: str, *, channel: Channel = Channel.INSTAGRAM, **fields: Any) -> tuple[int, Any]:
        """A new customer message: ManyChat's interaction time moves on with every message."""
        self._messages += 1
        moment = f"2026-11-25T12:{self._messages // 60:02d}:{self._messages % 60:02d}+02:00"
        return self.manychat_retry(text, channel=channel, last_interaction=moment, ig_last_interaction=moment, **fields)

    def manychat_retry(self, text: str, *, channel: Channel = Channel.INSTAGRAM, **fields: Any) -> tuple[int, Any]:
        """The request exactly as the event file has it, with `text`: repeating it is a platform retry."""
        event = self._load_event(CHANNEL_EVENTS[channel])
        body = json.loads(event["body"])
        body.update(last_input_text=text, **fields)
        event["body"] = json.dumps(body, ensure_ascii=False)
        return self.call(event)

    def smartsender(self, text: str) -> tuple[int, Any]:
        event = self._load_event("smartsender_message")
        body = json.loads(event["body"])
        body["text"] = text
        event["body"] = json.dumps(body, ensure_ascii=False)
        return self.call(event)

    def resume(self, contact_id: str, *, secret: str = SECRET) -> tuple[int, Any]:
        event = self._load_event("bot_health")
        path = f"/bots/demo/contacts/{contact_id}/resume"
        event.update(routeKey="POST /bots/{bot_id}/contacts/{contact_id}/resume", rawPath=path, body='{"by": "Olena"}')
        event["requestContext"].update(
            routeKey=event["routeKey"], http={**event["requestContext"]["http"], "method": "POST", "path": path}
        )
        event["pathParameters"] = {"bot_id": "demo", "contact_id": contact_id}
        event["headers"]["authorization"] = f"Bearer {secret}"
        return self.call(event)

    def escalations(self) -> list[Escalation]:
        sqs = self.emulator.client("sqs")
        url = self.emulator.queue_url("EscalationsQueue")
        bodies = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
            if not batch:
                break
            bodies += [parse_queue_event(message["Body"]) for message in batch]
        return [event for event in bodies if isinstance(event, Escalation)]

    def transcript(self, contact_id: str) -> list[Any]:
        store = ConversationStore(self.emulator.client("dynamodb"), self.emulator.name("ConversationsTable"))
        return store.messages("demo", contact_id)


@pytest.fixture
def api(emulator: Any, invoke: Callable[..., Any], load_event: Callable[[str], dict[str, Any]]) -> Api:
    """The demo bot (ManyChat, secret `demo-secret`) with the demo KB made live by the real kb_ingest."""
    create_bot(
        registry=BotRegistry(emulator.table("KbTable")),
        secret_store=SecretStore(emulator.client("ssm"), emulator.client("secretsmanager")),
        stage="local",
        bot_id="demo",
        platform=Platform.MANYCHAT,
        token=SECRET,
        settings={"language": "uk", "pause_timeout_minutes": 60},
    )
    bucket, key = emulator.name("KbBucket"), "kb/demo/demo_kb.csv"
    emulator.client("s3").put_object(Bucket=bucket, Key=key, Body=DEMO_KB.read_bytes())
    s3_event = load_event("s3_kb_put")
    s3_event["Records"][0]["s3"]["bucket"]["name"] = bucket
    s3_event["Records"][0]["s3"]["object"]["key"] = key
    result = invoke("kb_ingest", s3_event)
    assert result["results"][0]["status"] == "activated", result
    return Api(invoke, load_event, emulator)


@pytest.mark.parametrize("channel", list(CHANNEL_EVENTS))
def test_manychat_requests_get_a_valid_dynamic_block_per_channel(api: Api, channel: Channel) -> None:
    # when
    status, block = api.manychat(ANSWERABLE, channel=channel)
    # then
    assert status == 200
    assert_valid_dynamic_block(block, channel)
    assert status_of(block) == "answered"
    assert ANSWER_FRAGMENT in " ".join(texts_of(block))


def test_smartsender_request_gets_the_documented_body(api: Api) -> None:
    # when
    status, body = api.smartsender("Скільки коштує жіноча стрижка?")
    # then
    assert status == 200
    assert set(body) == {
        "status",
        "reply",
        "messages",
        "message_count",
        "choices",
        "choices_text",
        "language",
        "handoff",
        "paused",
        "clear",
    }
    assert body["status"] == "answered" and "450 грн" in body["reply"]
    assert body["messages"] == [body["reply"]] and body["message_count"] == 1


def test_a_handoff_puts_exactly_one_escalation_on_the_queue(api: Api) -> None:
    # when
    status, block = api.manychat(UNANSWERABLE)
    # then
    assert status == 200 and status_of(block) == "handoff"
    assert {"action": "add_tag", "tag_name": "faqbot_handoff"} in block["content"]["actions"]
    (escalation,) = api.escalations()
    assert escalation.reason is EscalationReason.NO_ANSWER
    assert (escalation.bot_id, escalation.contact_id, escalation.channel) == ("demo", "1515862162", Channel.INSTAGRAM)
    assert escalation.question == UNANSWERABLE
    assert escalation.chat_url == "https://app.manychat.com/fb1001816/chat/1515862162"


def test_a_paused_contact_gets_no_reply_until_resumed(api: Api) -> None:
    # given: a handoff paused the bot for this contact
    api.manychat(UNANSWERABLE)
    # when
    _, while_paused = api.manychat(ANSWERABLE)
    resume_status, resumed = api.resume("1515862162")
    _, after = api.manychat(ANSWERABLE)
    # then
    assert while_paused["content"]["messages"] == [] and status_of(while_paused) == "paused"
    assert resume_status == 200 and resumed == {"bot_id": "demo", "contact_id": "1515862162", "resumed": True}
    assert status_of(after) == "answered" and ANSWER_FRAGMENT in " ".join(texts_of(after))
    kinds = [m.kind.value for m in api.transcript("1515862162") if m.kind]
    assert kinds == ["handoff", "paused", "resumed"]
    assert len(api.escalations()) == 1


def test_a_repeated_request_is_deduplicated(api: Api) -> None:
    # when: ManyChat retries the same request three times
    responses = [api.manychat_retry(UNANSWERABLE) for _ in range(3)]
    # then: the same reply, one transcript entry per side, one escalation
    assert responses[0] == responses[1] == responses[2]
    roles = [m.role.value for m in api.transcript("1515862162") if m.kind is None]
    assert roles == ["customer", "bot"]
    assert len(api.escalations()) == 1


def test_clarify_then_pick_by_number(api: Api) -> None:
    # given: a question two entries answer
    status, offer = api.manychat("скільки коштує", channel=Channel.TELEGRAM)
    assert status == 200
    assert_valid_dynamic_block(offer, Channel.TELEGRAM)
    if status_of(offer) != "clarify":
        pytest.fail(f"expected a clarifying question, got {status_of(offer)}: {texts_of(offer)}")
    numbered = texts_of(offer)[-1]
    assert numbered.startswith("1. ")
    # when
    _, picked = api.manychat("2", channel=Channel.TELEGRAM)
    # then
    assert status_of(picked) == "answered"


def test_bot_health_shows_the_live_kb(api: Api, load_event: Callable[[str], dict[str, Any]]) -> None:
    status, health = api.call(load_event("bot_health"))
    assert status == 200
    assert health["kb"]["version"] >= 1 and health["kb"]["entry_count"] == 25
    status, liveness = api.call(load_event("health"))
    assert status == 200 and set(liveness) == {"status", "version"}


def _set_path(event: dict[str, Any], path: str) -> None:
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e["headers"].pop("authorization"), 401),
        (lambda e: e["headers"].update(authorization="Bearer wrong"), 401),
        (lambda e: e["headers"].update({"authorization": "Basic ZGVtbw=="}), 401),
        (lambda e: _set_path(e, "/bots/nosuchbot/manychat"), 404),
        (lambda e: _set_path(e, "/bots/Not_A..Valid-Id!/manychat"), 404),
        (lambda e: e.update(body="{not json"), 400),
        (lambda e: e.update(body="[1, 2, 3]"), 400),
        (lambda e: e.update(body='{"first_name": "no id"}'), 400),
        (lambda e: e.update(body=""), 400),
        (lambda e: e.update(body=json.dumps({"id": "1", "last_input_text": "x" * 100_000})), 413),
        (lambda e: e.update(rawQueryString="channel=myspace", queryStringParameters={"channel": "myspace"}), 400),
    ],
)
def test_bad_requests_get_a_4xx_with_a_reason(
    api: Api, load_event: Callable[[str], dict[str, Any]], change: Any, expected: int
) -> None:
    # given
    event = load_event("manychat_instagram")
    change(event)
    # when
    status, body = api.call(event)
    # then
    assert status == expected
    assert isinstance(body, dict) and body.get("error")


def test_bot_health_needs_the_secret(api: Api, load_event: Callable[[str], dict[str, Any]]) -> None:
    event = load_event("bot_health")
    event["headers"].pop("authorization")
    assert api.call(event)[0] == 401


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=6),
    max_leaves=20,
)
_contact_like = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=30), st.integers(), st.none())},
    optional={
        "last_input_text": st.one_of(st.text(max_size=300), st.none(), st.integers()),
        "custom_fields": _json,
        "tags": _json,
        "whatsapp_phone": _json,
        "name": _json,
        "phone": _json,
        "email": _json,
        "live_chat_url": _json,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["manychat", "smartsender"]),
    body=st.one_of(
        _json.map(lambda v: json.dumps(v)),
        _contact_like.map(lambda v: json.dumps(v)),
        st.text(max_size=300),
    ),
    channel=st.one_of(st.none(), st.sampled_from(["telegram", "viber", "x", ""])),
)
def test_arbitrary_bodies_never_cause_a_5xx(
    api: Api, load_event: Callable[[str], dict[str, Any]], path: str, body: str, channel: str | None
) -> None:
    # given
    event = copy.deepcopy(load_event("manychat_instagram" if path == "manychat" else "smartsender_message"))
    event["body"] = body
    if channel is not None:
        event["queryStringParameters"] = {"channel": channel}
    # when
    status, _ = api.call(event)
    # then
    assert status < 500
