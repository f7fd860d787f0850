"""`faqbot eval` figures and threshold calibration, on a small KB written here."""

from __future__ import annotations

from pathlib import Path

import pytest
from faqbot.config import MatchThresholds
from faqbot.kb.evaluation import (
    Benchmark,
    LabelledQuery,
    evaluate,
    fit_thresholds,
    leave_one_kb_out,
    load_queries,
    percentile,
    rank_queries,
    replay,
    write_details,
)
from faqbot.kb.models import KbEntry

ENTRIES = (
    KbEntry(id="1", question="Сколько стоит доставка?", answer="Доставка стоит 70 грн."),
    KbEntry(id="2", question="Сколько времени идет доставка?", answer="Посылка идет 1-3 дня."),
    KbEntry(id="3", question="Можно ли оплатить частями?", answer="Да, частями до 4 платежей."),
    KbEntry(id="4", question="Как вернуть товар?", answer="В течение 14 дней."),
)
QUERIES = (
    LabelledQuery("сколько стоит доставка", "1"),
    LabelledQuery("можно оплатить частями", "3"),
    LabelledQuery("доставка", "2"),  # cost or time: a clarification offering both resolves it
    LabelledQuery("как вернуть товар", "1"),  # mislabelled on purpose: answering it counts as wrong
    LabelledQuery("продаете велосипеды?", None),
    LabelledQuery("позовите менеджера", "@human"),
)


def test_figures_count_answers_clarifications_and_wrong_answers() -> None:
    # when
    figures, outcomes = evaluate(ENTRIES, QUERIES)

    # then
    decisions = [outcome.result.decision.value for outcome in outcomes]
    assert decisions == ["answer", "answer", "clarify", "answer", "escalate", "human"]
    assert (figures.queries, figures.in_scope) == (6, 4)
    assert (figures.answered_correct, figures.clarified_correct, figures.wrong_answers) == (2, 1, 1)
    assert figures.accuracy == pytest.approx(2 / 4)
    assert figures.resolved == pytest.approx(3 / 4)
    assert figures.wrong_rate == pytest.approx(1 / 6)
    assert figures.human_recall == 1.0


def test_replay_of_precomputed_rankings_agrees_with_the_matcher() -> None:
    # given
    thresholds = MatchThresholds()
    ranked = rank_queries(Benchmark("shop", ENTRIES, QUERIES))

    # when
    replayed = replay(ranked, thresholds)
    direct, _ = evaluate(ENTRIES, QUERIES, thresholds)

    # then
    assert replayed.as_dict() | {"p50_ms": 0, "p99_ms": 0} == direct.as_dict() | {"p50_ms": 0, "p99_ms": 0}


def test_calibration_finds_thresholds_that_resolve_everything_without_wrong_answers() -> None:
    # given
    ranked = rank_queries(Benchmark("shop", ENTRIES, QUERIES[:3] + QUERIES[4:]))

    # when
    fitted, figures = fit_thresholds(ranked)

    # then: every correctly labelled answerable message is resolved, nothing answered wrongly
    assert figures.wrong_answers == 0
    assert figures.resolved == 1.0
    assert replay(ranked, fitted).as_dict() == figures.as_dict()


def test_leave_one_kb_out_measures_each_kb_with_thresholds_fitted_on_the_others() -> None:
    # given
    shop = Benchmark("shop", ENTRIES, QUERIES[:3])
    other = Benchmark("other", ENTRIES, QUERIES[4:])

    # when
    folds = leave_one_kb_out([shop, other])

    # then
    assert [fold.held_out for fold in folds] == ["shop", "other"]
    assert folds[0].figures.queries == 3
    assert folds[1].figures.queries == 2


def test_queries_file_and_details_round_trip(tmp_path: Path) -> None:
    # given
    path = tmp_path / "queries.csv"
    path.write_text("\ufeffquery,expected\nсколько стоит доставка,1\nпривет,\n,3\nпозовите менеджера,@human\n", "utf-8")

    # when
    queries = load_queries(path)
    _, outcomes = evaluate(ENTRIES, queries)
    write_details(outcomes, tmp_path / "details.csv")

    # then: blank queries are skipped, empty expected means out of scope
    assert queries == [
        LabelledQuery("сколько стоит доставка", "1"),
        LabelledQuery("привет", None),
        LabelledQuery("позовите менеджера", "@human"),
    ]
    lines = (tmp_path / "details.csv").read_text("utf-8").splitlines()
    assert lines[0].startswith("query,expected,decision,chosen,score")
    assert lines[1].startswith("сколько стоит доставка,1,answer,1,")
    assert len(lines) == 4


def test_percentile_picks_the_nearest_rank() -> None:
    # when / then
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert percentile([], 99) == 0.0
