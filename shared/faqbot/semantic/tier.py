"""The webhook's semantic tier: wraps a bot's matcher and consults Bedrock only when the matcher is unsure.

`SemanticMatcher.match`:
1. the matcher decides; `answer`, `smalltalk` and `human` stand as they are — no Bedrock call;
2. otherwise (clarify / escalate), within the bot's monthly budget, the message is embedded and its
   similarity to every entry is combined with the lexical scores (`faqbot.semantic.scorer`);
3. a combined `answer` or `clarify` replaces the matcher's decision; a combined `escalate` does not
   (the tier only ever adds answers and choices);
4. a combined `clarify` goes to the judge (when enabled and time is left) with the one to three
   plausible candidates close to the top: an offered id → answer with that entry; "human" → handoff;
   "none" or anything else → the matcher's decision. Without a judge, the plausible choices are offered.
Any failure — no vectors, budget spent, timeout, throttling, an error — returns the matcher's own
decision and emits `SemanticFallback` with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from faqbot.config import BotConfig, SemanticSettings
from faqbot.kb.matcher import Candidate, Decision, MatchResult
from faqbot.kb.models import KbEntry
from faqbot.semantic.bedrock import BedrockClient, BedrockUnavailable, bedrock_runtime_client
from faqbot.semantic.budget import CallBudget, MonthlyBudget
from faqbot.semantic.judge import HUMAN, MAX_OUTPUT_TOKENS, SYSTEM_PROMPT, judge_prompt, parse_verdict
from faqbot.semantic.metrics import PowertoolsMetrics, SemanticMetrics
from faqbot.semantic.scorer import combine, cosine, decide_combined, judge_candidates, plausible
from faqbot.semantic.vectors import EmbeddingStore, Vector, VectorStore, entry_hashes

logger = logging.getLogger(__name__)

CONFIDENT = frozenset({Decision.ANSWER, Decision.SMALLTALK, Decision.HUMAN})
_SHOWN = 5
_MIN_JUDGE_SECONDS = 0.2  # less time than this left: the combined decision stands without a judge


class LexicalMatcher(Protocol):
    """What the tier needs of `faqbot.kb.matcher.Matcher`."""

    def match(self, text: str) -> Any: ...

    def resolve_choice(self, text: str, offered_ids: Sequence[str]) -> KbEntry | None: ...


class _Fallback(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LazyBedrock:
    """Builds the real bedrock-runtime client at the first call (most bots never need one)."""

    def __init__(self, build: Callable[[], BedrockClient]) -> None:
        self._build = build
        self._client: BedrockClient | None = None
        self._lock = threading.Lock()

    def __call__(self) -> BedrockClient:
        with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client


def real_bedrock(timeout_seconds: float = 1.5) -> LazyBedrock:
    return LazyBedrock(lambda: BedrockClient(bedrock_runtime_client(timeout_seconds)))


@dataclass
class SemanticTier:
    """The tier's collaborators, built once per warm container; `wrap` applies it to one bot's matcher."""

    bedrock: Callable[[], BedrockClient]
    vectors: VectorStore
    budget: CallBudget
    metrics: SemanticMetrics = field(default_factory=PowertoolsMetrics)
    clock: Callable[[], float] = time.monotonic
    retry_seconds: float = 60.0  # missing vectors are looked for again at most this often

    @classmethod
    def for_tables(cls, *, kb_table: Any, conversations_table: Any) -> SemanticTier:
        """Production: vectors in the KB table, the budget in the conversations table, the real Bedrock."""
        return cls(bedrock=real_bedrock(), vectors=EmbeddingStore(kb_table), budget=MonthlyBudget(conversations_table))

    def wrap(self, bot: BotConfig, lexical: LexicalMatcher, entries: Sequence[KbEntry]) -> LexicalMatcher:
        """The bot's matcher with the tier in front of its unsure decisions; unchanged when the tier is off."""
        if not bot.semantic.enabled:
            return lexical
        return SemanticMatcher(bot.bot_id, bot.semantic, lexical, entries, self)


