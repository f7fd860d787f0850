"""The dry-run outbox: calls of bots without credentials print to the console and get a plausible answer."""

from __future__ import annotations

import httpx
import pytest
from faqbot.outbound import clear_recent_calls, outbound_client, recent_calls, wants_dry_run


@pytest.mark.parametrize(
    ("mode", "has_credentials", "expected"),
    [("console", False, True), ("console", True, False), ("", False, False), (None, False, False)],
)
def test_dry_run_only_locally_and_without_credentials(mode: str | None, has_credentials: bool, expected: bool) -> None:
    assert wants_dry_run(mode, has_credentials=has_credentials) is expected


def test_a_telegram_call_prints_an_outbox_line_with_the_token_masked(capsys: pytest.CaptureFixture[str]) -> None:
    # given
    clear_recent_calls()
    body = {"chat_id": -1001234567890, "text": "<b>Нова заявка</b>", "parse_mode": "HTML"}

    # when
    with outbound_client(dry_run=True) as http:
        response = http.post("https://api.telegram.org/bot123456:SECRET-token/sendMessage", json=body)

    # then
    printed = capsys.readouterr().out
    assert "outbox ▸ POST https://api.telegram.org/bot***/sendMessage" in printed
    assert "Нова заявка" in printed and "SECRET" not in printed
    answer = response.json()
    assert answer["ok"] is True and answer["result"]["chat"]["id"] == -1001234567890
    assert isinstance(answer["result"]["message_id"], int)
    assert [call.url for call in recent_calls()] == ["https://api.telegram.org/bot***/sendMessage"]


def test_kommo_and_manychat_get_their_success_shapes(capsys: pytest.CaptureFixture[str]) -> None:
    with outbound_client(dry_run=True) as http:
        leads = http.post("https://mybiz.kommo.com/api/v4/leads/complex", json=[{"name": "Lead"}])
        tasks = http.post("https://mybiz.kommo.com/api/v4/tasks", json=[{"text": "Call", "complete_till": 1}])
        search = http.get("https://mybiz.kommo.com/api/v4/contacts", params={"query": "380671234567"})
        manychat = http.post("https://api.manychat.com/fb/sending/sendContent", json={"subscriber_id": 1})

    assert leads.status_code == 200 and set(leads.json()[0]) >= {"id", "contact_id", "request_id"}
    assert isinstance(tasks.json()["_embedded"]["tasks"][0]["id"], int)
    assert search.status_code == 204 and search.content == b""
    assert manychat.json() == {"status": "success", "data": {}}
    assert "contacts?query=380671234567" in capsys.readouterr().out  # only secret-looking keys are masked


def test_secret_query_parameters_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    with outbound_client(dry_run=True) as http:
        http.get("https://example.com/hook", params={"token": "abc", "page": "2"})

    assert "https://example.com/hook?token=***&page=2" in capsys.readouterr().out


def test_without_dry_run_the_client_sends_for_real() -> None:
    with outbound_client(dry_run=False, timeout=3.0) as http:
        assert not isinstance(http._transport, httpx.MockTransport)
        assert http.timeout.read == 3.0
