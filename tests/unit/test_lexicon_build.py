"""tools/lexicon/build_lexicon.py: word pairs from an `lt-print` listing of Apertium's bilingual dictionary."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

TOOL = Path(__file__).parents[2] / "tools" / "lexicon" / "build_lexicon.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_lexicon", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Two transducer sections as lt-print prints them: state, next state, input symbol, output symbol, weight;
# a final state on a line of its own. "кіно"→"кино" (folds alike), "щеплення"→"прививка", a number rule.
_LISTING = """\
0\t1\tк\tк\t0.000000\t
1\t2\tі\tи\t0.000000\t
2\t3\tн\tн\t0.000000\t
3\t4\tо\tо\t0.000000\t
4\t5\t<n>\t<n>\t0.000000\t
0\t6\tщ\tп\t0.000000\t
6\t7\tе\tр\t0.000000\t
7\t8\tп\tи\t0.000000\t
8\t9\tл\tв\t0.000000\t
9\t10\tе\tи\t0.000000\t
10\t11\tн\tв\t0.000000\t
11\t12\tн\tк\t0.000000\t
12\t13\tя\tа\t0.000000\t
13\t5\t<n>\t<n>\t0.000000\t
5\t0.000000
--
0\t1\t7\t7\t0.000000\t
1\t1\t7\t7\t0.000000\t
1\t2\t<num>\t<num>\t0.000000\t
2\t0.000000
"""


def test_pairs_are_read_from_every_section_and_loops_do_not_hang() -> None:
    # when
    paths = set(_tool().att_paths(_LISTING.splitlines()))

    # then
    assert ("кіно<n>", "кино<n>") in paths
    assert ("щеплення<n>", "прививка<n>") in paths
    assert ("7<num>", "7<num>") in paths


def test_only_word_pairs_that_do_not_fold_alike_are_kept() -> None:
    # when
    pairs = _tool().lemma_pairs(_tool().att_paths(_LISTING.splitlines()))

    # then: "кіно"/"кино" meet by letter folding already; numbers are not words
    assert pairs == [("щеплення", "прививка")]
