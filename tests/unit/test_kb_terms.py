"""Word forms (pymorphy3 ru + uk) and the cross-language concept vocabulary, as the matcher sees them."""

from __future__ import annotations

import pytest
from faqbot.kb.lexicon import translations
from faqbot.kb.morphology import analyse
from faqbot.kb.terms import text_terms


def _keys(text: str, hint: str = "ru") -> list[str]:
    return [term.key for term in text_terms(text, hint)]


@pytest.mark.parametrize(
    ("word", "hint", "lemma"),
    [
        ("частями", "ru", "часть"),
        ("частинами", "uk", "частина"),
        ("пломбу", "ru", "пломба"),
        ("людиною", "uk", "людина"),
    ],
)
def test_words_are_reduced_to_their_dictionary_form(word: str, hint: str, lemma: str) -> None:
    # when
    info = analyse(word, hint)

    # then
    assert info.lemma == lemma
    assert info.known
    assert info.pos == "NOUN"


def test_imperatives_are_flagged() -> None:
    # when / then
    assert analyse("позовите", "ru").imperative
    assert not analyse("позвать", "ru").imperative


@pytest.mark.parametrize("form", ["зуб", "зубов", "зубами", "зубы"])
def test_inflected_forms_share_one_key(form: str) -> None:
    # when / then
    assert _keys(form, "ru") == ["зуб"]


def test_other_readings_of_a_word_are_kept_as_alternatives() -> None:
    # when: the Ukrainian dictionary's first reading of "зубів" is the plural "зуби"
    (term,) = text_terms("зубів", "uk")

    # then: the singular is still reachable
    assert "зуб" in (term.key, *term.alts)


@pytest.mark.parametrize("word", ["ціна", "цена", "стоимость", "вартість", "почём", "price"])
def test_price_words_of_every_language_meet_on_one_concept(word: str) -> None:
    # when / then
    assert _keys(word, "uk") == ["#price"]


@pytest.mark.parametrize(
    "text", ["Вы в воскресенье открыты?", "Во сколько открываетесь?", "Ви відчинені в неділю?", "Are you open?"]
)
def test_being_open_is_working_hours_in_every_language(text: str) -> None:
    # "open" already was; a business that "открывается" / "відчинена" works then. "Открыть счёт" is not it.
    assert "#work" in {t.key for t in text_terms(text)}
    assert "#work" not in {t.key for t in text_terms("Как открыть счёт?")}


def test_bring_your_own_is_one_term_in_every_language() -> None:
    # "свой" / "свій" / "own" are no function words: "со своими запчастями" is a question of its own
    keys = [
        {t.key for t in text_terms(text)}
        for text in ("Можно со своим маслом?", "Можна зі своєю оливою?", "Can I bring my own oil?")
    ]

    assert all("#own" in k for k in keys)


def test_russian_and_ukrainian_phrasings_give_the_same_terms() -> None:
    # when / then
    assert _keys("оплатить частями", "ru") == _keys("оплатити частинами", "uk") == ["#payment", "#installments"]
    assert _keys("записаться", "ru") == _keys("записатися", "uk")


def test_chat_transliteration_gives_the_same_terms_as_cyrillic() -> None:
    # when / then
    assert _keys("skolko stoit dostavka") == _keys("сколько стоит доставка")


def test_function_words_carry_no_terms() -> None:
    # when / then
    assert _keys("и а у з в на", "ru") == []


def test_question_words_weigh_less_than_topic_words() -> None:
    # when
    weights = {term.key: term.weight for term in text_terms("сколько стоит доставка", "ru")}

    # then
    assert weights["#how_much"] < weights["#delivery"]


@pytest.mark.parametrize(
    ("text", "hint"),
    [("сколько по времени", "ru"), ("сколько времени", "ru"), ("як же довго", "uk"), ("як довго", "uk")],
)
def test_a_phrase_is_read_with_a_function_word_inside_it_too(text: str, hint: str) -> None:
    # when / then: "how long" whether or not a preposition sits in the middle
    assert _keys(text, hint) == ["#duration"]


def test_words_around_a_function_word_that_make_no_phrase_stay_words() -> None:
    # when / then
    assert _keys("сколько по цене") == _keys("сколько цена") == ["#how_much", "#price"]


def test_a_russian_verb_with_the_ukrainian_imperative_ending_reads_as_the_russian_imperative() -> None:
    # when
    surzhyk = analyse("позовіть", "uk")

    # then: "позовіть" is "позовите"; real Ukrainian imperatives keep their own reading
    assert (surzhyk.lemma, surzhyk.imperative, surzhyk.known) == ("позвать", True, True)
    assert analyse("робіть", "uk").lemma == "робити"


@pytest.mark.parametrize(
    ("ukrainian", "russian"),
    [
        ("щеплення", "прививки"),  # no letters in common
        ("завдань", "задания"),
        ("співбесіди", "собеседование"),
    ],
)
def test_a_ukrainian_word_and_its_russian_translation_meet(ukrainian: str, russian: str) -> None:
    # when
    uk_term = text_terms(ukrainian, "uk")[0]
    ru_term = text_terms(russian, "ru")[0]

    # then: each carries the other's key among its translations (the bilingual lexicon, both ways)
    assert ru_term.key in uk_term.translations
    assert uk_term.key in ru_term.translations


def test_the_lexicon_translates_both_ways_and_knows_nothing_of_unknown_words() -> None:
    # then
    assert "прививка" in translations("щеплення")
    assert "щеплення" in translations("прививка")
    assert translations("грумінгувати") == ()


def test_ukrainian_work_in_the_genitive_is_work_not_robots() -> None:
    # given: "роботи" is a form of both "робота" (work) and "робот" (robot)
    entry = _keys("Який у вас графік роботи?", "uk")
    message = _keys("до котрої працюєте в суботу?", "uk")

    # then: the opening-hours entry and the message meet on work
    assert "#work" in entry
    assert "#work" in message


def test_a_transliterated_word_keeps_its_translations() -> None:
    # when: "shcheplennia" is "щеплення" in Latin letters
    term = text_terms("chy potribni shcheplennia", "uk")[-1]

    # then
    assert "прививка" in term.translations
