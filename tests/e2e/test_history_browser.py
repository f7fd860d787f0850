"""A manager opens a transcript link from the local stack in headless Chromium, on a phone and on a desktop.

The conversation is made the real way: ManyChat requests to the demo bot's webhook through the
local API; the link comes from `faqbot history link --local`; the page from history_page.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from faqbot.conversation.store import ConversationStore, Role, StoredMessage
from faqbot.local.stack import LocalStack

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
FAQBOT_CLI = Path(sys.executable).with_name("faqbot")
CUSTOMER_MESSAGES = [
    "Скільки коштує педикюр?",
    "<script>document.title='hacked'</script><b>жирний?</b>",
    "Ось посилання: https://example.com/" + "дуже-довгий-шлях-без-пробілів-" * 8,
    "Покличте менеджера, будь ласка",
]
# What the page must show as plain text: the escaped script, and a manager's reply stored by the platform.
SCRIPT_TEXT = "<script>document.title='hacked'</script><b>жирний?</b>"
MANAGER_TEXT = "Вітаю! Я Марія, зараз допоможу з записом."


def _send(stack: LocalStack, load_event: Callable[[str], dict[str, Any]], text: str, second: int) -> None:
    """One customer message, as ManyChat's External Request sends it."""
    assert stack.demo_bot is not None
    body = json.loads(load_event("manychat_instagram")["body"])
    moment = f"2026-11-25T12:00:{second:02d}+02:00"
    body.update(last_input_text=text, last_interaction=moment, ig_last_interaction=moment)
    response = httpx.post(
        stack.demo_bot.webhook_url,
        json=body,
        headers={"authorization": f"Bearer {stack.demo_bot.secret}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def transcript_link(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real conversation with the demo bot, plus a manager's reply, and a fresh link to it."""
    events_dir = Path(__file__).resolve().parents[2] / "events"

    def load_event(name: str) -> dict[str, Any]:
        return json.loads((events_dir / f"{name}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    for second, text in enumerate(CUSTOMER_MESSAGES):
        _send(stack, load_event, text, second)
    assert stack.resources is not None
    contact_id = json.loads(load_event("manychat_instagram")["body"])["id"]
    store = ConversationStore(stack.emulator.client("dynamodb"), stack.resources["ConversationsTable"].name)
    assert store.get_contact("demo", contact_id) is not None, "the webhook stored no contact"
    store.append_message(
        "demo",
        contact_id,
        StoredMessage(at=datetime.now(UTC) + timedelta(seconds=1), role=Role.MANAGER, text=MANAGER_TEXT),
    )
    result = subprocess.run(
        [str(FAQBOT_CLI), "history", "link", "demo", contact_id, "--local", "--ttl", "1h", "--base-url", stack.api_url],
        env={**os.environ, "FAQBOT_EMULATOR_PORT": str(stack.emulator.port)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link.startswith(f"{stack.api_url}/history/")
    return link


def _open(browser: Any, url: str, viewport: dict[str, int], *, mobile: bool) -> tuple[Any, Any, Any, list[str]]:
    """Open `url`; `problems` collects console errors, page errors and any request but the page itself."""
    context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile, locale="uk-UA")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    # The page loads nothing: no scripts, fonts, styles or images from anywhere (data: URLs never make requests).
    page.on("request", lambda request: problems.append(f"request {request.url}") if request.url != url else None)
    response = page.goto(url, wait_until="networkidle")
    return context, page, response, problems


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_transcript_is_readable_without_horizontal_overflow(
    browser: Any, transcript_link: str, screenshot_dir: Path, name: str, viewport: dict[str, int]
) -> None:
    # given
    context, page, response, problems = _open(browser, transcript_link, viewport, mobile=name == "phone")
    try:
        # when
        page.screenshot(path=str(screenshot_dir / f"history-{name}.png"), full_page=True)
        layout = page.evaluate(
            """() => {
                const width = document.documentElement.clientWidth;
                const boxes = [...document.querySelectorAll('.bubble, .event span')].map(el => {
                    const r = el.getBoundingClientRect();
                    const style = getComputedStyle(el);
                    const shown = style.visibility !== 'hidden' && style.display !== 'none';
                    return {left: r.left, right: r.right, width: r.width, height: r.height,
                            visible: shown && r.width > 0 && r.height > 0, text: el.innerText.slice(0, 40)};
                });
                return {width, scrollWidth: document.documentElement.scrollWidth,
                        bodyScrollWidth: document.body.scrollWidth, boxes,
                        title: document.title, scripts: document.scripts.length};
            }"""
        )

        # then: a page, the bubbles of every kind, all visible and inside the viewport
        assert response.status == 200
        assert response.headers["cache-control"] == "no-store"
        assert layout["scrollWidth"] <= layout["width"], layout
        assert layout["bodyScrollWidth"] <= layout["width"], layout
        assert len(layout["boxes"]) >= len(CUSTOMER_MESSAGES) * 2 + 1
        for box in layout["boxes"]:
            assert box["visible"], box
            assert box["left"] >= 0 and box["right"] <= layout["width"] + 0.5, box
        for role in ("customer", "bot", "manager"):
            assert page.locator(f".msg.{role} .bubble").first.is_visible(), role
        assert page.locator(".event").first.is_visible()
        # customer text is shown as text, never run
        assert page.get_by_text(SCRIPT_TEXT, exact=True).is_visible()
        assert page.get_by_text(MANAGER_TEXT).is_visible()
        assert "hacked" not in layout["title"] and layout["scripts"] == 0
        assert problems == []  # no CSP violations, errors or requests for anything else
    finally:
        context.close()


def test_tampered_link_shows_the_403_page(browser: Any, transcript_link: str, screenshot_dir: Path) -> None:
    # given
    tampered = transcript_link[:-3] + ("AAA" if not transcript_link.endswith("AAA") else "BBB")

    # when
    context, page, response, problems = _open(browser, tampered, PHONE, mobile=True)
    try:
        page.screenshot(path=str(screenshot_dir / "history-invalid-phone.png"))

        # then
        assert response.status == 403
        assert page.get_by_role("heading", name="Посилання недійсне").is_visible()
        assert page.locator(".bubble").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        assert [problem for problem in problems if problem.startswith("request ")] == []
    finally:
        context.close()
