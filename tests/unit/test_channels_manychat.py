"""ManyChat: Full Contact Data in, Dynamic Block v2 out, valid for every channel."""

from __future__ import annotations

import pytest
from faqbot.channels.manychat import parse_contact, render_dynamic_block
from faqbot.channels.models import BotReply, Choice, InvalidPayload, ReplyStatus, Signal
from faqbot.config import Channel, Language, ManyChatSettings, Platform
from webhook_support import assert_valid_dynamic_block, manychat_contact, status_of, texts_of

SETTINGS = ManyChatSettings()
ALL_CHANNELS = [Channel.INSTAGRAM, Channel.WHATSAPP, Channel.TELEGRAM, Channel.MESSENGER]


def _reply(
    status: ReplyStatus = ReplyStatus.ANSWERED, texts: tuple[str, ...] = ("Доставка 80 грн.",), **kw
) -> BotReply:
    return BotReply(status=status, language=Language.UK, texts=texts, **kw)


# ---- parsing ----------------------------------------------------------------------------------------------


def test_bare_full_contact_data_is_parsed_with_instagram_detected() -> None:
    # given
    body = manychat_contact("Скільки коштує доставка?")
    # when
    message = parse_contact(body, settings=SETTINGS)
    # then
    assert message.platform is Platform.MANYCHAT
    assert message.contact_id == "1515862162"
    assert message.channel is Channel.INSTAGRAM
    assert message.text == "Скільки коштує доставка?"
    assert message.name == "Олена Коваль"
    assert message.username == "olena_k"
    assert message.chat_url == "https://app.manychat.com/fb1001816/chat/1515862162"


def test_numeric_id_beyond_2_53_stays_exact_as_a_string() -> None:
    # given: JSON numbers parse to exact Python ints
    body = manychat_contact(id=12345678901234567890123)
    # when
    message = parse_contact(body, settings=SETTINGS)
    # then
    assert message.contact_id == "12345678901234567890123"


def test_contact_under_the_configured_wrapper_key_with_channel_beside_it() -> None:
    # given
    settings = ManyChatSettings(wrapper_key="data")
    body = {"data": manychat_contact(ig_id=None, ig_username=None), "channel": "wa"}
    # when
    message = parse_contact(body, settings=settings)
    # then
    assert message.contact_id == "1515862162"
    assert message.channel is Channel.WHATSAPP


def test_whatsapp_detected_from_whatsapp_phone_and_phone_taken_from_it() -> None:
    # given: the real WA sample has only whatsapp_phone
    body = manychat_contact(ig_id=None, ig_username=None, whatsapp_phone="+50688217229")
    # when
    message = parse_contact(body, settings=SETTINGS)
    # then
    assert message.channel is Channel.WHATSAPP
    assert message.phone == "+50688217229"


def test_channel_query_parameter_wins_over_detection() -> None:
    # given
    body = manychat_contact()  # looks like Instagram
    # when
    message = parse_contact(body, settings=SETTINGS, channel_param="telegram")
    # then
    assert message.channel is Channel.TELEGRAM


def test_contact_without_channel_fields_is_messenger() -> None:
    body = manychat_contact(ig_id=None, ig_username=None)
    assert parse_contact(body, settings=SETTINGS).channel is Channel.MESSENGER


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([1, 2], "expected a JSON object"),
        ({"first_name": "x"}, "missing the contact `id`"),
        (manychat_contact(id=None), "missing the contact `id`"),
        (manychat_contact(id=True), "missing the contact `id`"),
    ],
)
def test_bodies_that_are_not_a_contact_are_refused_with_a_reason(body: object, reason: str) -> None:
    with pytest.raises(InvalidPayload, match=reason):
        parse_contact(body, settings=SETTINGS)


def test_unknown_channel_parameter_is_refused() -> None:
    with pytest.raises(InvalidPayload, match="unknown channel"):
        parse_contact(manychat_contact(), settings=SETTINGS, channel_param="myspace")


def test_takeover_and_resume_flags_from_custom_fields_or_tags() -> None:
    # given: the takeover flag as a custom field, the resume flag as a tag
    body = manychat_contact(custom_fields={"human_takeover": True}, tags=[{"id": 1, "name": "bot_resume"}])
    # when
    message = parse_contact(body, settings=SETTINGS)
    # then
    assert message.takeover == Signal(kind="field", name="human_takeover")
    assert message.resume == Signal(kind="tag", name="bot_resume")


@pytest.mark.parametrize("value", [None, False, "", "false", "0", "no", 0])
def test_flags_that_are_off(value: object) -> None:
    body = manychat_contact(custom_fields={"human_takeover": value})
    assert parse_contact(body, settings=SETTINGS).takeover is None


