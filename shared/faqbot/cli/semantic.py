"""`faqbot semantic on|off|status|embed`: the Amazon Bedrock semantic tier of one bot (docs/semantic.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from faqbot.cli import cli
from faqbot.cli._common import aws_target


@cli.group("semantic")
def semantic_group() -> None:
    """The optional Bedrock tier of one bot: switch it on or off, see its use, embed its live KB."""


def _tables() -> tuple[Any, Any]:
    from faqbot import aws
    from faqbot.settings import webhook_settings

    settings = webhook_settings()
    dynamodb = aws.dynamodb()
    return dynamodb.Table(settings.kb_table_name), dynamodb.Table(settings.conversations_table_name)


def _bot(bot_id: str) -> Any:
    from faqbot.bots.registry import BotRegistry, UnknownBot

    registry = BotRegistry(_tables()[0], cache_seconds=0)
    try:
        return registry, registry.get(bot_id)
    except UnknownBot as exc:
        raise click.ClickException(str(exc)) from exc


@semantic_group.command("on")
@click.argument("bot_id")
@click.option(
    "--settings",
    "settings_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON of `semantic` settings (models, weights, thresholds, budget); default: keep the bot's.",
)
@click.option("--no-embed", is_flag=True, help="Do not embed the live KB now (the next upload will).")
@aws_target
def on_command(bot_id: str, settings_file: Path | None, no_embed: bool) -> None:
    """Switch the tier on for BOT_ID and embed its live KB (running webhooks notice within 30 s)."""
    from pydantic import ValidationError

    from faqbot.config import SemanticSettings

    registry, bot = _bot(bot_id)
    try:
        settings = (
            SemanticSettings.model_validate_json(settings_file.read_text(encoding="utf-8"))
            if settings_file
            else bot.semantic
        )
    except ValidationError as error:
        raise click.ClickException(f"{settings_file}: not valid semantic settings:\n{error}") from error
    bot = bot.model_copy(update={"semantic": settings.model_copy(update={"enabled": True})})
    registry.put(bot)
    click.echo(
        f"semantic tier on for bot {bot_id}: {bot.semantic.embedding_model_id}, judge "
        f"{bot.semantic.judge_model_id if bot.semantic.judge_enabled else 'off'}, "
        f"budget {bot.semantic.monthly_call_budget} calls/month"
    )
    if not no_embed:
        _embed(bot)


@semantic_group.command("off")
@click.argument("bot_id")
@aws_target
def off_command(bot_id: str) -> None:
    """Switch the tier off for BOT_ID: no Bedrock call from the next minute on (its settings are kept)."""
    registry, bot = _bot(bot_id)
    registry.put(bot.model_copy(update={"semantic": bot.semantic.model_copy(update={"enabled": False})}))
    click.echo(f"semantic tier off for bot {bot_id}")


@semantic_group.command("embed")
@click.argument("bot_id")
@aws_target
def embed_command(bot_id: str) -> None:
    """Embed BOT_ID's live KB now (only entries whose text has no stored vector yet)."""
    _, bot = _bot(bot_id)
    if not bot.semantic.enabled:
        raise click.ClickException(f"bot {bot_id} has the semantic tier off: faqbot semantic on {bot_id}")
    _embed(bot)


@semantic_group.command("status")
@click.argument("bot_id")
@aws_target
def status_command(bot_id: str) -> None:
    """BOT_ID's semantic settings, stored vectors and Bedrock calls this month."""
    from faqbot.semantic.budget import MonthlyBudget
    from faqbot.semantic.vectors import EmbeddingStore

    kb_table, conversations_table = _tables()
    _, bot = _bot(bot_id)
    status = {
        "enabled": bot.semantic.enabled,
        "settings": bot.semantic.model_dump(mode="json", exclude={"enabled"}),
        "stored_vectors": len(EmbeddingStore(kb_table).hashes(bot_id)),
        "calls_this_month": MonthlyBudget(conversations_table).used(bot_id),
    }
    click.echo(json.dumps(status, ensure_ascii=False, indent=2))


def _embed(bot: Any) -> None:
    from faqbot.kb.store import KnowledgeBaseStore
    from faqbot.semantic.ingest import SemanticIngest
    from faqbot.semantic.metrics import RecordingMetrics

    kb_table, _ = _tables()
    store = KnowledgeBaseStore(kb_table)
    active = store.active(bot.bot_id, consistent=True)
    if active is None:
        click.echo(f"bot {bot.bot_id} has no KB yet: its first upload is embedded")
        return
    ingest = SemanticIngest.for_table(kb_table)
    ingest.metrics = RecordingMetrics()
    summary = ingest.prepare(bot, store.load_entries(bot.bot_id, active.version), kept=store)
    assert summary is not None
    click.echo(
        f"KB version {active.version}: {summary.embedded} entries embedded, {summary.reused} reused, "
        f"{summary.deleted} unused vectors deleted ({summary.tokens} tokens)"
    )
    if summary.error:
        raise click.ClickException(f"some entries were not embedded: {summary.error}")
