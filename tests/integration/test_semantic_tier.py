"""The semantic tier end to end on moto: kb_ingest stores and reuses vectors; the webhook's decision path
consults Bedrock (a fake speaking the real shapes) only when the matcher is unsure, within the budget."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from faqbot.bots.registry import BotRegistry
from faqbot.channels.models import InboundMessage, ReplyStatus
from faqbot.config import BotConfig, Channel, Language, Platform, SemanticSettings
from faqbot.conversation.knowledge import MatcherCache
from faqbot.conversation.service import ConversationService
from faqbot.conversation.store import ConversationStore
from faqbot.kb.ingest import ingest_object
from faqbot.kb.store import KnowledgeBaseStore
from faqbot.semantic.bedrock import BedrockClient
from faqbot.semantic.budget import MonthlyBudget
from faqbot.semantic.ingest import SemanticIngest
from faqbot.semantic.metrics import RecordingMetrics
from faqbot.semantic.tier import SemanticTier
from faqbot.semantic.vectors import EmbeddingStore, entry_hashes
from moto import mock_aws
from support.fake_bedrock import FakeBedrockRuntime
from support.tables import create_pk_sk_table, plain_client
from webhook_support import FakePublisher, create_conversations_table

pytestmark = pytest.mark.integration

BUCKET, BOT = "KbBucket", "dental"
HEADER = ["№", "Вопрос", "Варианты вопроса", "Ответ"]
ROWS = [
    ["1", "Гарантия на имплант", "Какая гарантия на импланты?", "На импланты даём гарантию 10 лет."],
    ["2", "Сколько стоит чистка зубов?", "", "Профессиональная чистка — 1500 грн."],
    ["3", "Как записаться на приём?", "", "Запишитесь по телефону или в Instagram."],
    ["4", "Гарантия на пломбу", "", "На пломбы гарантия 1 год."],
    ["5", "Часы работы клиники", "", "Мы работаем ежедневно с 9 до 20."],
]
MEANINGS = {"прижив": "implant", "имплант": "implant", "гарант": "warranty", "пломб": "filling", "чистк": "cleaning"}
PARAPHRASE = "а если он не приживётся?"
CONFIDENT = "Какая гарантия на имплант?"


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    return buffer.getvalue().encode()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="eu-central-1")
        kb_table = create_pk_sk_table(dynamodb, "KbTable")
        conversations = create_conversations_table(dynamodb)
        s3 = boto3.client("s3", region_name="eu-central-1")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        fake = FakeBedrockRuntime(meanings=MEANINGS)
        client = BedrockClient(fake)
        metrics = RecordingMetrics()
        budget = MonthlyBudget(conversations)
        kb = KnowledgeBaseStore(kb_table)
        publisher = FakePublisher()
        tier = SemanticTier(bedrock=lambda: client, vectors=EmbeddingStore(kb_table), budget=budget, metrics=metrics)
        yield SimpleNamespace(
            kb_table=kb_table,
            conversations=conversations,
            s3=s3,
            fake=fake,
            metrics=metrics,
            budget=budget,
            kb=kb,
            registry=BotRegistry(kb_table, cache_seconds=0),
            vectors=EmbeddingStore(kb_table),
            ingest=SemanticIngest(
                bedrock=lambda: client, vectors=EmbeddingStore(kb_table), metrics=metrics, sleep=lambda _: None
            ),
            publisher=publisher,
            service=ConversationService(
                store=ConversationStore(plain_client(conversations), conversations.name),
                matchers=MatcherCache(kb, semantic=tier),
                publisher=publisher,  # type: ignore[arg-type]
            ),
        )


def configure(world: SimpleNamespace, *, enabled: bool = True, **fields: Any) -> BotConfig:
    config = BotConfig(bot_id=BOT, language=Language.RU, semantic=SemanticSettings(enabled=enabled), **fields)
    world.registry.put(config)
    return config


def upload(world: SimpleNamespace, rows: list[list[str]], name: str = "faq.csv") -> Any:
    key = f"kb/{BOT}/{name}"
    world.s3.put_object(Bucket=BUCKET, Key=key, Body=csv_bytes(rows))
    return ingest_object(world.s3, BUCKET, key, store=world.kb, registry=world.registry, semantic=world.ingest)


def say(world: SimpleNamespace, config: BotConfig, text: str, contact: str = "c1") -> Any:
    message = InboundMessage(platform=Platform.MANYCHAT, contact_id=contact, channel=Channel.INSTAGRAM, text=text)
    return world.service.handle(config, message)


def stored_hashes(world: SimpleNamespace) -> set[str]:
    return world.vectors.hashes(BOT)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------ ingest


def test_ingest_embeds_every_entry_then_only_changed_rows(world: SimpleNamespace) -> None:
    # given
    config = configure(world)

    # when
    first = upload(world, ROWS)

    # then: one vector per entry, stored before the version went live
    assert first.activated_version == 1
    entries = world.kb.load_entries(BOT, 1)
    assert stored_hashes(world) == set(entry_hashes(entries, config.semantic).values())
    assert world.fake.count("invoke_model") == len(ROWS)
    assert {len(vector) for vector in world.vectors.load(BOT).values()} == {config.semantic.embedding_dimensions}

    # when: the same sheet with one answer edited
    world.fake.calls.clear()
    changed = [row[:] for row in ROWS]
    changed[3][3] = "На пломбы гарантия 2 года."
    second = upload(world, changed)

    # then: only that row is embedded again; the old text's vector stays for the kept version 1
    assert second.activated_version == 2
    assert world.fake.embedded_texts() == ["Гарантия на пломбу\nНа пломбы гарантия 2 года."]
    assert len(stored_hashes(world)) == len(ROWS) + 1
    assert world.metrics.total("SemanticReused") == len(ROWS) - 1


def test_ingest_deletes_vectors_that_no_kept_version_uses(world: SimpleNamespace) -> None:
    # given: no old versions are kept
    configure(world, kb_versions_kept=0)
    upload(world, ROWS)
    changed = [row[:] for row in ROWS]
    changed[0][3] = "Гарантия на импланты — пожизненная."
    upload(world, changed)

    # when: the next upload (version 1 was pruned when version 2 went live)
    upload(world, changed)

    # then
    live = world.kb.load_entries(BOT, world.kb.active(BOT).version)
    assert stored_hashes(world) == set(entry_hashes(live, SemanticSettings(enabled=True)).values())


def test_ingest_with_the_tier_off_makes_no_call_and_stores_no_vector(world: SimpleNamespace) -> None:
    # given
    configure(world, enabled=False)

    # when
    result = upload(world, ROWS)

    # then
    assert result.activated_version == 1
    assert world.fake.calls == []
    assert stored_hashes(world) == set()


def test_bedrock_throttling_at_ingest_does_not_hold_the_kb_back(world: SimpleNamespace) -> None:
    # given
    configure(world)
    world.fake.fail["embed"] = "throttle"

    # when
    result = upload(world, ROWS)

    # then: live without vectors (retried 3 times per text), and the webhook answers lexically
    assert result.activated_version == 1
    assert stored_hashes(world) == set()
    assert world.fake.count("invoke_model") == len(ROWS) * 4


# ------------------------------------------------------------------------------------------ the webhook path


def test_the_webhook_calls_bedrock_only_when_the_matcher_is_unsure(world: SimpleNamespace) -> None:
    # given
    config = configure(world)
    upload(world, ROWS)
    world.fake.calls.clear()

    # when: a question the matcher answers by itself
    confident = say(world, config, CONFIDENT)

    # then
    assert confident.status is ReplyStatus.ANSWERED and confident.entry_id == "1"
    assert world.fake.calls == []

    # when: a paraphrase sharing no word with the KB
    paraphrase = say(world, config, PARAPHRASE, contact="c2")

    # then: the client's own answer, after exactly one embedding call, counted against the budget
    assert paraphrase.status is ReplyStatus.ANSWERED
    assert paraphrase.texts == ("На импланты даём гарантию 10 лет.",)
    assert world.fake.embedded_texts() == [PARAPHRASE]
    assert world.budget.used(BOT) == 1
    assert world.publisher.escalations == []


def test_the_webhook_with_the_tier_off_makes_no_call(world: SimpleNamespace) -> None:
    # given: vectors exist, but the bot has the tier switched off
    configure(world)
    upload(world, ROWS)
    config = configure(world, enabled=False)
    world.fake.calls.clear()

    # when
    reply = say(world, config, PARAPHRASE)

    # then
    assert reply.status is ReplyStatus.HANDOFF
    assert world.fake.calls == []


def test_throttled_bedrock_gives_the_lexical_handoff(world: SimpleNamespace) -> None:
    # given
    config = configure(world)
    upload(world, ROWS)
    world.fake.fail["embed"] = "throttle"

    # when
    reply = say(world, config, PARAPHRASE)

    # then
    assert reply.status is ReplyStatus.HANDOFF
    assert len(world.publisher.escalations) == 1
    assert world.metrics.total("SemanticFallback", reason="throttled") == 1


def test_the_monthly_budget_stops_calls_until_the_next_month(world: SimpleNamespace) -> None:
    # given
    month = [datetime(2026, 11, 30, 23, 0, tzinfo=UTC)]
    budget = MonthlyBudget(world.conversations, clock=lambda: month[0])

    # when
    spent = [budget.try_spend(BOT, limit=2) for _ in range(3)]
    month[0] = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    next_month = budget.try_spend(BOT, limit=2)

    # then
    assert spent == [True, True, False]
    assert next_month is True
    assert budget.used(BOT) == 1


def test_an_exhausted_budget_keeps_the_webhook_lexical(world: SimpleNamespace) -> None:
    # given
    config = configure(world)
    config = config.model_copy(update={"semantic": config.semantic.model_copy(update={"monthly_call_budget": 0})})
    upload(world, ROWS)
    world.fake.calls.clear()

    # when
    reply = say(world, config, PARAPHRASE)

    # then
    assert reply.status is ReplyStatus.HANDOFF
    assert world.fake.calls == []
