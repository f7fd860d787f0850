"""Lexical and semantic evidence combined into one ranking, decided by the bot's semantic thresholds.

The embedding similarity of a message and an entry (cosine of normalised vectors) is rescaled from
[`similarity_floor`, `similarity_ceiling`] to [0, 1] — raw cosines of unrelated texts are not 0 —
and mixed with the matcher's score: `(w_lex * lexical + w_sem * semantic) / (w_lex + w_sem)`.
An entry's coverage (how much of the message it explains) is the better of the matcher's coverage
and the rescaled similarity: a paraphrase that shares no word is explained by meaning alone.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence

from faqbot.config import SemanticSettings
from faqbot.kb.matcher import Candidate, Decision, decide
from faqbot.kb.models import KbEntry
from faqbot.semantic.vectors import Vector


def cosine(a: Vector, b: Vector) -> float:
    """Dot product of two normalised vectors (pure Python: no numpy on the webhook's path)."""
    if len(a) != len(b):
        return 0.0
    return float(sum(map(operator.mul, a, b)))


def rescaled(similarity: float, settings: SemanticSettings) -> float:
    span = settings.similarity_ceiling - settings.similarity_floor
    return min(1.0, max(0.0, (similarity - settings.similarity_floor) / span))


def combine(
    entries: Sequence[KbEntry],
    lexical: Sequence[Candidate],
    similarities: Mapping[str, float],
    settings: SemanticSettings,
) -> list[Candidate]:
    """Every entry with combined score and coverage, best first (ties keep the KB's order)."""
    by_id = {candidate.entry.id: candidate for candidate in lexical}
    total = settings.lexical_weight + settings.semantic_weight
    ranked = []
    for entry in entries:
        semantic = rescaled(similarities.get(entry.id, settings.similarity_floor), settings)
        found = by_id.get(entry.id)
        lexical_score, lexical_coverage = (found.score, found.coverage) if found else (0.0, 0.0)
        score = (settings.lexical_weight * lexical_score + settings.semantic_weight * semantic) / total
        ranked.append(Candidate(entry, round(score, 4), round(max(lexical_coverage, semantic), 4)))
    ranked.sort(key=lambda candidate: -candidate.score)
    return ranked


def decide_combined(ranked: Sequence[Candidate], settings: SemanticSettings) -> tuple[Decision, tuple[KbEntry, ...]]:
    """The matcher's own decision rule, on combined scores and the semantic thresholds."""
    return decide(ranked, settings.thresholds)


def judge_candidates(ranked: Sequence[Candidate], settings: SemanticSettings) -> list[KbEntry]:
    """The one to three candidates worth a judge's look: plausible, and close to the top one."""
    if not ranked:
        return []
    t = settings.thresholds
    top = ranked[0].score
    return [
        c.entry
        for c in ranked[: t.clarify_max_choices]
        if c.score >= t.clarify_min_score and c.score >= top - settings.judge_window
    ]


def plausible(ranked: Sequence[Candidate], choices: Sequence[KbEntry], settings: SemanticSettings) -> list[KbEntry]:
    """The offered choices that have evidence of their own (`decide` pads a lone one with the runner-up)."""
    scores = {c.entry.id: c.score for c in ranked}
    return [entry for entry in choices if scores.get(entry.id, 0.0) >= settings.thresholds.clarify_min_score]
