"""Batch evaluation of the matcher on labelled customer messages (`faqbot eval`, `faqbot bench`).

A queries file is a CSV `query,expected` where `expected` is a KB id, empty (nothing in the KB
answers it: the bot must not answer from the KB) or `@human` (the customer asks for a person).
Every query goes through exactly the decision code the webhook uses (`Matcher.match`).

Figures (the JSON keys of `faqbot eval --json`):
- `accuracy` = answered_correct / in_scope;
- `resolved` = (answered_correct + clarified_correct) / in_scope, where a clarification counts when
  the expected entry is among the offered choices;
- `wrong_rate` = answers that are not the expected entry / all queries (an answer to an empty or
  `@human` query is wrong);
- `human_recall` = `@human` queries decided `human` / `@human` queries;
- `p50_ms`, `p99_ms`: the time of one `match` call.
"""

from __future__ import annotations

import csv
import itertools
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from faqbot.config import MatchThresholds
from faqbot.kb.intents import closing_remark
from faqbot.kb.matcher import DEFAULT_WEIGHTS, Candidate, Decision, Matcher, MatchResult, Weights, clear_answer, decide
from faqbot.kb.models import KbEntry

HUMAN_LABEL = "@human"


@dataclass(frozen=True)
class LabelledQuery:
    text: str
    expected: str | None  # a KB id, None (out of scope) or "@human"

    @property
    def in_scope(self) -> bool:
        return self.expected not in (None, HUMAN_LABEL)


@dataclass(frozen=True)
class Outcome:
    query: LabelledQuery
    result: MatchResult
    elapsed_ms: float

    @property
    def chosen_ids(self) -> tuple[str, ...]:
        return tuple(entry.id for entry in self.result.choices)

    @property
    def answered(self) -> str | None:
        return self.result.choices[0].id if self.result.decision is Decision.ANSWER else None

    @property
    def top_score(self) -> float:
        return self.result.candidates[0].score if self.result.candidates else 0.0


@dataclass
class Figures:
    """The evaluation figures of one run (or several runs pooled)."""

    queries: int = 0
    in_scope: int = 0
    out_of_scope: int = 0
    human_queries: int = 0
    answered_correct: int = 0
    clarified_correct: int = 0
    wrong_answers: int = 0
    escalated: int = 0
    clarified: int = 0
    clarified_out_of_scope: int = 0
    human_detected: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.add_decision(outcome.query, outcome.result.decision, outcome.chosen_ids, outcome.elapsed_ms)

    def add_decision(
        self, query: LabelledQuery, decision: Decision, chosen_ids: tuple[str, ...], elapsed_ms: float = 0.0
    ) -> None:
        self.queries += 1
        self.latencies_ms.append(elapsed_ms)
        if query.in_scope:
            self.in_scope += 1
        elif query.expected == HUMAN_LABEL:
            self.human_queries += 1
            self.human_detected += decision is Decision.HUMAN
        else:
            self.out_of_scope += 1
        if decision is Decision.ANSWER:
            if chosen_ids[0] == query.expected:
                self.answered_correct += 1
            else:
                self.wrong_answers += 1
        elif decision is Decision.CLARIFY:
            self.clarified += 1
            if query.in_scope and query.expected in chosen_ids:
                self.clarified_correct += 1
            if query.expected is None:
                self.clarified_out_of_scope += 1
        elif decision is Decision.ESCALATE:
            self.escalated += 1

    def merge(self, other: Figures) -> Figures:
        merged = Figures()
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            setattr(merged, name, value + getattr(other, name))
        return merged

    @property
    def accuracy(self) -> float:
        return _ratio(self.answered_correct, self.in_scope)

    @property
    def resolved(self) -> float:
        return _ratio(self.answered_correct + self.clarified_correct, self.in_scope)

    @property
    def wrong_rate(self) -> float:
        return _ratio(self.wrong_answers, self.queries)

    @property
    def human_recall(self) -> float:
        return _ratio(self.human_detected, self.human_queries) if self.human_queries else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "queries": self.queries,
            "in_scope": self.in_scope,
            "answered_correct": self.answered_correct,
            "clarified_correct": self.clarified_correct,
            "wrong_answers": self.wrong_answers,
            "escalated": self.escalated,
            "clarified": self.clarified,
            "clarified_out_of_scope": self.clarified_out_of_scope,
            "accuracy": round(self.accuracy, 4),
            "resolved": round(self.resolved, 4),
            "wrong_rate": round(self.wrong_rate, 4),
            "human_recall": round(self.human_recall, 4),
            "p50_ms": round(percentile(self.latencies_ms, 50), 3),
            "p99_ms": round(percentile(self.latencies_ms, 99), 3),
        }


