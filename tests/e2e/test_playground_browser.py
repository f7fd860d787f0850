"""The owner tries the demo bot in headless Chromium, on a phone and on a desktop, through the local stack.

The link is the one `faqbot run` prints (`LocalStack.demo_bot.playground_url`); the page is history_page's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from faqbot.local.stack import LocalStack

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
KB_QUESTION = "Скільки коштує педикюр?"
KB_ANSWER = "Апаратний педикюр без покриття — 600 грн, з покриттям гель-лаком — 750 грн."
VAGUE = "фарбування"
PICKED_ANSWER = "Фарбування в один тон — від 1200 грн"


def _send(page: Any, text: str) -> None:
    """Type and press Enter, as a keyboard user would; wait for the reply's "why" panel."""
    before = page.locator(".turn .why").count()
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")
    page.locator(".turn .why").nth(before).wait_for(timeout=30_000)


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_owner_asks_clarifies_and_hands_off_without_reaching_managers(
    browser: Any,
    stack: LocalStack,
    screenshot_dir: Path,
    name: str,
    viewport: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: every delivery to notify (managers) and crm_sync (CRM) is counted
    assert stack.demo_bot is not None and stack.demo_bot.playground_url
    queued_before = stack.queue_depths()
    deliveries: list[str] = []
    for function in ("NotifyFunction", "CrmSyncFunction"):
        invoker = stack.invoker(function)
        real = invoker.invoke

        def counting(event: Any, context: Any = None, *, _real: Any = real, _name: str = function) -> Any:
            deliveries.append(_name)
            return _real(event, context)

        monkeypatch.setattr(invoker, "invoke", counting)
    conversations = stack.emulator.resource("dynamodb").Table(stack.resources["ConversationsTable"].name)
    mobile = name == "phone"
    context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile, locale="uk-UA")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        response = page.goto(stack.demo_bot.playground_url, wait_until="load")
        assert response.status == 200
        assert page.get_by_role("heading", name="Спробуйте бота", level=1).is_visible()
        assert page.locator(".kb-panel").get_by_text("Активна версія").is_visible()

        # when: a question from the KB
        _send(page, KB_QUESTION)

        # then: the answer and its decision panel
        turn = page.locator(".turn").last
        assert turn.locator(".msg.bot .bubble").first.inner_text() == KB_ANSWER
        why = turn.locator(".why")
        assert why.get_attribute("data-decision") == "answer"
        assert why.locator(".candidates li").first.get_attribute("data-entry-id") == "7"
        assert "Версія бази" in why.inner_text()

        # when: a vague question, then a click on the first choice
        _send(page, VAGUE)
        offer = page.locator(".turn").last
        assert offer.locator(".why").get_attribute("data-decision") == "clarify"
        chips = offer.locator(".chip")
        assert chips.count() >= 2
        page.screenshot(path=str(screenshot_dir / f"playground-clarify-{name}.png"), full_page=True)
        chips.first.click()
        page.locator(".turn .why").nth(2).wait_for(timeout=30_000)

        # then: the picked entry's answer
        picked = page.locator(".turn").last
        assert picked.locator(".why").get_attribute("data-decision") == "answer"
        assert PICKED_ANSWER in picked.locator(".msg.bot .bubble").first.inner_text()

        # when: the customer asks for a manager (the channel picker used from the keyboard)
        page.locator("#channel").select_option("whatsapp")
        _send(page, "Покличте менеджера, будь ласка")

        # then: the handoff text and the note, and nothing on the queues
        handoff = page.locator(".turn").last
        assert handoff.locator(".why").get_attribute("data-decision") == "human"
        assert "кличу менеджера" in handoff.locator(".msg.bot .bubble").first.inner_text()
        assert handoff.locator(".handoff-note").is_visible()
        assert "повідомили б менеджера" in handoff.locator(".handoff-note").inner_text()
        page.screenshot(path=str(screenshot_dir / f"playground-{name}.png"), full_page=True)
        layout = page.evaluate(
            "() => ({width: document.documentElement.clientWidth, scroll: document.documentElement.scrollWidth})"
        )
        assert layout["scroll"] <= layout["width"], layout
        assert problems == []  # no CSP violations, no script errors
        time.sleep(1.5)  # longer than a poll cycle: an escalation would have been delivered by now
        assert deliveries == []
        assert stack.queue_depths() == queued_before
        assert conversations.scan(Select="COUNT")["Count"] == 0  # no contact, no transcript
    finally:
        context.close()


def test_a_tampered_link_shows_the_403_page(browser: Any, stack: LocalStack) -> None:
    # given
    assert stack.demo_bot is not None and stack.demo_bot.playground_url
    tampered = stack.demo_bot.playground_url[:-3] + "AAA"
    context = browser.new_context(viewport=PHONE, locale="uk-UA")
    page = context.new_page()
    try:
        # when
        response = page.goto(tampered, wait_until="load")

        # then
        assert response.status == 403
        assert page.get_by_role("heading", name="Посилання недійсне").is_visible()
    finally:
        context.close()
