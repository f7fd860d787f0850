"""A client's plain web page embeds the chat widget with one script tag; a visitor uses it in headless Chromium.

The page is served from its own origin (a local HTTP server on a free port, listed in the bot's
`site_origins`); the widget script and the message endpoints come from the local stack's API on
another port, so the browser enforces CORS exactly as on a real site. The host page's hostile CSS
must not reach into the widget (shadow DOM).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from faqbot.bots.registry import BotRegistry
from faqbot.config import BotConfig, Language, Platform
from faqbot.local.emulator import free_port
from faqbot.local.stack import DEMO_KB_FILE, LocalStack

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
BOT_ID = "widgetshop"
QUESTION = "Де знаходиться салон?"
ANSWER_PART = "Городоцька, 25"
HOSTILE_TEXT = "<img src=x onerror=\"document.title='hacked'\"><b>жирний?</b>"
# Everything a careless site could do to a widget's looks.
HOST_CSS = "* { color: red !important; font-size: 40px !important; } div, button { display: inline !important; }"


class _Site(BaseHTTPRequestHandler):
    script_url = ""

    def do_GET(self) -> None:
        title = "Other page" if self.path.startswith("/other") else "Shop"
        body = (
            "<!doctype html><html lang=uk><head><meta charset=utf-8>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title><style>{HOST_CSS}</style></head>"
            f'<body><h1>{title}</h1><a href="/other">Other page</a>'
            f'<script src="{self.script_url}" async></script></body></html>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(stack: LocalStack) -> Iterator[str]:
    """The client's page on its own origin, and the bot that allows that origin (demo KB)."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    BotRegistry(stack.kb_table()).put(
        BotConfig(bot_id=BOT_ID, platform=Platform.WEB, language=Language.UK, site_origins=[origin])
    )
    stack.wait_for_kb(BOT_ID, key=stack.upload_kb(BOT_ID, DEMO_KB_FILE))
    handler = type("Site", (_Site,), {"script_url": f"{stack.api_url}/widget/{BOT_ID}.js"})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin + "/"
    finally:
        server.shutdown()
        server.server_close()


def _widget_state(page: Any) -> dict[str, Any]:
    return page.evaluate(  # type: ignore[no-any-return]
        """() => {
            const root = document.getElementById('faqbot-widget-widgetshop').shadowRoot;
            const panel = root.querySelector('.panel').getBoundingClientRect();
            const bubbles = [...root.querySelectorAll('.msg')].map(el => ({
                cls: el.className, text: el.querySelector('.text').textContent,
                color: getComputedStyle(el.querySelector('.text')).color,
                size: getComputedStyle(el.querySelector('.text')).fontSize,
                left: el.getBoundingClientRect().left, right: el.getBoundingClientRect().right}));
            return {panel: {left: panel.left, right: panel.right, top: panel.top, bottom: panel.bottom},
                    width: document.documentElement.clientWidth, height: window.innerHeight, bubbles,
                    images: root.querySelectorAll('img').length, title: document.title};
        }"""
    )


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_a_visitor_asks_sees_the_answer_and_keeps_the_conversation_across_reloads(
    browser: Any, site: str, screenshot_dir: Path, name: str, viewport: dict[str, int]
) -> None:
    # given: a fresh browser profile (a new visitor)
    phone = name == "phone"
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone, locale="uk-UA")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    try:
        page.goto(site, wait_until="networkidle")
        launcher = page.get_by_role("button", name="Відкрити чат")

        # when: the visitor opens the panel with the keyboard and asks a KB question
        launcher.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog")
        message_box = page.get_by_label("Ваше повідомлення")
        message_box.fill(QUESTION)
        message_box.press("Enter")
        answer = dialog.locator(".msg.bot", has_text=ANSWER_PART)
        answer.wait_for(timeout=20_000)
        page.screenshot(path=str(screenshot_dir / f"widget-{name}-answer.png"))

        # then: the answer, a panel inside the screen, the site's CSS kept out
        assert page.locator(".launcher").get_attribute("aria-expanded") == "true"  # hidden under the panel on a phone
        assert dialog.locator(".msg.visitor", has_text=QUESTION).is_visible()
        state = _widget_state(page)
        assert state["panel"]["left"] >= 0 and state["panel"]["right"] <= state["width"] + 0.5, state
        if phone:  # the whole screen on a phone
            assert state["panel"]["left"] == 0 and state["panel"]["right"] >= state["width"] - 0.5, state
        for bubble in state["bubbles"]:
            assert bubble["color"] != "rgb(255, 0, 0)" and bubble["size"] == "15px", bubble
            assert bubble["left"] >= 0 and bubble["right"] <= state["width"] + 0.5, bubble

        # when: the page is reloaded, then the visitor navigates to another page of the site
        page.reload(wait_until="networkidle")
        dialog.locator(".msg.bot", has_text=ANSWER_PART).wait_for(timeout=20_000)
        page.goto(site + "other", wait_until="networkidle")  # (on a phone the open panel covers the page's links)
        if not page.get_by_role("dialog").is_visible():
            page.get_by_role("button", name="Відкрити чат").click()
        restored = page.get_by_role("dialog").locator(".msg.bot", has_text=ANSWER_PART)
        restored.wait_for(timeout=20_000)
        page.screenshot(path=str(screenshot_dir / f"widget-{name}-after-reload.png"))

        # then: the same conversation, once
        assert page.title() == "Other page"
        assert page.get_by_role("dialog").locator(".msg.visitor", has_text=QUESTION).count() == 1
        assert restored.count() == 1

        # when: an ambiguous question, answered by pressing one of the offered buttons
        box = page.get_by_label("Ваше повідомлення")
        box.fill("знижка")
        box.press("Enter")
        birthday = page.get_by_role("button", name="Чи є знижка на день народження?")
        birthday.wait_for(timeout=20_000)
        page.screenshot(path=str(screenshot_dir / f"widget-{name}-choices.png"))
        birthday.click()
        page.get_by_role("dialog").locator(".msg.bot", has_text="15% на будь-яку процедуру").wait_for(timeout=20_000)

        # then: the choice was sent as its number and the buttons are spent
        assert page.get_by_role("dialog").locator(".msg.visitor .text", has_text="знижка").count() == 1
        assert birthday.is_disabled()

        # when: the visitor writes markup; then Escape closes the panel and gives focus back
        box = page.get_by_label("Ваше повідомлення")
        box.fill(HOSTILE_TEXT)
        box.press("Enter")
        page.get_by_role("dialog").locator(".msg.visitor", has_text="<b>жирний?</b>").wait_for(timeout=20_000)
        page.get_by_role("dialog").locator(".msg.bot", has_text="менеджер").wait_for(timeout=20_000)
        escaped = _widget_state(page)
        box.press("Escape")

        # then: shown as text, never run; the panel closed with the keyboard
        assert escaped["images"] == 0 and escaped["title"] == "Other page"
        assert page.get_by_role("button", name="Відкрити чат").get_attribute("aria-expanded") == "false"
        assert page.evaluate("document.activeElement.id") == f"faqbot-widget-{BOT_ID}"  # focus back on the widget
        assert not page.get_by_role("dialog").is_visible()
        assert problems == []
    finally:
        context.close()
