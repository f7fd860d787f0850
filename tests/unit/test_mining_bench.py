"""The `mining` bench section: synthetic calls from the corpus, mined like `faqbot mine` does."""

from __future__ import annotations

from pathlib import Path

from faqbot.bench import SECTIONS, BenchContext, run_sections
from faqbot.mining.bench import CORPUS, synthetic_calls
from faqbot.mining.transcripts import load_transcripts, parse_text


def test_synthetic_calls_are_greeting_then_customer_questions_with_replies() -> None:
    # given
    corpus = load_transcripts(CORPUS)

    # when
    calls = synthetic_calls(corpus, 20)

    # then: reproducible, each call opens with the salon and alternates customer and agent
    assert calls == synthetic_calls(corpus, 20) and len(set(calls)) == 20
    for text in calls:
        labels = [line.split(":")[0] for line in text.splitlines()]
        assert labels[0] == "Менеджер" and labels[1::2] == ["Клиент"] * (len(labels) // 2)
        assert 2 <= len(parse_text(text, "x").utterances) // 2 <= 4


def test_mining_section_reports_its_figures(tmp_path: Path) -> None:
    # when
    [(section, report)] = run_sections(BenchContext(bench_dir=tmp_path, quick=True), ["mining"])

    # then
    figures = report.figures
    assert section in SECTIONS and figures["calls"] == 100
    assert figures["questions"] >= 2 * figures["calls"] and 0 < figures["groups"] < figures["distinct_phrasings"]
    assert figures["seconds"] > 0 and "mining took" in report.lines[1]
    # the labelled corpus is scored against its ground truth too
    corpus = figures["corpus"]
    assert report.lines[-2].startswith("labelled corpus (33 calls): ") and corpus["groups"] > 0
    assert 0 < corpus["purity"] <= 1 and len(corpus["count_errors"]) >= 1
    # and so is every unseen one
    unseen = figures["unseen_car_service"]
    assert report.lines[-1].startswith("unseen corpus car_service (32 calls): ") and unseen["groups"] > 0
    assert 0 < unseen["purity"] <= 1 and unseen["top_hits"] <= 10
