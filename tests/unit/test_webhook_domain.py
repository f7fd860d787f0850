"""The webhook's domain entry: deduplication of retried requests, auth, and bot administration."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from botocore.exceptions import ClientError
from faqbot.bots.admin import BotExists, create_bot, set_enabled
from faqbot.bots.auth import BotAuthenticator, SecretUnavailable, Unauthorized, presented_token
from faqbot.bots.registry import BotRegistry, UnknownBot, webhook_secret_name
from faqbot.channels.models import ReplyStatus
from faqbot.config import BotConfig, Platform
from faqbot.conversation.knowledge import MatcherCache
from faqbot.conversation.service import ConversationService
from faqbot.conversation.store import ConversationStore
from faqbot.conversation.webhook import BatchingPersistenceLayer, RequestInProgress, Webhook
from faqbot.kb.matcher import Decision
from faqbot.secrets import SecretNotFound, SecretStore
from moto import mock_aws
from webhook_support import FakeKb, FakeMatcher, FakePublisher, create_conversations_table, entry, manychat_contact

REGION = "eu-central-1"
EXECUTOR = ThreadPoolExecutor(max_workers=4)  # as in the Lambda: the turn's writes run concurrently


class Secrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.down = False

    def get(self, name: str) -> str:
        if self.down or name not in self.values:
            raise SecretNotFound(name)
        return self.values[name]

    def put(self, name: str, value: str) -> None:
        self.values[name] = value


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="KbTable",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.create_table(
            TableName="IdempotencyTable",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        create_conversations_table(dynamodb)
        yield dynamodb


@pytest.fixture(params=["batched", "plain"])
def batched(request: pytest.FixtureRequest) -> bool:
    """As `Webhook.from_settings` builds it (the completed record rides in the transcript's batch), or with
    Powertools' own persistence layer."""
    return bool(request.param == "batched")


def _webhook(
    dynamodb: Any,
    publisher: FakePublisher,
    secrets: Secrets,
    *,
    batched: bool = True,
    idempotency_client: Any | None = None,
) -> tuple[Webhook, ConversationStore]:
    client = boto3.client("dynamodb", region_name=REGION)
    store = ConversationStore(client, "ConversationsTable")
    matcher = FakeMatcher({"Скільки коштує доставка?": (Decision.ANSWER, [entry("7", answer="80 грн.")], None)})
    service = ConversationService(
        store=store,
        matchers=MatcherCache(FakeKb([entry("7")]), factory=lambda entries, thresholds: matcher),
        publisher=publisher,  # type: ignore[arg-type]
        executor=EXECUTOR,
    )
    webhook = Webhook(
        auth=BotAuthenticator(BotRegistry(dynamodb.Table("KbTable")), secrets, stage="dev"),
        service=service,
        store=store,
        kb=FakeKb([entry("7")]),  # type: ignore[arg-type]
        idempotency=(BatchingPersistenceLayer if batched else DynamoDBPersistenceLayer)(
            table_name="IdempotencyTable", boto3_client=idempotency_client or client
        ),
        executor=EXECUTOR,
    )
    return webhook, store


def test_a_retried_request_returns_the_same_reply_and_is_recorded_once(aws: Any, batched: bool) -> None:
    # given
    publisher = FakePublisher()
    webhook, store = _webhook(aws, publisher, Secrets({}), batched=batched)
    bot = BotConfig(bot_id="shop")
    body = manychat_contact("Скільки коштує доставка?")
    # when: ManyChat retries the same request
    first, _ = webhook.manychat(bot, body)
    second, _ = webhook.manychat(bot, body)
    # then
    assert first == second
    assert first["content"]["messages"] == [{"type": "text", "text": "80 грн."}]
    assert len(store.messages("shop", "1515862162")) == 2  # the customer's line and the bot's, once


def test_a_retried_handoff_escalates_once(aws: Any, batched: bool) -> None:
    publisher = FakePublisher()
    webhook, _ = _webhook(aws, publisher, Secrets({}), batched=batched)
    bot = BotConfig(bot_id="shop")
    body = manychat_contact("Питання, на яке немає відповіді")
    replies = [webhook.manychat(bot, body)[1] for _ in range(3)]
    assert [r.status for r in replies] == [ReplyStatus.HANDOFF] * 3
    assert len(publisher.escalations) == 1


def test_the_same_words_as_a_new_message_are_handled_again(aws: Any, batched: bool) -> None:
    # given: ManyChat's last_interaction differs between two real messages
    publisher = FakePublisher()
    webhook, store = _webhook(aws, publisher, Secrets({}), batched=batched)
    bot = BotConfig(bot_id="shop")
    # when
    webhook.manychat(bot, manychat_contact("Скільки коштує доставка?", last_interaction="2026-11-25T10:00:00Z"))
    webhook.manychat(bot, manychat_contact("Скільки коштує доставка?", last_interaction="2026-11-25T10:05:00Z"))
    # then
    assert len(store.messages("shop", "1515862162")) == 4


def test_idempotency_table_down_still_answers(aws: Any, batched: bool) -> None:
    publisher = FakePublisher()
    webhook, _ = _webhook(aws, publisher, Secrets({}), batched=batched)
    aws.Table("IdempotencyTable").delete()
    response, reply = webhook.manychat(BotConfig(bot_id="shop"), manychat_contact("Скільки коштує доставка?"))
    assert response["content"]["messages"][0]["text"] == "80 грн." and reply.degraded


def test_a_lost_completed_record_neither_repeats_the_turn_nor_loses_the_transcript(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the batch holding the completed idempotency record and the transcript fails (throttled table)
    publisher = FakePublisher()
    idempotency_client = boto3.client("dynamodb", region_name=REGION)
    failures: list[str] = []

    def fail(**_: Any) -> None:
        failures.append("BatchWriteItem")
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "BatchWriteItem")

    monkeypatch.setattr(idempotency_client, "batch_write_item", fail)
    webhook, store = _webhook(aws, publisher, Secrets({}), idempotency_client=idempotency_client)
    bot = BotConfig(bot_id="shop")
    body = manychat_contact("Питання, на яке немає відповіді")
    # when
    _, reply = webhook.manychat(bot, body)
    # then: one turn (one escalation), its transcript written on its own, the reply marked degraded
    assert failures == ["BatchWriteItem"]
    assert reply.status is ReplyStatus.HANDOFF and reply.degraded
    assert len(publisher.escalations) == 1
    assert [m.role.value for m in store.messages("shop", "1515862162")] == ["customer", "bot", "system", "system"]
    # and a retry of the request, whose record stayed "in progress", is refused rather than handled again
    with pytest.raises(RequestInProgress):
        webhook.manychat(bot, body)
    assert len(publisher.escalations) == 1


# ---- auth -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ({"authorization": "Bearer s3cret"}, "s3cret"),
        ({"Authorization": "bearer  s3cret "}, "s3cret"),
        ({"X-Faqbot-Token": "s3cret"}, "s3cret"),
        ({"authorization": "Basic czNjcmV0"}, None),
        ({"authorization": "Bearer "}, None),
        ({}, None),
    ],
)
def test_presented_token(headers: dict[str, str], token: str | None) -> None:
    assert presented_token(headers) == token