class SemanticMatcher:
    def __init__(
        self,
        bot_id: str,
        settings: SemanticSettings,
        lexical: LexicalMatcher,
        entries: Sequence[KbEntry],
        tier: SemanticTier,
    ) -> None:
        self.bot_id = bot_id
        self.settings = settings
        self.lexical = lexical
        self.entries = tuple(entries)
        self.tier = tier
        self._vectors: dict[str, Vector] | None = None
        self._looked_at: float | None = None
        self._lock = threading.Lock()

    def resolve_choice(self, text: str, offered_ids: Sequence[str]) -> KbEntry | None:
        return self.lexical.resolve_choice(text, offered_ids)

    def match(self, text: str) -> MatchResult:
        result: MatchResult = self.lexical.match(text)
        if result.decision in CONFIDENT:
            return result
        try:
            semantic = self._semantic(text, result)
        except _Fallback as fallback:
            self.tier.metrics.count("SemanticFallback", self.bot_id, reason=fallback.reason)
            return result
        except Exception:
            logger.exception("semantic tier failed for bot %s; the matcher's decision stands", self.bot_id)
            self.tier.metrics.count("SemanticFallback", self.bot_id, reason="error")
            return result
        if semantic.decision is not result.decision or semantic.choices != result.choices:
            self.tier.metrics.count("SemanticUpgraded", self.bot_id, outcome=semantic.decision.value)
        return semantic

    # ---- the tier ---------------------------------------------------------------------------------

    def _semantic(self, text: str, lexical: MatchResult) -> MatchResult:
        started = self.tier.clock()
        vectors = self._entry_vectors()
        if vectors is None:
            raise _Fallback("no_vectors")
        query = self._embed(text)
        similarities = {entry_id: cosine(vector, query) for entry_id, vector in vectors.items()}
        ranked = combine(self.entries, self._lexical_ranking(text, lexical), similarities, self.settings)
        decision, choices = decide_combined(ranked, self.settings)
        if decision is Decision.ESCALATE:
            return lexical  # the tier adds answers and choices; it never takes the matcher's away
        if decision is Decision.ANSWER:
            return MatchResult(Decision.ANSWER, tuple(ranked[:_SHOWN]), choices, lexical.language)
        candidates = judge_candidates(ranked, self.settings)
        left = self.settings.total_timeout_seconds - (self.tier.clock() - started)
        if self.settings.judge_enabled and candidates and left >= _MIN_JUDGE_SECONDS:
            verdict = self._judge(text, candidates, timeout=min(self.settings.timeout_seconds, left))
            if verdict is None:
                return lexical
            if verdict == HUMAN:
                return MatchResult(Decision.ESCALATE, tuple(ranked[:_SHOWN]), (), lexical.language)
            chosen = next(entry for entry in candidates if entry.id == verdict)
            return MatchResult(Decision.ANSWER, _first(ranked, chosen), (chosen,), lexical.language)
        offered = plausible(ranked, choices, self.settings)
        if len(offered) < 2:
            return lexical
        return MatchResult(Decision.CLARIFY, tuple(ranked[:_SHOWN]), tuple(offered), lexical.language)

    def _embed(self, text: str) -> Vector:
        settings, metrics = self.settings, self.tier.metrics
        if not self.tier.budget.try_spend(self.bot_id, settings.monthly_call_budget):
            raise _Fallback("budget")
        try:
            embedding = self.tier.bedrock().embed(
                text,
                model_id=settings.embedding_model_id,
                dimensions=settings.embedding_dimensions,
                purpose="query",
                timeout_seconds=settings.timeout_seconds,
            )
        except BedrockUnavailable as exc:
            logger.warning("semantic embedding unavailable for bot %s: %s", self.bot_id, exc)
            raise _Fallback(exc.reason.value) from exc
        finally:
            metrics.count("SemanticCalls", self.bot_id, kind="embed")
        metrics.cost(self.bot_id, embedding.input_tokens / 1000 * settings.embedding_price_per_1k_tokens, kind="embed")
        return embedding.vector

    def _judge(self, text: str, candidates: list[KbEntry], *, timeout: float) -> str | None:
        """The judge's pick (an offered id or "human"); None: "none", a broken reply, or no judge this time."""
        settings, metrics = self.settings, self.tier.metrics
        if not self.tier.budget.try_spend(self.bot_id, settings.monthly_call_budget):
            raise _Fallback("budget")
        try:
            reply = self.tier.bedrock().converse(
                model_id=settings.judge_model_id,
                system=SYSTEM_PROMPT,
                user_text=judge_prompt(text, candidates),
                max_tokens=MAX_OUTPUT_TOKENS,
                timeout_seconds=timeout,
            )
        except BedrockUnavailable as exc:
            logger.warning("semantic judge unavailable for bot %s: %s", self.bot_id, exc)
            raise _Fallback(exc.reason.value) from exc
        finally:
            metrics.count("SemanticCalls", self.bot_id, kind="judge")
        usd = (
            reply.input_tokens / 1000 * settings.judge_input_price_per_1k_tokens
            + reply.output_tokens / 1000 * settings.judge_output_price_per_1k_tokens
        )
        metrics.cost(self.bot_id, usd, kind="judge")
        verdict = parse_verdict(reply.text, candidates)
        if not verdict.valid:
            logger.warning("judge reply broke the schema for bot %s: %r", self.bot_id, reply.text[:200])
            metrics.count("SemanticFallback", self.bot_id, reason="judge_invalid")
            return None
        if verdict.choice == "none":
            metrics.count("SemanticFallback", self.bot_id, reason="judge_none")
            return None
        return verdict.choice

    def _lexical_ranking(self, text: str, lexical: MatchResult) -> Sequence[Candidate]:
        """Every entry the matcher found evidence for (not only the few it shows)."""
        rank = getattr(self.lexical, "rank", None)
        if callable(rank):
            ranked: Sequence[Candidate] = rank(text, None)
            return ranked
        return lexical.candidates

    def _entry_vectors(self) -> dict[str, Vector] | None:
        """Entry id → vector, once every entry has one; None (looked for again later) until then."""
        with self._lock:
            if self._vectors is not None:
                return self._vectors
            now = self.tier.clock()
            if self._looked_at is not None and now - self._looked_at < self.tier.retry_seconds:
                return None
            self._looked_at = now
            try:
                stored = self.tier.vectors.load(self.bot_id)
            except Exception:
                logger.exception("could not load the entry vectors of bot %s", self.bot_id)
                return None
            hashes = entry_hashes(self.entries, self.settings)
            vectors = {entry_id: stored[digest] for entry_id, digest in hashes.items() if digest in stored}
            if len(vectors) < len(hashes):
                logger.warning(
                    "bot %s: %d of %d entries have no vector (re-upload the KB with the tier on)",
                    self.bot_id,
                    len(hashes) - len(vectors),
                    len(hashes),
                )
                return None
            self._vectors = vectors
            return vectors


def _first(ranked: Sequence[Candidate], chosen: KbEntry) -> tuple[Candidate, ...]:
    """The shown candidates with the judge's pick first."""
    picked = [c for c in ranked if c.entry.id == chosen.id]
    rest = [c for c in ranked if c.entry.id != chosen.id]
    return tuple((picked + rest)[:_SHOWN])
