"""The matcher for a bot's live KB version, built once per warm container and re-checked every few seconds.

Building a matcher means loading every entry of the version (one Query) and indexing them, so it is
cached per (bot, version, thresholds). The live pointer is read at most every `recheck_seconds`; if
that read fails (DynamoDB down) the cached matcher keeps answering.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from faqbot.config import BotConfig, MatchThresholds, SemanticSettings
from faqbot.kb.models import KbEntry

logger = logging.getLogger(__name__)


class MatcherLike(Protocol):
    """What the conversation needs of `faqbot.kb.matcher.Matcher`."""

    def match(self, text: str) -> Any: ...

    def resolve_choice(self, text: str, offered_ids: Sequence[str]) -> KbEntry | None: ...


MatcherFactory = Callable[[list[KbEntry], MatchThresholds], MatcherLike]


class KbSource(Protocol):
    """What the cache needs of `faqbot.kb.store.KnowledgeBaseStore`."""

    def active(self, bot_id: str) -> Any: ...

    def load_entries(self, bot_id: str, version: int) -> list[KbEntry]: ...


class SemanticWrapper(Protocol):
    """What the cache needs of `faqbot.semantic.tier.SemanticTier` (the optional Bedrock tier, issue 7)."""

    def wrap(self, bot: BotConfig, lexical: Any, entries: Sequence[KbEntry]) -> Any: ...


def default_matcher_factory(entries: list[KbEntry], thresholds: MatchThresholds) -> MatcherLike:
    from faqbot.kb.matcher import Matcher

    return Matcher(entries, thresholds)


@dataclass(frozen=True)
class LoadedKb:
    """A bot's live KB as the conversation uses it; `matcher` is None when the bot has no KB yet."""

    version: int | None
    matcher: MatcherLike | None
    entries: dict[str, KbEntry] = field(default_factory=dict)
    stale: bool = False  # the live pointer could not be re-read; this is the last known version


@dataclass
class _Cached:
    loaded: LoadedKb
    thresholds: MatchThresholds
    checked_at: float
    semantic: SemanticSettings | None = None

    def fits(self, bot: BotConfig) -> bool:
        """Built with this bot's current matching settings."""
        return self.thresholds == bot.thresholds and self.semantic == bot.semantic


class MatcherCache:
    def __init__(
        self,
        kb: KbSource,
        *,
        factory: MatcherFactory = default_matcher_factory,
        recheck_seconds: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        semantic: SemanticWrapper | None = None,
    ) -> None:
        self._kb = kb
        self._semantic = semantic
        self._factory = factory
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._by_bot: dict[str, _Cached] = {}

    def get(self, bot: BotConfig) -> LoadedKb:
        """The bot's live KB; raises only when the KB table is unreachable and nothing is cached."""
        now = self._clock()
        cached = self._by_bot.get(bot.bot_id)
        if cached and cached.fits(bot) and now - cached.checked_at < self._recheck_seconds:
            return cached.loaded
        try:
            active = self._kb.active(bot.bot_id)
            version = None if active is None else int(active.version)
            if cached and cached.fits(bot) and cached.loaded.version == version:
                cached.checked_at = now
                return cached.loaded
            loaded = self._load(bot, version)
        except Exception:
            if cached is None:
                raise
            logger.exception(
                "could not re-check the live KB of bot %s; answering from version %s", bot.bot_id, cached.loaded.version
            )
            cached.checked_at = now  # do not hammer a failing table on every message
            return replace(cached.loaded, stale=True)
        self._by_bot[bot.bot_id] = _Cached(
            loaded=loaded, thresholds=bot.thresholds, checked_at=now, semantic=bot.semantic
        )
        return loaded

    def _load(self, bot: BotConfig, version: int | None) -> LoadedKb:
        if version is None:
            return LoadedKb(version=None, matcher=None)
        entries = self._kb.load_entries(bot.bot_id, version)
        matcher = self._factory(entries, bot.thresholds)
        if self._semantic is not None:
            matcher = self._semantic.wrap(bot, matcher, entries)  # the same matcher when the bot has it off
        return LoadedKb(
            version=version,
            matcher=matcher,
            entries={entry.id: entry for entry in entries},
        )
