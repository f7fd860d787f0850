"""The local stack end to end: real handlers behind the local HTTP API, S3 → kb_ingest, and `faqbot run`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from faqbot.local.emulator import free_port
from faqbot.local.stack import DEMO_KB_FILE, LocalStack
from support.waiting import wait_until

FAQBOT = Path(sys.executable).parent / "faqbot"


def test_an_upload_under_kb_demo_reaches_kb_ingest_and_activates_a_new_version(stack: LocalStack) -> None:
    # given: the demo bot's KB was ingested when the stack started
    assert stack.demo_bot is not None
    before = stack.demo_bot.kb.version

    # when: a client uploads a new spreadsheet, through S3 only
    key = stack.upload_kb("demo", DEMO_KB_FILE, key_name="updated.csv")
    active = stack.wait_for_kb("demo", key=key, newer_than=before, timeout=60)

    # then
    assert active.version > before
    assert active.source == "updated.csv" and active.entry_count == stack.demo_bot.kb.entry_count


def test_the_http_api_maps_requests_to_the_handler_and_back(stack: LocalStack) -> None:
    # when
    health = httpx.get(f"{stack.api_url}/health")
    unknown = httpx.get(f"{stack.api_url}/no/such/route")

    # then
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert "demo" not in health.text  # liveness only: a deployment must not list its bots
    assert unknown.status_code == 404 and unknown.json() == {"message": "Not Found"}


def test_the_demo_bot_answers_a_manychat_request_with_its_secret_only(stack: LocalStack) -> None:
    # given
    assert stack.demo_bot is not None
    body = {"id": "42", "first_name": "Олена", "last_input_text": "Який у вас графік роботи?", "custom_fields": {}}

    # when
    answered = httpx.post(
        stack.demo_bot.webhook_url, json=body, headers={"Authorization": f"Bearer {stack.demo_bot.secret}"}
    )
    refused = httpx.post(stack.demo_bot.webhook_url, json=body)

    # then
    assert answered.status_code == 200 and answered.json()["version"] == "v2"
    assert refused.status_code == 401


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> set[int]:
    """Every descendant process of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_faqbot_run_serves_the_demo_bot_and_stops_cleanly_on_ctrl_c() -> None:
    # given
    api_port, emulator_port = free_port(), free_port()
    secret = "local-demo-secret-for-tests"
    env = {**os.environ, "FAQBOT_DEMO_TOKEN": secret, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    process = subprocess.Popen(
        [str(FAQBOT), "run", "--port", str(api_port), "--emulator-port", str(emulator_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        base = f"http://127.0.0.1:{api_port}"

        def banner_printed() -> bool:
            assert process.poll() is None, "faqbot run exited early:\n" + "".join(lines)
            return any("Ctrl-C stops everything" in line for line in lines)

        # when
        wait_until(banner_printed, timeout=90, interval=0.2, what="faqbot run to be up")
        health = httpx.get(f"{base}/health")
        bot_health = httpx.get(f"{base}/bots/demo/health", headers={"Authorization": f"Bearer {secret}"})
        anonymous = httpx.get(f"{base}/bots/demo/health")
        descendants = _children(process.pid)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        reader.join(5)
        output = "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # then
    assert health.status_code == 200
    kb = bot_health.json()["kb"]
    assert bot_health.status_code == 200 and kb["version"] >= 1 and kb["entry_count"] > 0
    assert anonymous.status_code == 401
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{api_port}/bots/demo/manychat" in output and secret in output
    assert "curl -sS -X POST" in output and "Stopped." in output
    time.sleep(0.2)
    assert not [pid for pid in descendants if _alive(pid)]
    assert not _listening(api_port) and not _listening(emulator_port)
