"""SmartSender: the documented request body in, the "Соответствия" response out."""

from __future__ import annotations

import pytest
from faqbot.channels.models import BotReply, Choice, InvalidPayload, ReplyStatus
from faqbot.channels.smartsender import chat_url_for, parse_request, render_response
from faqbot.config import Channel, Language, Platform, SmartSenderSettings

SETTINGS = SmartSenderSettings()


def test_documented_body_is_parsed() -> None:
    # given: the body docs/webhook.md tells the flow author to configure, as SmartSender fills it
    body = {
        "contact_id": "48213377",
        "text": "Чи є доставка у Львів?",
        "name": "Андрій Шевченко",
        "username": "andrii",
        "phone": "+380671234567",
        "email": "a@example.com",
        "channel": "telegram",
        "human_takeover": "",
        "bot_resume": "",
    }
    # when
    message = parse_request(body, settings=SETTINGS)
    # then
    assert message.platform is Platform.SMARTSENDER
    assert (message.contact_id, message.channel, message.text) == ("48213377", Channel.TELEGRAM, body["text"])
    assert (message.name, message.username, message.phone, message.email) == (
        "Андрій Шевченко",
        "andrii",
        "+380671234567",
        "a@example.com",
    )
    assert message.takeover is None and message.resume is None


def test_aliases_numbers_and_unfilled_variables() -> None:
    # given: SmartSender's own variable names, a numeric id, and a variable it could not fill
    body = {"userId": 48213377, "message": "Привіт", "firstName": "Андрій", "phone": "{{phone}}", "bot_resume": "1"}
    # when
    message = parse_request(body, settings=SETTINGS, channel_param="viber")
    # then
    assert message.contact_id == "48213377"
    assert message.text == "Привіт"
    assert message.name == "Андрій"
    assert message.phone is None
    assert message.channel is Channel.VIBER
    assert message.resume is not None and message.resume.name == "bot_resume"


@pytest.mark.parametrize("body", [{}, {"contact_id": ""}, {"contact_id": "{{userId}}"}, "text", None])
def test_missing_contact_id_is_refused_with_the_fix(body: object) -> None:
    with pytest.raises(InvalidPayload):
        parse_request(body, settings=SETTINGS)


def test_chat_url_from_the_bots_template() -> None:
    settings = SmartSenderSettings(chat_url_template="https://app.smartsender.com/chats/{contact_id}")
    assert chat_url_for(settings, "42") == "https://app.smartsender.com/chats/42"
    assert chat_url_for(SETTINGS, "42") is None


def test_answer_response_for_the_mapping() -> None:
    # given
    reply = BotReply(status=ReplyStatus.ANSWERED, language=Language.UK, texts=("Так, доставляємо у Львів.",))
    # when
    response = render_response(reply, channel=Channel.TELEGRAM)
    # then
    assert response["status"] == "answered"
    assert response["reply"] == "Так, доставляємо у Львів."
    assert response["messages"] == ["Так, доставляємо у Львів."]
    assert response["handoff"] is False and response["paused"] is False
    assert response["language"] == "uk"


def test_clarify_response_carries_choices_and_numbered_text() -> None:
    reply = BotReply(
        status=ReplyStatus.CLARIFY,
        language=Language.UK,
        texts=("Уточніть:",),
        choices=(Choice(number=1, entry_id="7", title="Доставка"), Choice(number=2, entry_id="9", title="Оплата")),
    )
    response = render_response(reply, channel=Channel.TELEGRAM)
    assert response["choices"] == [
        {"number": 1, "id": "7", "title": "Доставка"},
        {"number": 2, "id": "9", "title": "Оплата"},
    ]
    assert response["choices_text"] == "1. Доставка\n2. Оплата"
    assert response["reply"] == "Уточніть:\n\n1. Доставка\n2. Оплата"


def test_paused_response_is_silent() -> None:
    response = render_response(BotReply(status=ReplyStatus.PAUSED, language=Language.UK), channel=Channel.UNKNOWN)
    assert response["reply"] == "" and response["messages"] == [] and response["paused"] is True


def test_long_reply_is_split_for_the_channel() -> None:
    text = " ".join(f"Речення {i}." for i in range(400))  # ~4,400 characters
    response = render_response(
        BotReply(status=ReplyStatus.ANSWERED, language=Language.UK, texts=(text,)), channel=Channel.INSTAGRAM
    )
    assert response["message_count"] == len(response["messages"]) > 1
    assert all(len(part) <= 1000 for part in response["messages"])
