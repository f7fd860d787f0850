"""Text normalisation: cleaning, tokens, letter folding, transliteration, language detection."""

from __future__ import annotations

import pytest
from faqbot.config import Language
from faqbot.kb.language import detect_language
from faqbot.kb.normalize import clean, emoji_only, fold_letters, is_english_word, is_latin, tokenize, transliterate


def test_tokenize_drops_case_punctuation_and_emojis() -> None:
    # when
    tokens = tokenize("Добрый день!!! Подскажите, а у вас можно ОПЛАТИТЬ частями? 😊")

    # then
    assert tokens == ["добрый", "день", "подскажите", "а", "у", "вас", "можно", "оплатить", "частями"]


def test_clean_folds_yo_and_unifies_apostrophes() -> None:
    # when / then
    assert clean("ЁЛКА") == "елка"
    assert tokenize("кур’єр") == tokenize("кур`єр") == ["кур'єр"]


@pytest.mark.parametrize(
    ("ukrainian", "russian"),
    [("вініри", "виниры"), ("єдиний", "эдиный"), ("ґанок", "ганок"), ("об'єм", "объем")],
)
def test_fold_letters_gives_russian_and_ukrainian_spellings_one_skeleton(ukrainian: str, russian: str) -> None:
    # when / then
    assert fold_letters(ukrainian) == fold_letters(russian)


def test_fold_letters_keeps_different_words_apart() -> None:
    # when / then
    assert fold_letters("цена") != fold_letters("сена")


@pytest.mark.parametrize(
    ("latin", "cyrillic_skeleton"),
    [("dostavka", "доставка"), ("oplata", "оплата"), ("shchas", "щас"), ("zhenskiy", "женскии"), ("skolko", "сколко")],
)
def test_transliteration_reads_chat_latin_back_as_cyrillic(latin: str, cyrillic_skeleton: str) -> None:
    # when / then
    assert fold_letters(transliterate(latin)) == fold_letters(cyrillic_skeleton)


def test_english_words_are_recognised_so_they_are_not_transliterated() -> None:
    # when / then
    assert is_english_word("price")
    assert not is_english_word("skolko")
    assert is_latin("skolko") and not is_latin("сколько")


def test_emoji_only_messages_are_told_from_text_with_emojis() -> None:
    # when / then
    assert emoji_only("😊👍")
    assert not emoji_only("ок 😊")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("сколько стоит доставка", Language.RU),
        ("скільки коштує доставка", Language.UK),
        ("how much is the delivery", Language.EN),
        ("skolko stoit dostavka", Language.RU),
    ],
)
def test_detect_language(text: str, language: Language) -> None:
    # when / then
    assert detect_language(text) is language
