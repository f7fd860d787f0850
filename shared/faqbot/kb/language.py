"""Which language the customer writes in, so the bot replies in it (Russian, Ukrainian or English).

Letters decide most messages (і ї є ґ are Ukrainian; ы э ъ ё are Russian); for the rest, the words
the Ukrainian dictionary knows and the Russian one does not (and vice versa) decide; Latin text is
English when its words are English, otherwise transliteration read back into Cyrillic.
"""

from __future__ import annotations

from faqbot.config import Language
from faqbot.kb.normalize import is_english_word, is_latin, tokenize, transliterate, word_list

_UK_LETTERS = frozenset("іїєґ")
_RU_LETTERS = frozenset("ыэъё")
# Short words both dictionaries know but only one language uses this way.
_UK_WORDS = frozenset(
    word_list(
        "що як де коли чи але або також дякую будь ласка скільки можна треба вже ще мені вам вас нам його її їх є"
        " добрий доброго вітаю привіт так ні"
    )
)
_RU_WORDS = frozenset(
    word_list(
        "что как где когда ли но или тоже спасибо пожалуйста сколько можно нужно надо уже еще мне вам вас нам его ее"
        " их есть добрый доброе здравствуйте привет да нет"
    )
)


def detect_language(text: str, default: Language = Language.UK) -> Language:
    """The language of a customer's message; `default` (the bot's language) when nothing tells."""
    scores = {Language.UK: 0.0, Language.RU: 0.0, Language.EN: 0.0}
    for word in tokenize(text):
        if word.isdigit():
            continue
        if is_latin(word):
            if is_english_word(word):
                scores[Language.EN] += 1.0
            else:
                _score_cyrillic(transliterate(word), scores, weight=0.5)
            continue
        _score_cyrillic(word, scores, weight=1.0)
    best = max(scores, key=lambda lang: scores[lang])
    if scores[best] <= 0:
        return default
    if scores[Language.UK] == scores[Language.RU] == scores[best]:
        return default if default in (Language.UK, Language.RU) else Language.UK
    return best


def _score_cyrillic(word: str, scores: dict[Language, float], weight: float) -> None:
    letters = set(word)
    if letters & _UK_LETTERS:
        scores[Language.UK] += 2 * weight
        return
    if letters & _RU_LETTERS:
        scores[Language.RU] += 2 * weight
        return
    uk_word, ru_word = word in _UK_WORDS, word in _RU_WORDS
    if uk_word != ru_word:
        scores[Language.UK if uk_word else Language.RU] += weight
        return
    from faqbot.kb.morphology import known_in

    in_uk, in_ru = known_in(word, "uk"), known_in(word, "ru")
    if in_uk != in_ru:
        scores[Language.UK if in_uk else Language.RU] += weight