def test_null_and_odd_typed_fields_are_ignored() -> None:
    # given
    body = manychat_contact(name=None, first_name=["x"], last_name={"a": 1}, last_input_text=None, live_chat_url=5)
    # when
    message = parse_contact(body, settings=SETTINGS)
    # then
    assert message.name is None and message.text == "" and message.chat_url is None


# ---- rendering --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ALL_CHANNELS)
def test_answer_renders_a_valid_block_per_channel(channel: Channel) -> None:
    # when
    block = render_dynamic_block(_reply(), channel=channel, settings=SETTINGS)
    # then
    assert_valid_dynamic_block(block, channel)
    assert texts_of(block) == ["Доставка 80 грн."]
    assert status_of(block) == "answered"


@pytest.mark.parametrize("channel", ALL_CHANNELS)
def test_long_answer_is_split_within_the_channel_limit_and_message_cap(channel: Channel) -> None:
    # given: 12,000 characters of sentences
    long_text = " ".join(f"Речення номер {i} про доставку і оплату." for i in range(300))
    # when
    block = render_dynamic_block(_reply(texts=(long_text,)), channel=channel, settings=SETTINGS)
    # then
    assert_valid_dynamic_block(block, channel)
    assert len(texts_of(block)) > 1
    assert all(text.endswith((".", "…")) for text in texts_of(block))


@pytest.mark.parametrize("channel", ALL_CHANNELS)
def test_clarify_is_numbered_text_everywhere(channel: Channel) -> None:
    # given
    reply = _reply(
        ReplyStatus.CLARIFY,
        texts=("Уточніть, будь ласка:",),
        choices=(
            Choice(number=1, entry_id="a", title="Доставка по Києву"),
            Choice(number=2, entry_id="b", title="Доставка по Україні"),
        ),
        choices_hint="Відповідайте цифрою.",
    )
    # when
    block = render_dynamic_block(reply, channel=channel, settings=SETTINGS)
    # then
    assert_valid_dynamic_block(block, channel)
    joined = "\n".join(texts_of(block))
    assert "1. Доставка по Києву" in joined and "2. Доставка по Україні" in joined
    assert block["content"]["quick_replies"] == []  # no target configured: no quick replies
    assert status_of(block) == "clarify"


@pytest.mark.parametrize(
    ("channel", "expected"),
    [(Channel.INSTAGRAM, 2), (Channel.MESSENGER, 2), (Channel.WHATSAPP, 0), (Channel.TELEGRAM, 0)],
)
def test_clarify_quick_replies_only_where_the_channel_has_them(channel: Channel, expected: int) -> None:
    # given: the flow names the node quick replies go to
    settings = ManyChatSettings(choice_target="FAQ answer")
    reply = _reply(
        ReplyStatus.CLARIFY,
        texts=("Уточніть:",),
        choices=(
            Choice(number=1, entry_id="a", title="Скільки коштує доставка по Києву?"),
            Choice(number=2, entry_id="b", title="B"),
        ),
    )
    # when
    block = render_dynamic_block(reply, channel=channel, settings=settings)
    # then
    assert_valid_dynamic_block(block, channel)
    quick_replies = block["content"]["quick_replies"]
    assert len(quick_replies) == expected
    assert all(len(q["caption"]) <= 20 and q["target"] == "FAQ answer" for q in quick_replies)


@pytest.mark.parametrize("channel", ALL_CHANNELS)
def test_paused_reply_sends_nothing_but_sets_the_status(channel: Channel) -> None:
    # when
    block = render_dynamic_block(_reply(ReplyStatus.PAUSED, texts=()), channel=channel, settings=SETTINGS)
    # then
    assert_valid_dynamic_block(block, channel)
    assert block["content"]["messages"] == []
    assert status_of(block) == "paused"


def test_handoff_adds_the_handoff_tag_and_resume_clears_the_flags_it_saw() -> None:
    # given
    reply = _reply(
        ReplyStatus.HANDOFF,
        texts=("Менеджер скоро відповість.",),
        clear_signals=(Signal(kind="tag", name="bot_resume"), Signal(kind="field", name="human_takeover")),
    )
    # when
    block = render_dynamic_block(reply, channel=Channel.INSTAGRAM, settings=SETTINGS)
    # then
    assert_valid_dynamic_block(block, Channel.INSTAGRAM)
    assert block["content"]["actions"] == [
        {"action": "set_field_value", "field_name": "faqbot_status", "value": "handoff"},  # first: response mapping
        {"action": "remove_tag", "tag_name": "bot_resume"},
        {"action": "unset_field_value", "field_name": "human_takeover"},
        {"action": "add_tag", "tag_name": "faqbot_handoff"},
    ]


def test_status_field_and_handoff_tag_can_be_switched_off() -> None:
    settings = ManyChatSettings(status_field="", handoff_tag="")
    block = render_dynamic_block(_reply(ReplyStatus.HANDOFF), channel=Channel.TELEGRAM, settings=settings)
    assert block["content"]["actions"] == []
