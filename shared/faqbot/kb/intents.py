"""What a message is before it is a question: a request for a live person, or small talk.

A request for a person must win over any KB answer ("позовите менеджера", "хочу поговорити з
людиною", "operator", "можно администратора?"), while a question *about* the staff ("до котрої
відповідають менеджери?") is a question. The rule: a staff word plus a summons (a request verb,
an imperative addressed to them, "live"/"real", a complaint about the bot), or a staff word alone.
Small talk is a message made only of greetings, thanks, goodbyes and filler.
"""

from __future__ import annotations

from enum import StrEnum

from faqbot.kb.morphology import analyse
from faqbot.kb.normalize import (
    BYE_WORDS,
    GREETING_EMOJI,
    GREETING_TAILS,
    GREETING_WORDS,
    SMALLTALK_FILLER,
    STOP_WORDS,
    THANKS_EMOJI,
    THANKS_WORDS,
    fold_letters,
    has_emoji,
    is_english_word,
    is_latin,
    tokenize,
    transliterate,
    word_list,
)


def _folded(text: str) -> frozenset[str]:
    return frozenset(fold_letters(word) for word in word_list(text))


# Staff a customer asks for; enough on their own ("оператор!", "можно администратора?").
_STAFF = _folded(
    "менеджер администратор админ оператор консультант адміністратор адмін manager admin administrator operator"
    " agent human support саппорт поддержка підтримка"
)
# A person: needs a summons ("дайте человека"), since "сколько человек в группе" is a question.
_PERSON = _folded("человек люди людина person someone somebody people")
_LIVE = _folded("живой живий жива живу живого живым живою живою real live")
_BOT = _folded("бот бота ботом робот bot robot")
# Verbs (dictionary forms and English words) that summon someone.
_SUMMON = _folded(
    "позвать звать пригласить дать соединить переключить связать связаться поговорить говорить общаться"
    " перезвонить позвонить набрать написать ответить покликати кликати звати дати з'єднати переключити"
    " зв'язати зв'язатися поговорити говорити спілкуватися розмовляти передзвонити зателефонувати набрати"
    " відповісти нужный потрібний call connect talk speak chat get need want transfer"
)
# Imperatives that are politeness, not a summons ("подскажите, когда отвечают менеджеры?"); "будь" is the
# imperative of "бути" in "будь ласка" (please).
_POLITE_IMPERATIVES = _folded(
    "подсказать сказать уточнить пояснить рассказать помочь підказати сказати уточнити пояснити розповісти"
    " допомогти быть бути"
)
# Interjections that go with calling someone ("менеджер ау", "алло, оператор").
_CALLS = _folded("ау алло ало эй гей срочно терміново please пожалуйста будь ласка плиз")


class SmallTalk(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    BYE = "bye"


def asks_for_human(text: str) -> bool:
    """The customer asks for a live person (manager, operator, administrator) rather than an answer.

    Chat transliteration is read as the Cyrillic it stands for ("pozovite menedzhera" is "позовите
    менеджера"); English words stay English ("call a manager").
    """
    tokens = [_cyrillic_reading(token) for token in tokenize(text)]
    folded = [fold_letters(token) for token in tokens]
    lemmas = [_lemmas(token) for token in tokens]
    staff = any(f in _STAFF or lemma_set & _STAFF for f, lemma_set in zip(folded, lemmas, strict=True))
    person = any(f in _PERSON or lemma_set & _PERSON for f, lemma_set in zip(folded, lemmas, strict=True))
    if not staff and not person:
        return False
    summon = any(lemma_set & _SUMMON for lemma_set in lemmas)
    live = any(f in _LIVE for f in folded)
    bot = any(f in _BOT or lemma_set & _BOT for f, lemma_set in zip(folded, lemmas, strict=True))
    if summon or live or bot:
        return True
    if not staff:
        return False
    imperative = any(
        not is_latin(token) and analyse(token).imperative and not lemma_set & _POLITE_IMPERATIVES
        for token, lemma_set in zip(tokens, lemmas, strict=True)
    )
    if imperative:
        return True
    # Nothing but the staff word and filler: "оператор!", "можно администратора?", "менеджер ау".
    rest = [
        f
        for f, lemma_set in zip(folded, lemmas, strict=True)
        if f not in _STAFF and not lemma_set & _STAFF and f not in STOP_WORDS and f not in _CALLS
        and f not in GREETING_WORDS and f not in GREETING_TAILS
    ]
    return not rest


def _cyrillic_reading(token: str) -> str:
    return transliterate(token) if is_latin(token) and not is_english_word(token) else token


def smalltalk_kind(text: str) -> SmallTalk | None:
    """Greeting / thanks / bye when the message is nothing but that (and filler); else None."""
    tokens = tokenize(text)
    if not tokens:
        if has_emoji(text, THANKS_EMOJI):
            return SmallTalk.THANKS
        if has_emoji(text, GREETING_EMOJI):
            return SmallTalk.GREETING
        return None
    if any(not _is_courtesy(fold_letters(token)) for token in tokens):
        return None
    kind = courtesy_kind(text)
    if kind is None and any(fold_letters(token) in SMALLTALK_FILLER for token in tokens):
        return SmallTalk.GREETING  # "how are you?", "как дела?"
    return kind


def courtesy_kind(text: str) -> SmallTalk | None:
    """The courtesy a message contains, if any: thanks wins over goodbye, goodbye over greeting."""
    folded = {fold_letters(token) for token in tokenize(text)}
    if folded & THANKS_WORDS or has_emoji(text, THANKS_EMOJI):
        return SmallTalk.THANKS
    if folded & BYE_WORDS:
        return SmallTalk.BYE
    if folded & GREETING_WORDS or has_emoji(text, GREETING_EMOJI):
        return SmallTalk.GREETING
    return None


# A closing remark carries at most this many words besides the courtesy ("дякую, все отримала").
_CLOSING_MAX_WORDS = 2


def closing_remark(text: str) -> SmallTalk | None:
    """Thanks / bye when that is what the message is *about*: no question left once the courtesy is removed.

    A courtesy word inside a question does not make it small talk: "пока" is also "while" ("можно я
    посижу рядом, пока её стригут?"), and an emoji decorates questions ("скидки есть? 🙏"). So a
    message with a question mark, or with more than a couple of words besides the courtesy, is a question.
    """
    kind = courtesy_kind(text)
    if kind is None or kind is SmallTalk.GREETING or "?" in text:
        return None
    words = [token for token in tokenize(text) if not _is_courtesy(fold_letters(token))]
    return kind if len(words) <= _CLOSING_MAX_WORDS else None


def strip_greetings(tokens: list[str]) -> list[str]:
    """Drop greeting formulas ("добрый день", "доброго вечора", "привет") so only the question is matched."""
    out: list[str] = []
    skip_tail = False
    for token in tokens:
        folded = fold_letters(token)
        if folded in GREETING_WORDS:
            skip_tail = True
            continue
        if skip_tail and folded in GREETING_TAILS:
            skip_tail = False
            continue
        skip_tail = False
        out.append(token)
    return out


def _is_courtesy(folded: str) -> bool:
    return (
        folded in THANKS_WORDS
        or folded in BYE_WORDS
        or folded in GREETING_WORDS
        or folded in GREETING_TAILS
        or folded in SMALLTALK_FILLER
        or folded in STOP_WORDS
    )


def _lemmas(token: str) -> frozenset[str]:
    if is_latin(token):
        return frozenset({token})
    return frozenset(fold_letters(lemma) for lemma in analyse(token).lemmas)
