"""kb_ingest's semantic step: embed a new KB version's entries before it goes live, reusing unchanged ones.

Only for bots whose config enables the tier. Texts whose vector is already stored (same text, model
and size: the hash) are not embedded again; vectors no kept version uses any more are deleted.
A Bedrock failure never blocks the KB: the version goes live and the webhook answers lexically
until a later upload embeds it (the tier looks for vectors again every minute).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from faqbot.config import BotConfig, SemanticSettings
from faqbot.kb.models import KbEntry
from faqbot.semantic.bedrock import BedrockClient, BedrockUnavailable, FailureReason
from faqbot.semantic.metrics import PowertoolsMetrics, SemanticMetrics
from faqbot.semantic.tier import real_bedrock
from faqbot.semantic.vectors import EmbeddingStore, StoredVector, VectorStore, entry_text, text_hash

logger = logging.getLogger(__name__)

INGEST_TIMEOUT_SECONDS = 10.0  # nobody waits on ingest; a slow call is retried, not abandoned
_RETRIES = (0.5, 1.0, 2.0)  # seconds slept before each retry of a throttled or timed-out call


class KeptVersions(Protocol):
    """What the step needs of `faqbot.kb.store.KnowledgeBaseStore`: the versions a rollback may bring back."""

    def versions(self, bot_id: str) -> Sequence[Any]: ...

    def load_entries(self, bot_id: str, version: int) -> list[KbEntry]: ...


@dataclass(frozen=True)
class EmbedSummary:
    embedded: int
    reused: int
    deleted: int
    tokens: int
    error: str | None = None


@dataclass
class SemanticIngest:
    bedrock: Callable[[], BedrockClient]
    vectors: VectorStore
    metrics: SemanticMetrics = field(default_factory=PowertoolsMetrics)
    concurrency: int = 4
    sleep: Callable[[float], None] = time.sleep
    # kb_ingest has 120 s for everything: past this, the rest is left for the next upload (or `faqbot semantic embed`).
    deadline_seconds: float = 60.0

    @classmethod
    def for_table(cls, kb_table: Any) -> SemanticIngest:
        return cls(bedrock=real_bedrock(INGEST_TIMEOUT_SECONDS), vectors=EmbeddingStore(kb_table))

    def prepare(
        self, config: BotConfig, entries: Sequence[KbEntry], *, kept: KeptVersions | None = None
    ) -> EmbedSummary | None:
        """Store a vector for every entry of the version about to go live; None when the bot has the tier off."""
        if not config.semantic.enabled:
            return None
        try:
            return self._prepare(config.bot_id, config.semantic, entries, kept)
        except Exception as exc:  # the KB goes live regardless
            logger.exception("could not embed the KB of bot %s; it goes live without the semantic tier", config.bot_id)
            self.metrics.count("SemanticFallback", config.bot_id, reason="ingest")
            return EmbedSummary(embedded=0, reused=0, deleted=0, tokens=0, error=str(exc))

    def _prepare(
        self, bot_id: str, settings: SemanticSettings, entries: Sequence[KbEntry], kept: KeptVersions | None
    ) -> EmbedSummary:
        texts = {
            text_hash(text, settings): text for text in (entry_text(e, settings.answer_prefix_chars) for e in entries)
        }
        stored = self.vectors.hashes(bot_id)
        missing = [digest for digest in texts if digest not in stored]
        computed: dict[str, StoredVector] = {}
        error: str | None = None
        deadline = time.monotonic() + self.deadline_seconds
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = {digest: pool.submit(self._embed, texts[digest], settings, deadline) for digest in missing}
            for digest, future in futures.items():
                try:
                    computed[digest] = future.result()
                except BedrockUnavailable as exc:
                    error = error or str(exc)
        if computed:
            self.vectors.put_many(bot_id, computed, settings)
        tokens = sum(v.tokens for v in computed.values())
        self.metrics.count("SemanticCalls", bot_id, len(missing), kind="embed")
        self.metrics.count("SemanticEmbedded", bot_id, len(computed))
        self.metrics.count("SemanticReused", bot_id, len(texts) - len(missing))
        self.metrics.cost(bot_id, tokens / 1000 * settings.embedding_price_per_1k_tokens, kind="embed")
        deleted = self._prune(bot_id, settings, stored | set(computed), set(texts), kept)
        if error:
            logger.warning(
                "bot %s: %d of %d entry texts not embedded: %s", bot_id, len(missing) - len(computed), len(texts), error
            )
        return EmbedSummary(
            embedded=len(computed), reused=len(texts) - len(missing), deleted=deleted, tokens=tokens, error=error
        )

    def _embed(self, text: str, settings: SemanticSettings, deadline: float) -> StoredVector:
        for pause in (*_RETRIES, None):
            if time.monotonic() >= deadline:
                raise BedrockUnavailable(FailureReason.TIMEOUT, f"ingest spent its {self.deadline_seconds:g} s")
            try:
                embedding = self.bedrock().embed(
                    text,
                    model_id=settings.embedding_model_id,
                    dimensions=settings.embedding_dimensions,
                    purpose="document",
                    timeout_seconds=INGEST_TIMEOUT_SECONDS,
                )
                return StoredVector(embedding.vector, embedding.input_tokens)
            except BedrockUnavailable as exc:
                if pause is None or exc.reason not in (FailureReason.THROTTLED, FailureReason.TIMEOUT):
                    raise
                self.sleep(pause)
        raise AssertionError("unreachable")

    def _prune(
        self, bot_id: str, settings: SemanticSettings, stored: set[str], new: set[str], kept: KeptVersions | None
    ) -> int:
        """Delete vectors neither the new version nor a kept (ready) version uses."""
        if kept is None:
            return 0
        used = set(new)
        for version in kept.versions(bot_id):
            if getattr(version, "status", "ready") == "ready":
                for entry in kept.load_entries(bot_id, int(version.version)):
                    used.add(text_hash(entry_text(entry, settings.answer_prefix_chars), settings))
        stale = stored - used
        if stale:
            self.vectors.delete(bot_id, stale)
        return len(stale)
