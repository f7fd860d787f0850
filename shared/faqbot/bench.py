"""`faqbot bench` (what `make bench` runs): the project's measured figures, section by section.

Each section is a function `run(context: BenchContext) -> BenchReport`, named in `SECTIONS` as
"module:function" and imported only when it runs, so the CLI stays light and a section's heavy
imports (pandas, moto, ...) cost nothing to the others. To add one (webhook latency, cold start,
mining speed...), write the function in your own module and append a `Section` line below; the
CLI runs the sections in this order (or the ones named with `--section`) and prints each report,
and with `--json` prints one JSON object {section name: figures} as its last line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class BenchContext:
    """What every section may use."""

    bench_dir: Path  # the labelled benchmark KBs (../shared/bench from the repo root)
    quick: bool = False  # fewer repetitions, for tests


@dataclass
class BenchReport:
    """A section's result: readable lines for the terminal and figures for `--json`."""

    title: str
    lines: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Section:
    name: str
    target: str  # "package.module:function", the function taking a BenchContext
    description: str = ""

    def load(self) -> Callable[[BenchContext], BenchReport]:
        module_name, _, function = self.target.partition(":")
        runner: Callable[[BenchContext], BenchReport] = getattr(importlib.import_module(module_name), function)
        return runner


SECTIONS: list[Section] = [
    Section("matcher", "faqbot.kb.benchmark:matcher_section", "per KB, pooled and leave-one-KB-out figures"),
    Section("matcher_latency", "faqbot.kb.benchmark:latency_section", "matching speed against a 1,000-entry KB"),
    Section("webhook", "faqbot.conversation.bench:webhook_section", "webhook warm p50/p99 (emulator) and cold start"),
    Section("mining", "faqbot.mining.bench:mining_section", "FAQ mining speed: 1,000 call transcripts (target < 60 s)"),
    Section("history", "faqbot.history.benchmark:history_section", "transcript page render time, 1,000 messages"),
]


def run_sections(context: BenchContext, names: Sequence[str] = ()) -> list[tuple[Section, BenchReport]]:
    """Run the named sections (all when none is named), in registry order."""
    unknown = set(names) - {section.name for section in SECTIONS}
    if unknown:
        raise ValueError(f"unknown bench section(s): {', '.join(sorted(unknown))}")
    chosen = [section for section in SECTIONS if not names or section.name in names]
    return [(section, section.load()(context)) for section in chosen]
