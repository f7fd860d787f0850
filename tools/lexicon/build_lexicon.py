"""Build shared/faqbot/kb/data/ru_uk_lexicon.tsv from Apertium's Russian-Ukrainian dictionary.

The matcher (and FAQ mining through it) lets a Ukrainian word meet its Russian translation
("щеплення" / "прививка", "завдання" / "задание"): letter folding only catches cognates. The word
pairs come from the bilingual dictionary of Apertium's rus-ukr pair (GPL-2+, https://apertium.org),
as Debian packages it (`apertium-rus-ukr`, compiled), printed by lttoolbox's `lt-print`.

    python tools/lexicon/build_lexicon.py                 # downloads the Debian packages (apt-get download)
    python tools/lexicon/build_lexicon.py --att FILE.att  # from `lt-print ukr-rus.autobil.bin` output

Kept: one-word Cyrillic lemma pairs whose letter-folded forms differ (cognates that fold alike
already meet without a dictionary).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "shared"))

from faqbot.kb.normalize import fold_letters  # noqa: E402

OUTPUT = ROOT / "shared" / "faqbot" / "kb" / "data" / "ru_uk_lexicon.tsv"
PACKAGES = ("apertium-rus-ukr", "lttoolbox-dev", "liblttoolbox3")
BIDIX = "usr/share/apertium/apertium-rus-ukr/ukr-rus.autobil.bin"
_WORD = re.compile(r"^[а-яіїєґё'’-]+$")
_EPSILON = ("ε", "@0@")
HEADER = """\
# Ukrainian<TAB>Russian lemma pairs, one per line (both lower case; pairs that fold to the same letters left out).
# Derived from the bilingual dictionary of Apertium's rus-ukr language pair (Debian package apertium-rus-ukr {version}),
# by tools/lexicon/build_lexicon.py. Copyright (C) 2009-2018 the Apertium rus-ukr authors (see Debian's copyright
# file of that package); licensed under the GNU General Public License, version 2 or later.
"""


def att_paths(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Every (input, output) string the transducers of an `lt-print` listing accept (cycle-free paths)."""
    section: list[str] = []
    for line in [*lines, "--"]:
        if line.startswith("--"):
            yield from _section_paths(section)
            section = []
        else:
            section.append(line.rstrip("\n"))


def _section_paths(lines: list[str]) -> Iterator[tuple[str, str]]:
    arcs: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    finals: set[int] = set()
    for line in lines:
        fields = line.split("\t")
        if len(fields) >= 4:
            arcs[int(fields[0])].append((int(fields[1]), fields[2], fields[3]))
        elif fields[0].strip():
            finals.add(int(fields[0]))
    stack: list[tuple[int, str, str, frozenset[int]]] = [(0, "", "", frozenset({0}))]
    while stack:
        state, source, target, seen = stack.pop()
        if state in finals:
            yield source, target
        for nxt, a, b in arcs[state]:
            if nxt not in seen:
                stack.append(
                    (nxt, source + ("" if a in _EPSILON else a), target + ("" if b in _EPSILON else b), seen | {nxt})
                )


def lemma_pairs(paths: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    pairs = set()
    for source, target in paths:
        uk, ru = source.split("<", 1)[0].lower(), target.split("<", 1)[0].lower()
        if _WORD.match(uk) and _WORD.match(ru) and fold_letters(uk) != fold_letters(ru):
            pairs.add((uk, ru))
    return sorted(pairs)


def _from_debian() -> tuple[list[str], str]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", *PACKAGES], cwd=tmp, check=True, capture_output=True)
        root = Path(tmp) / "root"
        for deb in Path(tmp).glob("*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
        version = next(Path(tmp).glob("apertium-rus-ukr_*.deb")).name.split("_")[1]
        env = {**os.environ, "LD_LIBRARY_PATH": str(root / "usr/lib/x86_64-linux-gnu")}
        listing = subprocess.run(
            [str(root / "usr/bin/lt-print"), str(root / BIDIX)], env=env, check=True, capture_output=True, text=True
        ).stdout
    return listing.splitlines(), version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--att", type=Path, help="lt-print output of ukr-rus.autobil.bin (default: fetch it)")
    parser.add_argument("--version", default="", help="the package version, for the header (with --att)")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if args.att:
        lines, version = args.att.read_text(encoding="utf-8").splitlines(), args.version
    else:
        lines, version = _from_debian()
    pairs = lemma_pairs(att_paths(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        out.write(HEADER.format(version=version or "?"))
        out.writelines(f"{uk}\t{ru}\n" for uk, ru in pairs)
    print(f"{len(pairs)} pairs -> {args.out}")


if __name__ == "__main__":
    main()
