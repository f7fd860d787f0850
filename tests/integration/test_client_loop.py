"""The client's loop against the local stack: `faqbot kb connect|sync`, kb_ingest's schedule,
`faqbot playground link` and `faqbot bots guide` (all with --local).

The "Google Sheet" is a local HTTP server (127.0.0.1, allowed explicitly under --local and here); what the
sync uploads goes through the real S3 → kb_ingest path, report and atomic activation.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from faqbot.config import Platform
from faqbot.kb.store import KnowledgeBaseStore
from faqbot.kb.sync import SourceStateStore
from faqbot.local.stack import LocalStack
from pytest_httpserver import HTTPServer
from werkzeug import Response

pytestmark = pytest.mark.integration

FAQBOT_CLI = Path(sys.executable).with_name("faqbot")
BOT = "sheetbot"
SHEET_V1 = "id,Питання,Відповідь\n1,Де ви знаходитесь?,Львів\n2,Який графік роботи?,Щодня 9-21\n"
SHEET_V2 = SHEET_V1 + "3,Чи є парковка?,Так\n"
BROKEN = "id,Питання,Коментар\n1,Де ви знаходитесь?,без відповіді\n"  # no answer column


@pytest.fixture(scope="module")
def sheet_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


def _serve(server: HTTPServer, body: str | Response) -> None:
    server.clear()
    response = body if isinstance(body, Response) else Response(body, content_type="text/csv; charset=utf-8")
    server.expect_request("/sheet.csv").respond_with_response(response)


def _faqbot(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAQBOT_EMULATOR_PORT": str(stack.emulator.port)}
    env.pop("AWS_ENDPOINT_URL", None)
    env.pop("KB_SOURCE_ALLOW_HOSTS", None)
    return subprocess.run(
        [str(FAQBOT_CLI), *args, "--local"], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_a_connected_sheet_is_activated_when_changed_skipped_when_not_and_kept_when_broken(
    stack: LocalStack, sheet_server: HTTPServer
) -> None:
    # given: a bot whose KB follows a sheet served from this machine
    stack.create_bot(BOT, settings={"language": "uk"})
    kb = KnowledgeBaseStore(stack.kb_table())
    url = sheet_server.url_for("/sheet.csv")
    _serve(sheet_server, SHEET_V1)

    # when: connected (which syncs at once)
    connected = _faqbot(stack, "kb", "connect", BOT, url)

    # then
    assert connected.returncode == 0, connected.stdout + connected.stderr
    first = kb.active(BOT, consistent=True)
    assert first is not None and first.entry_count == 2 and first.source == "kb-source.csv"

    # when: nothing changed in the sheet
    unchanged = _faqbot(stack, "kb", "sync", BOT)

    # then: nothing happens
    assert unchanged.returncode == 0, unchanged.stderr
    assert "not changed" in unchanged.stdout
    assert kb.active(BOT, consistent=True) == first

    # when: the client adds a row
    _serve(sheet_server, SHEET_V2)
    changed = _faqbot(stack, "kb", "sync", BOT)

    # then: a new version is live
    assert changed.returncode == 0, changed.stdout + changed.stderr
    second = kb.active(BOT, consistent=True)
    assert second is not None and second.version > first.version and second.entry_count == 3

    # when: a broken edit (the answer column renamed)
    _serve(sheet_server, BROKEN)
    broken = _faqbot(stack, "kb", "sync", BOT, "--json")

    # then: the old version stays live and the report says why
    assert broken.returncode == 1, broken.stdout + broken.stderr
    report = json.loads(broken.stdout)
    assert report["activation"]["status"] == "rejected"
    assert report["activation"]["live_version"] == second.version
    assert any(issue["code"] == "missing_answer_column" for issue in report["issues"])
    assert kb.active(BOT, consistent=True) == second

    # when: the sheet is gone
    _serve(sheet_server, Response(status=404))
    gone = _faqbot(stack, "kb", "sync", BOT)

    # then: a report a person can act on, and still the same live version
    assert gone.returncode == 1
    assert "HTTP 404" in gone.stdout
    assert kb.active(BOT, consistent=True) == second
    state = SourceStateStore(stack.kb_table()).get(BOT)
    assert state is not None and state.status == "failed" and state.reason == "not_found"


def test_sync_without_a_connected_sheet_says_how_to_connect_one(stack: LocalStack) -> None:
    # given
    stack.create_bot("nosheet")

    # when
    result = _faqbot(stack, "kb", "sync", "nosheet")

    # then
    assert result.returncode != 0
    assert "faqbot kb connect nosheet" in result.stderr


def test_connect_refuses_text_that_is_no_link(stack: LocalStack) -> None:
    # when
    result = _faqbot(stack, "kb", "connect", BOT, "мій прайс")

    # then
    assert result.returncode == 2
    assert "Google" in result.stderr


def test_the_scheduled_run_uploads_changed_sheets_of_every_connected_bot(
    stack: LocalStack, sheet_server: HTTPServer
) -> None:
    # given: two bots on the same sheet, one of them already in sync with it
    _serve(sheet_server, SHEET_V1)
    url = sheet_server.url_for("/sheet.csv")
    for bot_id in ("cron-a", "cron-b"):
        stack.create_bot(bot_id, settings={"kb_source_url": url})
    env = {**stack.function_env("KbIngestFunction"), "KB_SOURCE_ALLOW_HOSTS": "127.0.0.1"}
    invoker = _invoker(stack, env)
    first = invoker.invoke({"action": "kb_sync"})
    statuses = {item["bot_id"]: item["status"] for item in first["synced"]}
    assert statuses["cron-a"] == statuses["cron-b"] == "uploaded"
    for bot_id in ("cron-a", "cron-b"):
        stack.wait_for_kb(bot_id)

    # when: run again with nothing changed
    second = invoker.invoke({"action": "kb_sync"})

    # then
    statuses = {item["bot_id"]: item["status"] for item in second["synced"]}
    assert statuses["cron-a"] == statuses["cron-b"] == "unchanged"


def _invoker(stack: LocalStack, env: dict[str, str]) -> Any:
    from faqbot.local.handlers import FunctionInvoker

    fn = stack.resources.function("KbIngestFunction") if stack.resources else None
    assert fn is not None
    return FunctionInvoker(
        fn.logical_id, fn.code_dir, env, handler=fn.handler, memory_mb=fn.memory_mb, restore_env=True
    )


# ---- playground links and the client guide ---------------------------------------------------------------------


def test_playground_link_opens_the_playground_of_that_bot(stack: LocalStack) -> None:
    # when
    result = _faqbot(stack, "playground", "link", "demo", "--ttl", "2h", "--base-url", stack.api_url)

    # then
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link.startswith(f"{stack.api_url}/try/")
    page = httpx.get(link, timeout=30)
    assert page.status_code == 200 and "Demo" in page.text
    history = httpx.get(link.replace("/try/", "/history/"), timeout=30)
    assert history.status_code == 403  # a playground token never opens a transcript


def test_the_demo_bots_playground_link_is_ready_on_start(stack: LocalStack) -> None:
    # given
    assert stack.demo_bot is not None and stack.demo_bot.playground_url is not None

    # when
    response = httpx.post(
        stack.demo_bot.playground_url + "/messages", json={"text": "Скільки коштує педикюр?"}, timeout=30
    )

    # then
    assert response.status_code == 200
    assert response.json()["decision"] == "answer" and response.json()["entry_id"] == "7"


@pytest.mark.parametrize(
    ("platform", "language", "stop", "restart", "words"),
    [
        ("manychat", "uk", "operator_on", "bot_back", ["Live Chat", "Tags", "Як зупинити"]),
        ("manychat", "ru", "operator_on", "bot_back", ["Live Chat", "Tags", "Как остановить"]),
        ("smartsender", "uk", "manager_mode", "robot_mode", ["SmartSender", "Змінні", "Як зупинити"]),
        ("smartsender", "ru", "manager_mode", "robot_mode", ["SmartSender", "Переменные", "Как остановить"]),
    ],
)
def test_the_guide_names_the_bots_own_switches_link_and_sheet(
    stack: LocalStack, tmp_path: Path, platform: str, language: str, stop: str, restart: str, words: list[str]
) -> None:
    # given: a bot whose flow uses its own tag / variable names, following a sheet
    bot_id = f"guide-{platform}-{language}"
    sheet = "https://docs.google.com/spreadsheets/d/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/edit#gid=0"
    switches = (
        {"manychat": {"takeover_tag": stop, "resume_tag": restart}}
        if platform == "manychat"
        else {"smartsender": {"takeover_variable": stop, "resume_variable": restart}}
    )
    stack.create_bot(
        bot_id,
        platform=Platform(platform),
        settings={"language": "uk", "display_name": "Квіти", "kb_source_url": sheet, **switches},
    )
    out = tmp_path / ("guide.html" if language == "uk" else "guide.md")  # both formats, over the cases

    # when
    result = _faqbot(stack, "bots", "guide", bot_id, "--lang", language, "--out", str(out), "--base-url", stack.api_url)

    # then
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert f"`{stop}`" in text or f"<code>{stop}</code>" in text
    assert f"`{restart}`" in text or f"<code>{restart}</code>" in text
    assert sheet in text
    for word in words:
        assert word in text, word
    link = re.search(r"(http://127\.0\.0\.1:\d+/try/[^)\]\s\"<]+)", text)
    assert link is not None
    assert httpx.get(link.group(1), timeout=30).status_code == 200  # the guide's link opens this bot's playground
    if out.suffix == ".html":
        assert f'<html lang="{language}">' in text
        assert "<script" not in text and "https://" not in text.replace(sheet, "")
    else:
        assert text.startswith("# ")
