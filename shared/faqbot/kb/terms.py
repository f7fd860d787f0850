"""From text to the weighted terms the matcher compares: concepts, lemmas, letter skeletons.

A term's `key` is what an index stores and looks up: "#price" for a word of a vocabulary concept,
otherwise the folded dictionary form ("оплатити" and "оплатить" both → "оплатит"), or an English
word. `alts` are other keys the same word may stand for (another reading's lemma, the word as
written, a transliterated word's Latin original such as "ielts"); `translations` are the keys of its
translations in the other of Russian / Ukrainian. `weight` is the prior importance of the word by
its part of speech; the index multiplies it by the term's rarity in the KB.
"""

from __future__ import annotations

from dataclasses import dataclass

from faqbot.kb.lexicon import translations
from faqbot.kb.morphology import analyse
from faqbot.kb.normalize import (
    STOP_WORDS,
    fold_letters,
    is_english_word,
    is_latin,
    tokenize,
    transliterate,
)
from faqbot.kb.vocabulary import WEAK_CONCEPTS, concept_of, phrase_table

CONCEPT_PREFIX = "#"
# Parts of speech that carry no topic (pymorphy3 / OpenCorpora tags).
_FUNCTION_POS = frozenset({"PREP", "CONJ", "PRCL", "INTJ", "NPRO"})
_POS_WEIGHT = {
    "NOUN": 1.0,
    "ADJF": 0.8,
    "ADJS": 0.8,
    "COMP": 0.6,
    "PRTF": 0.7,
    "PRTS": 0.7,
    "VERB": 0.7,
    "INFN": 0.7,
    "GRND": 0.7,
    "ADVB": 0.6,
    "PRED": 0.5,
    "NUMR": 0.3,
}
_VERB_POS = frozenset({"VERB", "INFN", "GRND", "PRTF", "PRTS"})
WEAK_WEIGHT = 0.35
UNKNOWN_WEIGHT = 0.9
NUMBER_WEIGHT = 0.3


@dataclass(frozen=True, slots=True)
class Term:
    key: str
    weight: float
    alts: tuple[str, ...] = ()
    word: str = ""
    pos: str = ""  # part of speech of a dictionary word ("" when unknown to the dictionaries)
    translations: tuple[str, ...] = ()  # keys of its translations in the other of Russian / Ukrainian

    @property
    def is_concept(self) -> bool:
        return self.key.startswith(CONCEPT_PREFIX)


def canonical(folded_lemma: str, pos: str) -> str:
    """One key for Russian and Ukrainian infinitives: "оплатит(ь)" / "оплатити", "записат(ь)ся" / "записатися"."""
    if pos in _VERB_POS:
        if folded_lemma.endswith("тися"):
            return folded_lemma[:-4] + "тся"
        if folded_lemma.endswith("ти") and len(folded_lemma) > 4:
            return folded_lemma[:-1]
    return folded_lemma


def text_terms(text: str, hint: str = "ru") -> list[Term]:
    """The terms of a text; `hint` ("ru" / "uk") picks the dictionary for words both languages spell alike."""
    return tokens_terms(tokenize(text), hint)


def tokens_terms(tokens: list[str], hint: str = "ru") -> list[Term]:
    translit = transliterated(tokens)
    phrases = phrase_table()
    folded = [fold_letters(token) for token in tokens]
    terms = []
    i = 0
    while i < len(tokens):
        concept = phrases.get(tuple(folded[i : i + 3])) or phrases.get(tuple(folded[i : i + 2]))
        size = 3 if tuple(folded[i : i + 3]) in phrases else 2
        if concept is None and i + 2 < len(tokens) and folded[i + 1] in STOP_WORDS:
            # The phrase with a function word inside ("сколько по времени" is "сколько времени").
            concept, size = phrases.get((folded[i], folded[i + 2])), 3
        if concept is not None:
            terms.append(_concept_term(concept, " ".join(tokens[i : i + size])))
            i += size
            continue
        term = word_term(tokens[i], hint, translit=translit)
        if term is not None:
            terms.append(term)
        i += 1
    return terms


def transliterated(tokens: list[str]) -> bool:
    """Latin words here are Cyrillic written in Latin letters ("skolko stoit"), not English."""
    latin = [token for token in tokens if is_latin(token) and not any(c.isdigit() for c in token)]
    english = sum(1 for token in latin if is_english_word(token))
    return bool(latin) and english * 2 < len(latin)


def word_term(token: str, hint: str = "ru", *, translit: bool = False) -> Term | None:
    """The term of one normalised token, or None for a word that says nothing about the topic.

    `translit`: the message is transliterated, so even English-looking Latin words ("na", "let")
    are read back into Cyrillic.
    """
    if fold_letters(token) in STOP_WORDS:
        return None
    if any(c.isdigit() for c in token):
        return Term(token, NUMBER_WEIGHT if token.isdigit() else 0.7, (), token)
    if is_latin(token):
        concept = concept_of(token, _english_stem(token))
        if concept is not None:
            return _concept_term(concept, token)
        if not translit and (is_english_word(token) or len(token) <= 2):
            return Term(_english_stem(token), 0.8, (token,), token)
        term = _cyrillic_term(transliterate(token), hint)
        if term is None:
            return None
        return Term(term.key, term.weight, (*term.alts, token), token, translations=term.translations)
    return _cyrillic_term(token, hint)


def _cyrillic_term(token: str, hint: str) -> Term | None:
    if fold_letters(token) in STOP_WORDS:
        return None
    info = analyse(token, hint)
    concept = concept_of(token, *info.lemmas)
    if concept is not None:
        return _concept_term(concept, token)
    folded_lemma = fold_letters(info.lemma)
    if folded_lemma in STOP_WORDS or (info.known and info.pos in _FUNCTION_POS):
        return None
    key = canonical(folded_lemma, info.pos)
    translated = tuple(canonical(fold_letters(word), info.pos) for word in translations(info.lemma))
    alts = tuple(
        dict.fromkeys(
            alt
            for alt in (*(canonical(fold_letters(lemma), info.pos) for lemma in info.lemmas), fold_letters(token))
            if alt != key
        )
    )
    weight = _POS_WEIGHT.get(info.pos, 0.5) if info.known else UNKNOWN_WEIGHT
    return Term(key, weight, alts, token, info.pos if info.known else "", translated)


def _concept_term(concept: str, token: str) -> Term:
    return Term(CONCEPT_PREFIX + concept, WEAK_WEIGHT if concept in WEAK_CONCEPTS else 1.0, (), token)


def _english_stem(word: str) -> str:
    """A light English stem: plurals and -ing/-ed, enough for "lessons", "booking", "delivered"."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word
