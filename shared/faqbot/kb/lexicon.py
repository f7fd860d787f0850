"""Russian ↔ Ukrainian translations of dictionary words, so that the two languages meet on meaning.

Letter folding makes cognates meet ("ціна" / "цена"); many everyday words are not cognates:
"щеплення" / "прививка", "завдання" / "задание", "співбесіда" / "собеседование". The pairs come
from the bilingual dictionary of Apertium's rus-ukr pair (GPL-2+, `data/ru_uk_lexicon.tsv`, rebuilt
by `tools/lexicon/build_lexicon.py`): a general dictionary, not one written for any business.
Loaded on first use (the webhook's cold start imports the matcher, not this file's data).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

LEXICON_PATH = Path(__file__).with_name("data") / "ru_uk_lexicon.tsv"


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[str, ...]]:
    """Lemma → its translations, both ways (a word spelled alike in both languages gets both sides' translations)."""
    table: dict[str, list[str]] = {}
    with LEXICON_PATH.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#") or "\t" not in line:
                continue
            uk, ru = line.rstrip("\n").split("\t")
            table.setdefault(uk, []).append(ru)
            table.setdefault(ru, []).append(uk)
    return {word: tuple(dict.fromkeys(words)) for word, words in table.items()}


def translations(lemma: str) -> tuple[str, ...]:
    """Dictionary forms of `lemma` (a Russian or Ukrainian dictionary form) in the other language; () if none known."""
    return _table().get(lemma, ())
