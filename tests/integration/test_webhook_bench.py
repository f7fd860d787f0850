"""The webhook's `faqbot bench` section: warm requests through the real handler against the emulator, and a cold start.

Small sizes here (the figures themselves come from `make bench`): the test proves the measurement runs
end to end and every request is answered, not how fast this machine is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from faqbot.bench import SECTIONS
from faqbot.conversation.bench import run_webhook_bench

pytestmark = pytest.mark.integration

BENCH = Path(__file__).parents[1] / "data" / "bench"


def test_the_webhook_section_is_registered() -> None:
    # when
    section = next(section for section in SECTIONS if section.name == "webhook")
    # then: it loads without running
    assert callable(section.load())


def test_webhook_bench_answers_every_request_and_times_them() -> None:
    # when
    result = run_webhook_bench(BENCH, requests=12, size=300, cold_runs=1)
    # then: every warm request got a 200 with a Dynamic Block status, none an HTTP error
    assert result.requests == 12 and sum(result.statuses.values()) == 12
    assert not [status for status in result.statuses if status.startswith("http") or status == "?"]
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms
    assert result.cold_import_ms > 0 and result.cold_first_request_ms > 0
    assert result.cold_import_cpu_ms is not None and result.cold_import_cpu_ms > 0
    assert result.handler_cpu_ms is not None and result.handler_cpu_ms > 0
    assert result.emulator_cpu_ms is not None and result.emulator_cpu_ms > 0  # Linux /proc
    # and each message (a new contact's) took two DynamoDB round trips of two calls: idempotency put + contact
    # read, then the transcript-and-idempotency batch + the contact's put
    dynamodb = {operation: count for operation, count in result.calls.items() if operation != "SendMessage"}
    assert dynamodb == {"PutItem": 2.0, "GetItem": 1.0, "BatchWriteItem": 1.0}
    figures = result.figures()
    assert figures["kb_entries"] == 300 and figures["warm_p99_ms"] == round(result.p99_ms, 2)
    assert any("load average" in note for note in result.lines())


def test_webhook_bench_runs_with_dynamodb_on_dynamodb_local(dynamodb_local: Any) -> None:
    # given: AWS's own DynamoDB emulator, empty (other tests share the session's server)
    dynamodb_local.drop_all_tables()

    # when
    result = run_webhook_bench(BENCH, requests=8, size=200, cold_runs=1, warmup=2, dynamodb_local=dynamodb_local)

    # then: the same requests, answered the same way, with the tables on DynamoDB Local
    assert result.backend == "DynamoDB Local" and result.figures()["dynamodb"] == "DynamoDB Local"
    assert sum(result.statuses.values()) == 8
    assert not [status for status in result.statuses if status.startswith("http") or status == "?"]
    assert dynamodb_local.client().list_tables()["TableNames"]  # the bench's tables were created there
    dynamodb = {operation: count for operation, count in result.calls.items() if operation != "SendMessage"}
    assert dynamodb == {"PutItem": 2.0, "GetItem": 1.0, "BatchWriteItem": 1.0}
    assert result.emulator_cpu_ms is not None and result.emulator_cpu_ms > 0  # the JVM's CPU counted too
    dynamodb_local.drop_all_tables()
