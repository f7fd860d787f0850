"""The matcher's sections of `faqbot bench`: quality on the labelled KBs, and speed at 1,000 entries.

The benchmark directory holds `<kb>.csv` files (read by the same ingest code as an upload) and
`<kb>.queries.csv` files (`query,expected`). Figures are reported per KB and pooled with the
shipped default thresholds (which were fitted on these very KBs, so they are optimistic), and
leave-one-KB-out: thresholds fitted on the other KBs, measured on the held-out one — the figure to
expect for a business calibration never saw.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from faqbot.bench import BenchContext, BenchReport
from faqbot.config import MatchThresholds
from faqbot.kb.evaluation import (
    Benchmark,
    Figures,
    evaluate,
    fit_all,
    leave_one_kb_out,
    load_queries,
    percentile,
)
from faqbot.kb.matcher import Matcher
from faqbot.kb.models import KbEntry

QUERIES_SUFFIX = ".queries.csv"
SYNTHETIC_SIZE = 1000
# What a business with branches, segments and seasons adds to the same questions; used to grow the
# benchmark KBs into a realistic large KB of close, partly duplicated entries.
_QUALIFIERS = (
    "для детей",
    "в филиале на Подоле",
    "онлайн",
    "для оптовых клиентов",
    "у вихідні",
    "для постійних клієнтів",
    "в Днепре",
    "на нову колекцію",
    "для студентов",
    "у партнерів",
    "в Одессе",
    "для корпоративних клієнтів",
)
_FIGURES = ("accuracy", "resolved", "wrong_rate", "human_recall")


def load_benchmarks(bench_dir: Path) -> list[Benchmark]:
    """Every `<kb>.csv` with a `<kb>.queries.csv` beside it, sorted by name."""
    from faqbot.kb.spreadsheet import load_kb_file  # pandas: only the CLI and ingest pay for it

    benchmarks = []
    for queries_path in sorted(Path(bench_dir).glob(f"*{QUERIES_SUFFIX}")):
        name = queries_path.name.removesuffix(QUERIES_SUFFIX)
        kb_path = queries_path.with_name(f"{name}.csv")
        if kb_path.exists():
            benchmarks.append(Benchmark(name, tuple(load_kb_file(kb_path)), tuple(load_queries(queries_path))))
    if not benchmarks:
        raise FileNotFoundError(f"no <kb>.csv + <kb>{QUERIES_SUFFIX} pairs in {bench_dir}")
    return benchmarks


def matcher_section(context: BenchContext) -> BenchReport:
    benchmarks = load_benchmarks(context.bench_dir)
    report = BenchReport("Matcher quality (targets pooled: accuracy >= 0.70, resolved >= 0.85, wrong <= 0.05)")
    pooled = Figures()
    report.lines.append("default thresholds (fitted on all KBs below):")
    for bench in benchmarks:
        figures, _ = evaluate(bench.entries, bench.queries)
        pooled = pooled.merge(figures)
        report.lines.append(_line(bench.name, figures))
        report.figures[bench.name] = figures.as_dict()
    report.lines.append(_line("pooled", pooled))
    report.figures["pooled"] = pooled.as_dict()
    fitted, fitted_figures = fit_all(benchmarks)
    report.lines.append(f"calibration on all KBs now suggests: {_thresholds(fitted)} -> {_short(fitted_figures)}")
    calibrated = fitted == MatchThresholds()
    report.lines.append(
        "the shipped defaults are these thresholds"
        if calibrated
        else "the shipped defaults DIFFER: update MatchThresholds in faqbot/config.py to the suggestion"
    )
    report.figures["fit_all"] = {"thresholds": fitted.model_dump(), "defaults_calibrated": calibrated}
    report.figures["fit_all"].update(fitted_figures.as_dict())
    if len(benchmarks) > 1:
        report.lines.append("leave-one-KB-out (thresholds fitted on the other KBs):")
        held_out = Figures()
        for fold in leave_one_kb_out(benchmarks):
            held_out = held_out.merge(fold.figures)
            report.lines.append(f"{_line(fold.held_out, fold.figures)}  [{_thresholds(fold.thresholds)}]")
            report.figures[f"loko_{fold.held_out}"] = fold.figures.as_dict()
        report.lines.append(_line("pooled", held_out))
        report.figures["loko_pooled"] = held_out.as_dict()
    return report


def synthetic_kb(benchmarks: Sequence[Benchmark], size: int = SYNTHETIC_SIZE, seed: int = 0) -> list[KbEntry]:
    """A large realistic KB: the benchmark entries repeated with branch/segment qualifiers, some
    alternatives dropped, until `size` entries (close and partly duplicated, as big sheets are)."""
    rng = random.Random(seed)
    base = [(bench.name, entry) for bench in benchmarks for entry in bench.entries]
    entries: list[KbEntry] = []
    copy = 0
    while len(entries) < size:
        qualifier = _QUALIFIERS[(copy - 1) % len(_QUALIFIERS)] if copy else ""
        for name, entry in base[: size - len(entries)]:
            alternatives = tuple(f"{alt} {qualifier}".strip() for alt in entry.alternatives if rng.random() < 0.7)
            entries.append(
                KbEntry(
                    id=f"{name}-{copy}-{entry.id}",
                    question=f"{entry.question.rstrip('?')} {qualifier}?".replace(" ?", "?"),
                    answer=f"{entry.answer} {qualifier.capitalize()}.".rstrip(" ."),
                    alternatives=alternatives,
                    keywords=entry.keywords,
                    category=entry.category,
                )
            )
        copy += 1
    return entries


def latency_section(context: BenchContext) -> BenchReport:
    benchmarks = load_benchmarks(context.bench_dir)
    entries = synthetic_kb(benchmarks)
    messages = [query.text for bench in benchmarks for query in bench.queries]
    report = BenchReport(
        f"Matcher speed ({len(entries)}-entry synthetic KB, {len(messages)} messages; target p99 <= 5 ms)"
    )
    started = time.perf_counter()
    matcher = Matcher(entries, MatchThresholds())
    build_s = time.perf_counter() - started
    report.lines.append(f"index build: {build_s:.2f} s (once per KB version per warm container)")
    report.figures["index_build_s"] = round(build_s, 3)
    passes = (("cold", "first sight of every word"), ("warm", "words seen before"))
    for label, meaning in passes[: 1 if context.quick else 2]:
        wall, cpu = [], []
        for message in messages:
            started, started_cpu = time.perf_counter(), time.process_time()
            matcher.match(message)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        report.lines.append(
            f"{label:>5} ({meaning}): p50 {percentile(wall, 50):.2f} ms, p99 {percentile(wall, 99):.2f} ms"
            f"  [CPU time p50 {percentile(cpu, 50):.2f} ms, p99 {percentile(cpu, 99):.2f} ms]"
        )
        report.figures[label] = {
            "p50_ms": round(percentile(wall, 50), 3),
            "p99_ms": round(percentile(wall, 99), 3),
            "cpu_p50_ms": round(percentile(cpu, 50), 3),
            "cpu_p99_ms": round(percentile(cpu, 99), 3),
        }
    import_ms = _import_ms("faqbot.kb.matcher")
    report.lines.append(
        f"import faqbot.kb.matcher in a fresh interpreter: {import_ms:.0f} ms (dictionaries load lazily)"
    )
    report.figures["import_ms"] = round(import_ms, 1)
    return report


def _import_ms(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(output.strip())


def _line(name: str, figures: Figures) -> str:
    return f"  {name:<28} {_short(figures)}  (n={figures.queries}, answered {figures.answered_correct}" + (
        f"+{figures.wrong_answers} wrong, clarified {figures.clarified}, escalated {figures.escalated})"
    )


def _short(figures: Figures) -> str:
    values = figures.as_dict()
    return " ".join(f"{name} {values[name]:.3f}" for name in _FIGURES)


def _thresholds(thresholds: MatchThresholds) -> str:
    return (
        f"score>={thresholds.answer_min_score} margin>={thresholds.answer_min_margin}"
        f"(+{thresholds.answer_contested_margin} unless spelling leads by {thresholds.answer_spelling_lead}) "
        f"coverage>={thresholds.answer_min_coverage} clarify>={thresholds.clarify_min_score} "
        f"window {thresholds.clarify_window}"
    )
