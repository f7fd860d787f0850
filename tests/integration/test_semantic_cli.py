"""`faqbot eval --semantic` / `faqbot ask --semantic`: a plain message without credentials; the tier with them."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import boto3
import faqbot.cli.match  # registers `eval` and `ask` on `cli`
import faqbot.cli.semantic  # noqa: F401 - registers `semantic`
import faqbot.semantic.evaluation as semantic_evaluation
import faqbot.semantic.ingest as semantic_ingest
import pytest
from click.testing import CliRunner
from faqbot import aws, settings
from faqbot.bots.registry import BotRegistry
from faqbot.cli import cli
from faqbot.config import BotConfig
from faqbot.kb.spreadsheet import load_kb_file
from faqbot.kb.store import KnowledgeBaseStore
from faqbot.semantic.bedrock import BedrockClient
from faqbot.semantic.vectors import EmbeddingStore
from moto import mock_aws
from support.fake_bedrock import FakeBedrockRuntime
from support.tables import create_pk_sk_table
from webhook_support import create_conversations_table

pytestmark = pytest.mark.integration

BENCH = Path(__file__).parents[1] / "data" / "bench"
KB = BENCH / "dental_clinic_ru.csv"
QUERIES = BENCH / "dental_clinic_ru.queries.csv"


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "--kb", str(KB), "--queries", str(QUERIES), "--semantic"],
        ["ask", "--kb", str(KB), "--semantic", "а если он не приживётся?"],
    ],
)
def test_without_credentials_semantic_says_so_plainly(no_credentials: None, args: list[str]) -> None:
    # when
    result = CliRunner().invoke(cli, args)

    # then: a usage message, exit code 1, no traceback
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "--semantic calls Amazon Bedrock and needs AWS credentials" in result.output
    assert "Traceback" not in result.output


def test_eval_with_the_tier_embeds_the_kb_and_only_the_unsure_messages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given: the real code path, with the fake in place of the bedrock-runtime client
    fake = FakeBedrockRuntime(meanings={"прижив": "implant", "имплант": "implant"})
    monkeypatch.setattr(semantic_evaluation, "require_credentials", lambda: None)
    monkeypatch.setattr(semantic_evaluation, "bedrock_runtime_client", lambda timeout: fake)
    details = tmp_path / "plain.csv"
    plain = CliRunner().invoke(cli, ["eval", "--kb", str(KB), "--queries", str(QUERIES), "--details", str(details)])
    assert plain.exit_code == 0, plain.output
    with details.open(encoding="utf-8", newline="") as handle:
        unsure = [row["query"] for row in csv.DictReader(handle) if row["decision"] in ("clarify", "escalate")]
    entries = len(KB.read_text(encoding="utf-8").splitlines()) - 1

    # when
    result = CliRunner().invoke(cli, ["eval", "--kb", str(KB), "--queries", str(QUERIES), "--semantic", "--json"])

    # then
    assert result.exit_code == 0, result.output
    assert unsure
    assert fake.embedded_texts()[entries:] == unsure
    summary = next(line for line in result.output.splitlines() if line.startswith("semantic tier"))
    assert f"{entries} entries embedded, {entries + len(unsure)} embedding" in summary
    assert "estimated cost $" in summary
    assert json.loads(result.output.splitlines()[-1])["queries"] == len(QUERIES.read_text().splitlines()) - 1


def test_semantic_settings_file_is_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # given
    settings = tmp_path / "semantic.json"
    settings.write_text(json.dumps({"embedding_dimensions": 300}), encoding="utf-8")
    monkeypatch.setattr(semantic_evaluation, "require_credentials", lambda: None)

    # when
    result = CliRunner().invoke(
        cli, ["ask", "--kb", str(KB), "--semantic", "--semantic-settings", str(settings), "гарантия"]
    )

    # then
    assert result.exit_code == 1
    assert "not valid semantic settings" in result.output


# ------------------------------------------------------------------------------------------ faqbot semantic


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "KB_TABLE_NAME": "KbTable",
        "CONVERSATIONS_TABLE_NAME": "ConversationsTable",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    fake = FakeBedrockRuntime()
    monkeypatch.setattr(semantic_ingest, "real_bedrock", lambda timeout: lambda: BedrockClient(fake))
    aws.reset()
    settings.reset()
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="eu-central-1")
        table = create_pk_sk_table(dynamodb, "KbTable")
        create_conversations_table(dynamodb)
        registry = BotRegistry(table, cache_seconds=0)
        registry.put(BotConfig(bot_id="dental"))
        store = KnowledgeBaseStore(table)
        store.publish("dental", load_kb_file(KB), source="faq.csv")
        yield SimpleNamespace(fake=fake, registry=registry, vectors=EmbeddingStore(table))
    aws.reset()
    settings.reset()


def test_switching_the_tier_on_for_one_bot_embeds_its_live_kb(deployed: SimpleNamespace, tmp_path: Path) -> None:
    # given
    settings_file = tmp_path / "semantic.json"
    settings_file.write_text(json.dumps({"embedding_dimensions": 256, "monthly_call_budget": 500}), encoding="utf-8")
    entries = len(load_kb_file(KB))

    # when
    on = CliRunner().invoke(cli, ["semantic", "on", "dental", "--settings", str(settings_file)])

    # then
    assert on.exit_code == 0, on.output
    assert f"{entries} entries embedded, 0 reused" in on.output
    bot = deployed.registry.get("dental")
    assert bot.semantic.enabled and bot.semantic.embedding_dimensions == 256
    assert bot.semantic.monthly_call_budget == 500
    assert len(deployed.vectors.hashes("dental")) == entries

    # when: status, then off
    status = CliRunner().invoke(cli, ["semantic", "status", "dental"])
    off = CliRunner().invoke(cli, ["semantic", "off", "dental"])

    # then
    assert json.loads(status.output)["stored_vectors"] == entries
    assert json.loads(status.output)["calls_this_month"] == 0
    assert off.exit_code == 0
    assert deployed.registry.get("dental").semantic.enabled is False
    assert deployed.registry.get("dental").semantic.embedding_dimensions == 256


def test_embed_refuses_a_bot_with_the_tier_off(deployed: SimpleNamespace) -> None:
    # when
    result = CliRunner().invoke(cli, ["semantic", "embed", "dental"])

    # then
    assert result.exit_code == 1
    assert "semantic tier off" in result.output
    assert deployed.fake.calls == []
