"""Requests for a person and small talk, recognised before the KB is consulted."""

from __future__ import annotations

import pytest
from faqbot.kb.intents import SmallTalk, asks_for_human, courtesy_kind, smalltalk_kind, strip_greetings
from faqbot.kb.normalize import tokenize


@pytest.mark.parametrize(
    "text",
    [
        "позовите менеджера",
        "хочу поговорити з людиною",
        "operator",
        "можно живого человека?",
        "дайте оператора пожалуйста",
        "call a manager please",
        "pozovite menedzhera",  # chat transliteration reads as the Cyrillic it stands for
        "mozhno menedzhera?",
        "hochu pogovorit s chelovekom",
        "poklichte menedzhera bud laska",
        "позовіть менеджера",  # surzhyk: a Russian verb with the Ukrainian imperative ending
    ],
)
def test_requests_for_a_person_are_recognised(text: str) -> None:
    # when / then
    assert asks_for_human(text)


@pytest.mark.parametrize(
    "text",
    [
        "менеджер сказал что доставка бесплатная",
        "сколько стоит доставка",
        "привет",
        "menedzher skazal chto dostavka besplatnaya",
        "менеджер сказав що буде знижка, будь ласка поясніть",  # "будь" of "будь ласка" summons nobody
    ],
)
def test_mentioning_staff_or_asking_a_question_is_not_a_request_for_a_person(text: str) -> None:
    # when / then
    assert not asks_for_human(text)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Привет!", SmallTalk.GREETING),
        ("👋", SmallTalk.GREETING),
        ("дякую!", SmallTalk.THANKS),
        ("спасибо большое 🙏", SmallTalk.THANKS),
        ("до свидания", SmallTalk.BYE),
    ],
)
def test_bare_courtesy_is_small_talk(text: str, kind: SmallTalk) -> None:
    # when / then
    assert smalltalk_kind(text) is kind


def test_a_greeting_around_a_question_is_not_small_talk_but_is_noticed() -> None:
    # when / then
    assert smalltalk_kind("Добрый день, сколько стоит доставка?") is None
    assert courtesy_kind("Добрый день, сколько стоит доставка?") is SmallTalk.GREETING


def test_greetings_are_stripped_before_matching() -> None:
    # when
    tokens = strip_greetings(tokenize("Добрий день! Скільки коштує доставка?"))

    # then
    assert tokens == ["скільки", "коштує", "доставка"]