def load_queries(path: Path) -> list[LabelledQuery]:
    """Read a `query,expected` CSV (UTF-8, with or without BOM)."""
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"query", "expected"} <= {f.strip() for f in reader.fieldnames}:
            raise ValueError(f"{path}: expected a header 'query,expected'")
        queries = []
        for row in reader:
            text = (row.get("query") or "").strip()
            if text:
                queries.append(LabelledQuery(text, (row.get("expected") or "").strip() or None))
    return queries


class Matching(Protocol):
    """What `run` needs: `Matcher`, or anything deciding the way the webhook does (e.g. with a semantic tier)."""

    def match(self, text: str) -> MatchResult: ...


def run(matcher: Matching, queries: Iterable[LabelledQuery]) -> list[Outcome]:
    """Every query through `match`, timed."""
    outcomes = []
    for query in queries:
        started = time.perf_counter()
        result = matcher.match(query.text)
        outcomes.append(Outcome(query, result, (time.perf_counter() - started) * 1000))
    return outcomes


def figures(outcomes: Iterable[Outcome]) -> Figures:
    total = Figures()
    for outcome in outcomes:
        total.add(outcome)
    return total


def evaluate(
    entries: Sequence[KbEntry],
    queries: Sequence[LabelledQuery],
    thresholds: MatchThresholds | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
) -> tuple[Figures, list[Outcome]]:
    matcher = Matcher(entries, thresholds, weights=weights)
    outcomes = run(matcher, queries)
    return figures(outcomes), outcomes


def write_details(outcomes: Sequence[Outcome], path: Path) -> None:
    """One row per query: query, expected, decision, chosen id(s), score (and the top candidates)."""
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query", "expected", "decision", "chosen", "score", "correct", "top_candidates"])
        for outcome in outcomes:
            query, result = outcome.query, outcome.result
            writer.writerow(
                [
                    query.text,
                    query.expected or "",
                    result.decision.value,
                    " | ".join(outcome.chosen_ids),
                    f"{outcome.top_score:.3f}",
                    _verdict(outcome),
                    " ".join(f"{c.entry.id}:{c.score:.2f}" for c in result.candidates[:3]),
                ]
            )


def _verdict(outcome: Outcome) -> str:
    query, decision = outcome.query, outcome.result.decision
    if decision is Decision.ANSWER:
        return "ok" if outcome.answered == query.expected else "WRONG"
    if query.expected == HUMAN_LABEL:
        return "ok" if decision is Decision.HUMAN else "missed_human"
    if not query.in_scope:
        return "ok"
    if decision is Decision.CLARIFY and query.expected in outcome.chosen_ids:
        return "clarified"
    return "missed"


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, math.ceil(pct / 100 * len(ordered)) - 1)
    return ordered[rank]


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


# --- calibration: thresholds and weights fitted on some KBs, tested on others -------------------


@dataclass(frozen=True)
class Benchmark:
    """One labelled KB."""

    name: str
    entries: tuple[KbEntry, ...]
    queries: tuple[LabelledQuery, ...]


@dataclass(frozen=True)
class RankedQuery:
    """A query's decision inputs, computed once per weights so that thresholds can be swept cheaply."""

    query: LabelledQuery
    fixed: Decision | None  # human / smalltalk: decided before the KB is consulted
    ranked: tuple[Candidate, ...]
    courtesy: bool  # thanks / bye: a non-answer becomes small talk


def rank_queries(bench: Benchmark, weights: Weights = DEFAULT_WEIGHTS) -> list[RankedQuery]:
    matcher = Matcher(bench.entries, weights=weights)
    out = []
    for query in bench.queries:
        result = matcher.match(query.text)
        if result.decision is Decision.HUMAN or (result.decision is Decision.SMALLTALK and not result.candidates):
            out.append(RankedQuery(query, result.decision, (), False))
            continue
        courtesy = closing_remark(query.text) is not None
        out.append(RankedQuery(query, None, tuple(matcher.rank(query.text)[:5]), courtesy))
    return out


def replay(ranked: Sequence[RankedQuery], thresholds: MatchThresholds) -> Figures:
    """The figures `Matcher.match` would give with these thresholds, from precomputed rankings."""
    total = Figures()
    for item in ranked:
        choices: tuple[KbEntry, ...] = ()
        if item.fixed is not None:
            decision = item.fixed
        else:
            decision, choices = decide(item.ranked, thresholds)
            if item.courtesy and not clear_answer(decision, item.ranked):
                decision, choices = Decision.SMALLTALK, ()
        total.add_decision(item.query, decision, tuple(entry.id for entry in choices))
    return total


