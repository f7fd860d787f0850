"""The client guide: this bot's facts in the client's language, the same content as HTML and Markdown."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from faqbot.config import BotConfig, Language
from faqbot.guide.render import guide_facts, markdown_to_html, render_guide

LINK = "https://api.example.com/try/abc.def"
UNTIL = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)


def _facts(config: BotConfig, language: Language) -> object:
    return guide_facts(config, language, playground_url=LINK, playground_expires_at=UNTIL)


@pytest.mark.parametrize("language", list(Language))
def test_html_and_markdown_say_the_same(language: Language) -> None:
    # given
    config = BotConfig(bot_id="shop", telegram={"chat_id": -1001})  # type: ignore[arg-type]
    facts = guide_facts(config, language, playground_url=LINK, playground_expires_at=UNTIL)

    # when
    markdown = render_guide(facts, language, "md")
    page = render_guide(facts, language, "html")

    # then: every word of the Markdown is on the page (marks aside), nothing loads from elsewhere
    words = set(re.findall(r"[^\W_]{4,}", re.sub(r"\(https?://[^)]+\)", "", markdown)))
    text = re.sub(r"<[^>]+>", " ", page)
    assert words and {word for word in words if word not in text} == set()
    assert f'<a href="{LINK}">{LINK}</a>' in page
    assert "25.12.2026 12:00" in markdown  # the link's expiry in the bot's time zone (Kyiv)
    assert "<script" not in page and "<link" not in page and "src=" not in page


def test_a_bot_without_a_sheet_gets_the_columns_and_a_sample_table() -> None:
    # given
    config = BotConfig(bot_id="shop", platform="smartsender", pause_timeout_minutes=None)  # type: ignore[arg-type]

    # when
    page = render_guide(guide_facts(config, Language.RU, playground_url=LINK, playground_expires_at=UNTIL), Language.RU)

    # then
    assert "<th>Вопрос</th>" in page and "<th>Ответ</th>" in page
    assert "Какой адрес? | Как вас найти?" in page  # an escaped pipe inside a cell
    assert "<code>human_takeover</code>" in page and "<code>bot_resume</code>" in page
    assert "через" not in page.split("Как вернуть разговор боту")[1]  # paused until resumed: no auto-resume
    assert "Пока уведомления менеджерам не подключены" in page


def test_kommo_and_the_pause_timeout_are_described_with_their_values() -> None:
    # given
    config = BotConfig.model_validate(
        {
            "bot_id": "shop",
            "pause_timeout_minutes": 90,
            "crm": {"kommo": {"base_url": "https://x.kommo.com", "token_param": "t", "task_due_minutes": 20}},
        }
    )

    # when
    markdown = render_guide(_facts(config, Language.UK), Language.UK, "md")  # type: ignore[arg-type]

    # then
    assert "**Kommo**" in markdown and "20 хв" in markdown
    assert "на 1.5 год" in markdown


def test_text_in_the_markdown_is_escaped_in_html() -> None:
    # when
    page = markdown_to_html("# A <b> & `x<y>`\n\n- **bold** [site](https://example.com/?a=1&b=2)\n")

    # then
    assert "<h1>A &lt;b&gt; &amp; <code>x&lt;y&gt;</code></h1>" in page
    assert '<li><strong>bold</strong> <a href="https://example.com/?a=1&amp;b=2">site</a></li>' in page
