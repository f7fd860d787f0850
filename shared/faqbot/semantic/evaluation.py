"""The semantic tier for `faqbot eval --semantic` / `faqbot ask --semantic`: the real Bedrock, nothing stored.

The KB is embedded into memory (no AWS resource of the stack is touched), every message goes through
the same `SemanticMatcher` the webhook uses, without a budget, and the calls, fallbacks and estimated
cost are reported at the end. Without AWS credentials it stops before any work with a plain message.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from faqbot.config import BotConfig, SemanticSettings
from faqbot.kb.models import KbEntry
from faqbot.semantic.bedrock import BedrockClient, bedrock_runtime_client
from faqbot.semantic.budget import UnlimitedBudget
from faqbot.semantic.ingest import INGEST_TIMEOUT_SECONDS, SemanticIngest
from faqbot.semantic.metrics import RecordingMetrics
from faqbot.semantic.tier import LexicalMatcher, SemanticMatcher, SemanticTier
from faqbot.semantic.vectors import InMemoryVectorStore

EVAL_BOT_ID = "eval"
# Nobody waits on an evaluation: generous per-call limits, so the figures show the model, not the network.
_EVAL_TIMEOUTS = {"timeout_seconds": 5.0, "total_timeout_seconds": 8.0}


class SemanticSetupError(Exception):
    """The tier cannot run here (no credentials, no model access); the message says what to do."""


def summary(matcher: object) -> str:
    """One line: calls, fallbacks by reason, decisions changed and the estimated cost of the run."""
    if not isinstance(matcher, SemanticMatcher) or not isinstance(matcher.tier.metrics, RecordingMetrics):
        return "semantic tier: not used"
    m, settings = matcher.tier.metrics, matcher.settings
    reasons = sorted({dims["reason"] for name, _, dims in m.points if name == "SemanticFallback"})
    fallbacks = ", ".join(f"{reason} {int(m.total('SemanticFallback', reason=reason))}" for reason in reasons)
    judge = settings.judge_model_id if settings.judge_enabled else "off"
    return (
        f"semantic tier ({settings.embedding_model_id}, judge {judge}): "
        f"{int(m.total('SemanticEmbedded'))} entries embedded, "
        f"{int(m.total('SemanticCalls', kind='embed'))} embedding and {int(m.total('SemanticCalls', kind='judge'))} "
        f"judge calls, {int(m.total('SemanticUpgraded'))} decisions changed, fallbacks: {fallbacks or 'none'}; "
        f"estimated cost ${m.total('SemanticEstimatedCost'):.5f}"
    )


def load_settings(path: Path | None) -> SemanticSettings:
    """A bot's `semantic` settings from a JSON file (switched on), or the defaults."""
    from pydantic import ValidationError

    try:
        settings = (
            SemanticSettings.model_validate_json(path.read_text(encoding="utf-8")) if path else SemanticSettings()
        )
    except ValidationError as error:
        raise SemanticSetupError(f"{path}: not valid semantic settings:\n{error}") from error
    return settings.model_copy(update={"enabled": True, **_EVAL_TIMEOUTS})


def require_credentials() -> None:
    import boto3

    if boto3.Session().get_credentials() is None:
        raise SemanticSetupError(
            "--semantic calls Amazon Bedrock and needs AWS credentials, and none were found.\n"
            "Set AWS_PROFILE (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and AWS_REGION for an account with "
            "access to the embedding and judge models enabled in the Bedrock console; or run without --semantic."
        )


def semantic_matcher(
    lexical: LexicalMatcher,
    entries: Sequence[KbEntry],
    settings: SemanticSettings,
    *,
    runtime: object | None = None,
) -> SemanticMatcher:
    """Embed the KB now and return the webhook's semantic matcher over it (`runtime`: a client, for tests)."""
    if runtime is None:
        require_credentials()
        runtime = bedrock_runtime_client(INGEST_TIMEOUT_SECONDS)
    client = BedrockClient(runtime)
    metrics = RecordingMetrics()
    vectors = InMemoryVectorStore()
    bot = BotConfig(bot_id=EVAL_BOT_ID, semantic=settings)
    summary = SemanticIngest(bedrock=lambda: client, vectors=vectors, metrics=metrics).prepare(bot, entries)
    assert summary is not None
    if summary.error:
        raise SemanticSetupError(f"could not embed the KB with {settings.embedding_model_id}: {summary.error}")
    tier = SemanticTier(bedrock=lambda: client, vectors=vectors, budget=UnlimitedBudget(), metrics=metrics)
    matcher = tier.wrap(bot, lexical, entries)
    assert isinstance(matcher, SemanticMatcher)
    return matcher


def cli_matcher(lexical: LexicalMatcher, entries: Sequence[KbEntry], settings_file: Path | None) -> SemanticMatcher:
    """`--semantic` of `faqbot eval` / `faqbot ask`: a usage error (not a traceback) when it cannot run."""
    import click

    try:
        return semantic_matcher(lexical, entries, load_settings(settings_file))
    except SemanticSetupError as error:
        raise click.ClickException(str(error)) from error
