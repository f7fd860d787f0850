"""Word forms for Russian and Ukrainian (pymorphy3 with its ru and uk dictionaries).

"частинами", "частями", "оплатить", "оплатою" must meet their entries' "частина", "оплата". The
dictionaries are loaded on first use, not at import (the webhook's cold start imports the matcher),
and every analysis is cached: customers reuse a small vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pymorphy3 import MorphAnalyzer

_UK_ONLY = frozenset("іїєґ'")
_RU_ONLY = frozenset("ыэъё")
# When two dictionary readings are equally likely, the content-word reading wins ("людина" NOUN, not ADJF).
_POS_PREFERENCE = {"NOUN": 0, "INFN": 1, "VERB": 1, "ADJF": 2, "ADVB": 3, "PRED": 3, "ADJS": 4}


@dataclass(frozen=True)
class WordInfo:
    """What the dictionaries know about one lower-case word."""

    lemma: str  # the most likely dictionary form
    pos: str  # its part of speech (OpenCorpora tag: NOUN, VERB, ADJF, PREP, ...; "" if unknown)
    known: bool  # found in a dictionary (not guessed from the ending)
    lemmas: tuple[str, ...]  # every dictionary form of every known reading, most likely first
    imperative: bool = False  # some reading is an imperative ("покличте", "позовите")


@lru_cache(maxsize=2)
def analyzer(lang: str) -> MorphAnalyzer:
    """The pymorphy3 analyzer for "ru" or "uk", loaded once per process."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang=lang)


def _languages(word: str, hint: str) -> tuple[str, ...]:
    letters = set(word)
    if letters & _UK_ONLY:
        return ("uk",)
    if letters & _RU_ONLY:
        return ("ru",)
    return ("uk", "ru") if hint == "uk" else ("ru", "uk")


_UK_IMPERATIVE_PLURAL = "іть"
_RU_IMPERATIVE_PLURAL = "ите"


@lru_cache(maxsize=100_000)
def analyse(word: str, hint: str = "ru") -> WordInfo:
    """Lemma, part of speech and alternatives of `word`; `hint` ("ru"/"uk") breaks ties between languages."""
    if not word or not any(c.isalpha() for c in word):
        return WordInfo(word, "NUMB" if word.isdigit() else "", False, (word,))
    leading: list = []  # known readings in the first language (by hint) that knows the word
    known_parses: list = []
    guessed = None
    for lang in _languages(word, hint):
        parses = _parse(word, lang)
        known = [p for p in parses if p.is_known]
        if known and not leading:
            leading = known
        known_parses.extend(known)
        if not known and guessed is None and parses:
            guessed = parses[0]
    if leading:
        top_score = leading[0].score
        ties = [p for p in leading if p.score >= top_score - 1e-9]
        best = min(ties, key=lambda p: _POS_PREFERENCE.get(str(p.tag.POS), 9))
        lemmas = _unique([best.normal_form] + [p.normal_form for p in known_parses])
        imperative = any("impr" in p.tag for p in known_parses)
        return WordInfo(best.normal_form, str(best.tag.POS or ""), True, lemmas, imperative)
    if word.endswith(_UK_IMPERATIVE_PLURAL):
        # Surzhyk: a Russian verb with the Ukrainian plural imperative ending ("позовіть" for "позовите").
        russian = analyse(word[: -len(_UK_IMPERATIVE_PLURAL)] + _RU_IMPERATIVE_PLURAL, "ru")
        if russian.known and russian.imperative:
            return russian
    if guessed is not None:
        return WordInfo(guessed.normal_form, str(guessed.tag.POS or ""), False, _unique([guessed.normal_form, word]))
    return WordInfo(word, "", False, (word,))


def lemma(word: str, hint: str = "ru") -> str:
    return analyse(word, hint).lemma


def is_known(word: str) -> bool:
    """The word is in the Russian or Ukrainian dictionary."""
    return analyse(word, "ru").known


def known_in(word: str, lang: str) -> bool:
    """The word is in this language's dictionary ("ru" or "uk")."""
    return any(p.is_known for p in _parse(word, lang))


@lru_cache(maxsize=50_000)
def _parse(word: str, lang: str) -> tuple[Any, ...]:
    """pymorphy3's readings of a word (cached: the language detector and the lemmatiser both ask)."""
    return tuple(analyzer(lang).parse(word))


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