def test_authenticate(aws: Any) -> None:
    # given
    registry = BotRegistry(aws.Table("KbTable"))
    registry.put(BotConfig(bot_id="shop"))
    secrets = Secrets({webhook_secret_name("dev", "shop"): "s3cret"})
    auth = BotAuthenticator(registry, secrets, stage="dev")
    # when / then
    assert auth.authenticate("shop", {"authorization": "Bearer s3cret"}).bot_id == "shop"
    with pytest.raises(Unauthorized, match="wrong token"):
        auth.authenticate("shop", {"authorization": "Bearer s3cret2"})
    with pytest.raises(Unauthorized, match="missing token"):
        auth.authenticate("shop", {})
    with pytest.raises(UnknownBot):
        auth.authenticate("nope", {"authorization": "Bearer s3cret"})
    with pytest.raises(UnknownBot):
        auth.authenticate("../../etc", {"authorization": "Bearer s3cret"})
    # when SSM becomes unreachable, the last known secret keeps the bot working
    secrets.down = True
    assert auth.authenticate("shop", {"x-faqbot-token": "s3cret"}).bot_id == "shop"


def test_bot_without_a_secret_is_a_server_problem(aws: Any) -> None:
    registry = BotRegistry(aws.Table("KbTable"))
    registry.put(BotConfig(bot_id="shop"))
    auth = BotAuthenticator(registry, Secrets({}), stage="dev")
    with pytest.raises(SecretUnavailable):
        auth.authenticate("shop", {"authorization": "Bearer x"})


# ---- administration ---------------------------------------------------------------------------------------


def test_create_bot_stores_config_and_secret_in_ssm(aws: Any) -> None:
    # given
    registry = BotRegistry(aws.Table("KbTable"), cache_seconds=0)
    ssm = boto3.client("ssm", region_name=REGION)
    # when
    created = create_bot(
        registry=registry,
        secret_store=SecretStore(ssm_client=ssm, secrets_client=boto3.client("secretsmanager", region_name=REGION)),
        stage="dev",
        bot_id="shop",
        platform=Platform.SMARTSENDER,
        settings={"display_name": "Shop", "pause_timeout_minutes": 30, "bot_id": "ignored"},
    )
    # then
    stored = registry.get("shop")
    assert (stored.platform, stored.display_name, stored.pause_timeout_minutes) == (Platform.SMARTSENDER, "Shop", 30)
    assert stored.webhook_secret_param == "/faqbot/dev/bots/shop/webhook-secret" == created.secret_name
    value = ssm.get_parameter(Name=created.secret_name, WithDecryption=True)["Parameter"]["Value"]
    assert value == created.secret and len(created.secret) >= 40


def test_create_bot_refuses_an_existing_bot_unless_overwriting(aws: Any) -> None:
    registry = BotRegistry(aws.Table("KbTable"), cache_seconds=0)
    secrets = Secrets({})
    create_bot(
        registry=registry, secret_store=secrets, stage="dev", bot_id="shop", platform=Platform.MANYCHAT, token="a"
    )
    with pytest.raises(BotExists):
        create_bot(registry=registry, secret_store=secrets, stage="dev", bot_id="shop", platform=Platform.MANYCHAT)
    create_bot(
        registry=registry,
        secret_store=secrets,
        stage="dev",
        bot_id="shop",
        platform=Platform.MANYCHAT,
        token="b",
        overwrite=True,
    )
    assert secrets.values["/faqbot/dev/bots/shop/webhook-secret"] == "b"


def test_bot_can_be_switched_off_and_on(aws: Any) -> None:
    registry = BotRegistry(aws.Table("KbTable"), cache_seconds=0)
    registry.put(BotConfig(bot_id="shop"))
    assert set_enabled(registry, "shop", False).enabled is False
    assert registry.get("shop").enabled is False
    assert set_enabled(registry, "shop", True).enabled is True
