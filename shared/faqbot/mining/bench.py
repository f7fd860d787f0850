"""`faqbot bench --section mining`: how long mining 1,000 call transcripts takes (target: under a minute).

The calls are synthesised from the labelled test corpus (`tests/data/transcripts`): each one is the
salon's greeting followed by customer turns drawn from different real calls, and half of the
questions name a breed ("…для шпица?"), so most phrasings are distinct, as they are in real calls.
They are written as plain-text files and mined exactly as `faqbot mine` does (read, extract, group).
The section also mines the labelled corpus itself and prints how the draft measures up to the
acceptance (top 10 = the 10 most asked questions, one question per group, counts within ±1), and
does the same for the unseen corpora (`tests/data/unseen_transcripts/*`: other businesses, written
after the method, its settings not fitted to them), which say how far the figures carry.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from faqbot.bench import BenchContext, BenchReport
from faqbot.mining.pipeline import mine_directory
from faqbot.mining.quality import CorpusQuality, corpus_quality, load_ground_truth
from faqbot.mining.transcripts import Role, Transcript, load_transcripts

DATA = Path(__file__).resolve().parents[3] / "tests" / "data"
CORPUS = DATA / "transcripts"
UNSEEN = DATA / "unseen_transcripts"
CALLS = 1000
QUICK_CALLS = 100
TARGET_SECONDS = 60.0
_BREEDS = (
    "шпица", "йорка", "пуделя", "хаски", "мальтезе", "бишона", "корги", "таксы", "мопса", "бигля",
    "лабрадора", "чихуахуа", "пекинеса", "ши-тцу", "самоеда", "шнауцера", "пса", "кота", "цуценяти", "песика",
    "собачки", "спаниеля", "вівчарки", "терьера",
)


def synthetic_calls(corpus: list[Transcript], count: int, seed: int = 8) -> list[str]:
    """`count` plain-text calls, each a greeting and 2-4 customer turns (with the agent's replies) from the corpus."""
    rng = random.Random(seed)
    turns = [
        (u.text, corpus_call.utterances[i + 1].text if i + 1 < len(corpus_call.utterances) else "Так.")
        for corpus_call in corpus
        for i, u in enumerate(corpus_call.utterances)
        if u.role is Role.CUSTOMER and "?" in u.text
    ]
    greetings = [t.utterances[0].text for t in corpus if t.utterances and t.utterances[0].role is Role.AGENT]
    calls = []
    for _ in range(count):
        lines = [f"Менеджер: {rng.choice(greetings)}"]
        for customer, agent in rng.sample(turns, rng.randint(2, 4)):
            if rng.random() < 0.5:
                customer = re.sub(r"\?", f" для {rng.choice(_BREEDS)}?", customer, count=1)
            lines += [f"Клиент: {customer}", f"Менеджер: {agent}"]
        calls.append("\n".join(lines) + "\n")
    return calls


def mining_section(context: BenchContext) -> BenchReport:
    count = QUICK_CALLS if context.quick else CALLS
    corpus = load_transcripts(CORPUS)
    with tempfile.TemporaryDirectory(prefix="faqbot-mining-bench-") as folder:
        for number, text in enumerate(synthetic_calls(corpus, count), start=1):
            (Path(folder) / f"call{number:04d}.txt").write_text(text, encoding="utf-8")
        started, cpu_started = time.perf_counter(), time.process_time()
        result = mine_directory(Path(folder))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    distinct = len({q.text.casefold() for q in result.questions})
    figures: dict[str, Any] = {
        "calls": result.transcripts,
        "questions": len(result.questions),
        "distinct_phrasings": distinct,
        "groups": len(result.groups),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),  # the machine is shared: CPU time says what mining itself costs
        "target_seconds": TARGET_SECONDS,
        "within_target": seconds < TARGET_SECONDS * count / CALLS,
    }
    lines = [
        f"{result.transcripts} synthetic calls → {len(result.questions)} questions ({distinct} distinct phrasings)"
        f" → {len(result.groups)} groups",
        f"mining took {seconds:.1f} s ({cpu:.1f} s CPU); target: under {TARGET_SECONDS * count / CALLS:.0f} s"
        f" for {count} calls" + ("" if figures["within_target"] else "  ** OVER TARGET **"),
    ]
    if result.groups:
        top = ", ".join(f"{g.question} ({g.calls})" for g in result.groups[:3])
        lines.append(f"top groups: {top}")
    quality = corpus_quality(mine_directory(CORPUS).groups, load_ground_truth(CORPUS / "ground_truth.json"))
    lines.append(f"labelled corpus ({len(corpus)} calls): {quality.summary()}")
    figures["corpus"] = _quality_figures(quality)
    for labelled in sorted(path for path in UNSEEN.glob("*") if (path / "ground_truth.json").is_file()):
        unseen = mine_directory(labelled)
        quality = corpus_quality(unseen.groups, load_ground_truth(labelled / "ground_truth.json"))
        lines.append(f"unseen corpus {labelled.name} ({unseen.transcripts} calls): {quality.summary()}")
        figures[f"unseen_{labelled.name}"] = _quality_figures(quality)
    return BenchReport(title=f"mining {count} call transcripts", lines=lines, figures=figures)


def _quality_figures(quality: CorpusQuality) -> dict[str, Any]:
    return {
        "groups": quality.groups,
        "purity": round(quality.purity, 3),
        "top_hits": len(quality.most_asked) - len(quality.missing),
        "top_mixed": len(quality.impure),
        "top_split": list(quality.split),
        "count_errors": {check.label: check.error for check in quality.top},
        "meets_acceptance": quality.meets_acceptance,
    }
