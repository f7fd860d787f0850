"""Handlers run in-process like Lambda runs them: loaded by path, with their own environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from faqbot import settings
from faqbot.local.handlers import FakeLambdaContext, FunctionInvoker, load_handler

HANDLER = '''
import os
from faqbot.settings import webhook_settings

loaded_with = os.environ.get("STAGE")
calls = []

def lambda_handler(event, context):
    calls.append(event)
    return {"stage": os.environ.get("STAGE"), "table": webhook_settings().kb_table_name,
            "loaded_with": loaded_with, "calls": len(calls), "function": context.function_name}
'''


@pytest.fixture
def function_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "echo_fn"
    folder.mkdir()
    (folder / "app.py").write_text(HANDLER, encoding="utf-8")
    return folder


def test_a_handler_is_loaded_by_path_under_a_unique_module_name(function_dir: Path) -> None:
    first = load_handler(function_dir)
    second = load_handler(function_dir)

    assert first.__module__ == "faqbot_fn_echo_fn"
    assert "faqbot_fn_echo_fn" in sys.modules
    assert first is not second  # a fresh module (cold start) each time: no shared warm state


def test_a_missing_handler_says_which_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"app\.py"):
        load_handler(tmp_path)


def test_the_function_environment_applies_at_load_and_call_and_is_restored(
    function_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    monkeypatch.setenv("STAGE", "outer")
    monkeypatch.delenv("KB_TABLE_NAME", raising=False)
    settings.reset()
    invoker = FunctionInvoker("EchoFunction", function_dir, {"STAGE": "local", "KB_TABLE_NAME": "LocalKb"})

    # when
    first = invoker.invoke({"n": 1})
    second = invoker.invoke({"n": 2})

    # then
    assert first == {
        "stage": "local",
        "table": "LocalKb",
        "loaded_with": "local",
        "calls": 1,
        "function": "EchoFunction",
    }
    assert second["calls"] == 2  # the same warm container
    assert os.environ["STAGE"] == "outer" and "KB_TABLE_NAME" not in os.environ
    assert settings.webhook_settings().kb_table_name == "KbTable"  # cached settings were forgotten


def test_the_fake_context_counts_down_from_the_timeout() -> None:
    context = FakeLambdaContext(function_name="Fn", timeout_seconds=10)

    assert 9000 < context.get_remaining_time_in_millis() <= 10000
    assert context.invoked_function_arn == "arn:aws:lambda:eu-central-1:123456789012:function:Fn"
    assert context.aws_request_id and context.log_group_name == "/aws/lambda/Fn"
