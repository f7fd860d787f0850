"""Splitting long answers for a channel, and lead data (phones, e-mails) from what customers write."""

from __future__ import annotations

import pytest
from faqbot.channels.split import split_text
from faqbot.conversation.leads import find_email, find_phone, missing_lead_fields, normalize_email, normalize_phone
from faqbot.conversation.store import Contact
from hypothesis import given, settings
from hypothesis import strategies as st


def test_split_prefers_paragraphs_then_sentences() -> None:
    # given
    text = "Перший абзац. Коротко.\n\nДругий абзац має два речення. Ось друге речення тут."
    # when
    parts = split_text(text, 40)
    # then
    assert parts == ["Перший абзац. Коротко.", "Другий абзац має два речення.", "Ось друге речення тут."]


def test_split_keeps_list_lines_whole() -> None:
    text = "Ціни:\n1) чистка 500 грн\n2) пломба 900 грн\n3) відбілювання 3000 грн"
    assert split_text(text, 45) == ["Ціни:\n1) чистка 500 грн\n2) пломба 900 грн", "3) відбілювання 3000 грн"]


def test_a_word_longer_than_the_limit_is_cut() -> None:
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


@settings(max_examples=150, deadline=None)
@given(text=st.text(min_size=0, max_size=3000), limit=st.integers(min_value=1, max_value=500))
def test_split_never_exceeds_the_limit_and_loses_no_text(text: str, limit: int) -> None:
    # when
    parts = split_text(text, limit)
    # then
    assert all(0 < len(part) <= limit for part in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("+380 67 123 45 67", "+380671234567"),
        ("067-123-45-67", "+380671234567"),
        ("0671234567", "+380671234567"),
        ("(067) 123 45 67", "+380671234567"),
        ("380671234567", "+380671234567"),
        ("+48 512 345 678", "+48512345678"),
        ("+1 415 555 2671", "+14155552671"),
    ],
)
def test_phone_formats_normalise_to_e164(written: str, e164: str) -> None:
    assert normalize_phone(written) == e164
    assert find_phone(f"мій номер {written}, телефонуйте після 18:00") == e164


@pytest.mark.parametrize("text", ["ціна 500 грн", "запис на 12.05.2026 о 14:30", "123", "замовлення №4412"])
def test_numbers_that_are_not_phones(text: str) -> None:
    assert find_phone(text) is None


def test_email_in_a_message() -> None:
    assert find_email("пишіть на Olena.K+faq@gmail.com, дякую") == "olena.k+faq@gmail.com"
    assert find_email("ціна @ 500") is None
    assert normalize_email(" A@B.ua ") == "a@b.ua"
    assert normalize_email("not an email") is None


def test_missing_lead_fields() -> None:
    contact = Contact(bot_id="b", contact_id="c", name="Олена", phone=None, email="o@x.ua")
    assert missing_lead_fields(contact, ["name", "phone"]) == ["phone"]
    assert missing_lead_fields(contact, ["name", "email"]) == []
    assert missing_lead_fields(contact, ["nmae"]) == ["nmae"]  # a config typo never counts as known
