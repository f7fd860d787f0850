"""`faqbot eval` and `faqbot ask` over real spreadsheet files, through click's CliRunner."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import faqbot.cli.match  # noqa: F401 - registers the commands on `cli`
import pytest
from click.testing import CliRunner
from faqbot.cli import cli

pytestmark = pytest.mark.integration

BENCH = Path(__file__).parents[1] / "data" / "bench"
BENCH_KBS = ("dental_clinic_ru", "clothing_store_uk", "english_school_mixed")
JSON_KEYS = {
    "queries",
    "in_scope",
    "answered_correct",
    "clarified_correct",
    "wrong_answers",
    "escalated",
    "accuracy",
    "resolved",
    "wrong_rate",
    "human_recall",
    "p50_ms",
    "p99_ms",
}


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    return _write_csv(
        tmp_path / "kb.csv",
        ["id", "question", "answer"],
        [
            ["1", "Сколько стоит доставка?", "Доставка по Украине стоит 70 грн."],
            ["2", "Как оплатить заказ?", "Оплатить можно картой на сайте или при получении."],
            ["3", "Какой у вас график работы?", "Мы работаем ежедневно с 9:00 до 20:00."],
        ],
    )


def _last_json(output: str) -> dict[str, object]:
    figures = json.loads(output.strip().splitlines()[-1])
    assert isinstance(figures, dict)
    return figures


def test_eval_counts_every_kind_of_label_and_writes_details(small_kb: Path, tmp_path: Path) -> None:
    # given: two answerable messages, one the KB does not cover, one asking for a person
    queries = _write_csv(
        tmp_path / "queries.csv",
        ["query", "expected"],
        [
            ["сколько стоит доставка", "1"],
            ["какой график работы", "3"],
            ["продаете ли вы велосипеды оптом", ""],
            ["позовите менеджера пожалуйста", "@human"],
        ],
    )
    details = tmp_path / "details.csv"

    # when
    result = CliRunner().invoke(
        cli, ["eval", "--kb", str(small_kb), "--queries", str(queries), "--details", str(details), "--json"]
    )

    # then
    assert result.exit_code == 0, result.output
    figures = _last_json(result.output)
    assert figures.keys() >= JSON_KEYS
    assert figures["queries"] == 4
    assert figures["in_scope"] == 2
    assert figures["answered_correct"] == 2
    assert figures["wrong_answers"] == 0
    assert figures["accuracy"] == 1.0
    assert figures["human_recall"] == 1.0
    with details.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["query"] for row in rows][:2] == ["сколько стоит доставка", "какой график работы"]
    assert [row["decision"] for row in rows] == ["answer", "answer", "escalate", "human"]
    assert [row["chosen"] for row in rows][:2] == ["1", "3"]
    assert {"query", "expected", "decision", "chosen", "score"} <= rows[0].keys()


def test_eval_applies_thresholds_from_a_file(small_kb: Path, tmp_path: Path) -> None:
    # given: a message about two entries, which the default thresholds clarify, and thresholds that always answer
    queries = _write_csv(tmp_path / "queries.csv", ["query", "expected"], [["доставка или оплата", "1"]])
    lax = tmp_path / "thresholds.json"
    lax.write_text(json.dumps({"answer_min_score": 0, "answer_min_margin": 0, "answer_min_coverage": 0}), "utf-8")
    args = ["eval", "--kb", str(small_kb), "--queries", str(queries), "--json"]

    # when
    default = CliRunner().invoke(cli, args)
    answering = CliRunner().invoke(cli, [*args, "--thresholds", str(lax)])

    # then
    assert default.exit_code == 0, default.output
    assert answering.exit_code == 0, answering.output
    assert _last_json(default.output)["clarified_correct"] == 1
    assert _last_json(answering.output)["answered_correct"] == 1


def test_eval_refuses_a_kb_an_upload_would_reject(tmp_path: Path) -> None:
    # given: a sheet without an answer column
    broken = _write_csv(tmp_path / "broken.csv", ["id", "question"], [["1", "Сколько стоит доставка?"]])
    queries = _write_csv(tmp_path / "queries.csv", ["query", "expected"], [["доставка", "1"]])

    # when
    result = CliRunner().invoke(cli, ["eval", "--kb", str(broken), "--queries", str(queries)])

    # then
    assert result.exit_code != 0
    assert "would be rejected" in result.output


def test_eval_refuses_a_queries_file_without_its_header(small_kb: Path, tmp_path: Path) -> None:
    # given
    queries = _write_csv(tmp_path / "queries.csv", ["text", "id"], [["доставка", "1"]])

    # when
    result = CliRunner().invoke(cli, ["eval", "--kb", str(small_kb), "--queries", str(queries)])

    # then
    assert result.exit_code != 0
    assert "query,expected" in result.output


def _pooled_bench_figures() -> dict[str, int]:
    """`faqbot eval --json` over each bench KB, summed; every KB must also hand "call a human" over."""
    runner = CliRunner()
    totals = dict.fromkeys(("queries", "in_scope", "answered_correct", "clarified_correct", "wrong_answers"), 0)
    for name in BENCH_KBS:
        result = runner.invoke(
            cli, ["eval", "--kb", str(BENCH / f"{name}.csv"), "--queries", str(BENCH / f"{name}.queries.csv"), "--json"]
        )
        assert result.exit_code == 0, result.output
        figures = _last_json(result.output)
        for key in totals:
            value = figures[key]
            assert isinstance(value, int)
            totals[key] += value
        assert figures["human_recall"] >= 0.95, name
    return totals


def test_eval_over_the_bench_resolves_enough_and_rarely_answers_wrong() -> None:
    # when
    totals = _pooled_bench_figures()

    # then: the targets that protect the customer (a wrong answer is worse than a handoff)
    assert (totals["answered_correct"] + totals["clarified_correct"]) / totals["in_scope"] >= 0.85
    assert totals["wrong_answers"] / totals["queries"] <= 0.05


def test_eval_over_the_bench_meets_the_pooled_accuracy_target() -> None:
    # when
    totals = _pooled_bench_figures()

    # then
    assert totals["answered_correct"] / totals["in_scope"] >= 0.70


def test_ask_shows_the_decision_and_scored_candidates(small_kb: Path) -> None:
    # when
    result = CliRunner().invoke(cli, ["ask", "--kb", str(small_kb), "Добрый день! Подскажите, как оплатить заказ?"])

    # then
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("decision: answer")
    assert "chosen: 2" in result.output
    assert "score" in result.output
    assert "Оплатить можно картой" in result.output


def test_ask_json_lists_candidates_best_first(small_kb: Path) -> None:
    # when
    result = CliRunner().invoke(cli, ["ask", "--kb", str(small_kb), "--json", "позовите оператора"])

    # then
    assert result.exit_code == 0, result.output
    payload = _last_json(result.output)
    assert payload["decision"] == "human"
    assert payload["chosen"] == []
    candidates = payload["candidates"]
    assert isinstance(candidates, list)
    scores = [candidate["score"] for candidate in candidates]
    assert scores == sorted(scores, reverse=True)