def objective(fig: Figures, max_wrong_rate: float = 0.035) -> float:
    """What calibration maximises: answers and resolutions, with wrong answers over budget ruled out.

    The budget is stricter than the 5% target, so that what is fitted on some KBs keeps its
    wrong-answer rate on a KB it has not seen (leave-one-KB-out says it does). Offering choices to
    out-of-scope messages is a small cost (the customer sees irrelevant options).
    """
    over_budget = max(0.0, fig.wrong_rate - max_wrong_rate)
    noise = _ratio(fig.clarified_out_of_scope, max(fig.queries, 1))
    return fig.accuracy + fig.resolved - 20 * over_budget - fig.wrong_rate - 0.2 * noise


# Calibration searches the answer thresholds first (with generous clarification), then the
# clarification thresholds with those answer thresholds fixed: two small grids instead of one large.
ANSWER_GRID: dict[str, tuple[float, ...]] = {
    "answer_min_score": (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7),
    "answer_min_margin": (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2),
    "answer_contested_margin": (0.0, 0.03, 0.06, 0.1, 0.15),
    "answer_min_coverage": (0.0, 0.3, 0.4, 0.5, 0.6, 0.7),
}
# How the character view of the message must back the leader (see `faqbot.kb.matcher.decide`).
CONTEST_GRID: dict[str, tuple[float, ...]] = {
    "answer_spelling_lead": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3),
    "answer_contested_margin": ANSWER_GRID["answer_contested_margin"],
}
CLARIFY_GRID: dict[str, tuple[float, ...]] = {
    "clarify_min_score": (0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
    "clarify_window": (0.1, 0.15, 0.25, 0.35, 0.5, 1.0),
}


def fit_thresholds(ranked: Sequence[RankedQuery]) -> tuple[MatchThresholds, Figures]:
    """The thresholds with the best `objective` on these ranked queries (grid search).

    Stages: the answer thresholds (the character view counted only when it disagrees outright),
    then how the character view must back the leader, the answer thresholds again with that, and
    the clarification thresholds last: small grids instead of one large.
    """
    generous = {
        "clarify_min_score": min(CLARIFY_GRID["clarify_min_score"]),
        "clarify_window": 1.0,
        "answer_spelling_lead": 0.0,
    }
    answer, _ = _grid_search(ranked, ANSWER_GRID, generous)
    contest, _ = _grid_search(ranked, CONTEST_GRID, {**generous, **_values(answer, ANSWER_GRID)})
    fixed = {**generous, "answer_spelling_lead": contest.answer_spelling_lead}
    answer, _ = _grid_search(ranked, ANSWER_GRID, {**fixed, **_values(contest, ANSWER_GRID)})
    chosen = {**_values(answer, ANSWER_GRID), "answer_spelling_lead": answer.answer_spelling_lead}
    return _grid_search(ranked, CLARIFY_GRID, chosen)


def _values(thresholds: MatchThresholds, grid: dict[str, tuple[float, ...]]) -> dict[str, float]:
    return {name: getattr(thresholds, name) for name in grid}


def _grid_search(
    ranked: Sequence[RankedQuery], grid: dict[str, tuple[float, ...]], fixed: dict[str, float]
) -> tuple[MatchThresholds, Figures]:
    best: tuple[float, MatchThresholds, Figures] | None = None
    names = list(grid)
    for values in itertools.product(*(grid[name] for name in names)):
        thresholds = MatchThresholds(**{**fixed, **dict(zip(names, values, strict=True))})
        fig = replay(ranked, thresholds)
        score = objective(fig)
        if best is None or score > best[0]:
            best = (score, thresholds, fig)
    assert best is not None
    return best[1], best[2]


@dataclass(frozen=True)
class Fold:
    """One leave-one-KB-out round: thresholds fitted on the other KBs, figures on this one."""

    held_out: str
    thresholds: MatchThresholds
    figures: Figures


def leave_one_kb_out(benchmarks: Sequence[Benchmark], weights: Weights = DEFAULT_WEIGHTS) -> list[Fold]:
    """Fit the thresholds on all KBs but one, measure on that one; once per KB.

    This is the honest figure for a business whose KB and messages calibration never saw.
    """
    ranked = {bench.name: rank_queries(bench, weights) for bench in benchmarks}
    folds = []
    for bench in benchmarks:
        train = [item for other in benchmarks if other is not bench for item in ranked[other.name]]
        thresholds, _ = fit_thresholds(train)
        folds.append(Fold(bench.name, thresholds, replay(ranked[bench.name], thresholds)))
    return folds


def fit_all(benchmarks: Sequence[Benchmark], weights: Weights = DEFAULT_WEIGHTS) -> tuple[MatchThresholds, Figures]:
    """Thresholds fitted on every KB at once (what the defaults in `MatchThresholds` come from)."""
    return fit_thresholds([item for bench in benchmarks for item in rank_queries(bench, weights)])
