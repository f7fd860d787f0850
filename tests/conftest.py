"""Shared fixtures: AWS environments, the emulator with the template's resources, the real handlers.

Everything AWS-shaped is built from `infra/template.yaml`, so tests and the deployed stack cannot
drift. None of these fixtures uses the fixed ports 4566/3000 (a developer may be running
`faqbot run`); servers get free ports.

Caution: moto's in-process `mock_aws` intercepts EVERY boto3 call of the process, including
calls to a server on 127.0.0.1. Do not combine it with `emulator`, `stack` or the
`dynamodb-local` backend in one test.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from faqbot import aws, settings
from faqbot.local.dynamodb_local import DynamoDBLocal
from faqbot.local.emulator import Emulator, free_port
from faqbot.local.handlers import LOCAL_REGION, FakeLambdaContext, FunctionInvoker
from faqbot.local.resources import create_resources, create_tables, plan_resources
from faqbot.local.stack import LocalStack, local_function_env
from faqbot.local.template import load_template
from hypothesis import settings as hypothesis_settings
from moto import mock_aws
from support.local_aws import LocalAws

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"
EVENTS_DIR = REPO_ROOT / "events"

# CI (`.ci/run`) replays the same property-test examples every run, so a red build is about the change, not
# the dice; locally every run draws new examples (and prints how to reproduce a failure).
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Variables that would point boto3 somewhere other than where a fixture wants it.
_AWS_ROUTING_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "AWS_SESSION_TOKEN")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "template_parameters(**values): template parameter overrides for the `emulator` fixture's resources",
    )


def _forget_cached_clients() -> None:
    aws.reset()
    settings.reset()


# ---------------------------------------------------------------------------------------- basics


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """infra/template.yaml as data (intrinsics in their long form)."""
    return load_template(TEMPLATE_PATH)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dummy credentials, region eu-central-1, no endpoint override; `faqbot.aws`/`settings` caches cleared."""
    for name in _AWS_ROUTING_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", LOCAL_REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", LOCAL_REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    _forget_cached_clients()
    yield
    _forget_cached_clients()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """A Lambda context object (function name, request id, remaining time...)."""
    return FakeLambdaContext(function_name="TestFunction")


@pytest.fixture
def load_event() -> Callable[[str], dict[str, Any]]:
    """`load_event("manychat_instagram")` → the parsed `events/manychat_instagram.json` (a fresh copy)."""

    def load(name: str) -> dict[str, Any]:
        path = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    return load


# ---------------------------------------------------------------------------------------- the emulator


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Emulator]:
    """One moto server (child process, free port) for the session; `emulator` resets it per test."""
    server = Emulator(free_port(), in_process=False).start()
    yield server
    server.stop()


@pytest.fixture
def emulator(
    request: pytest.FixtureRequest,
    emulator_server: Emulator,
    template: dict[str, Any],
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> LocalAws:
    """A freshly reset emulator holding the template's tables, queues and bucket; boto3 points at it.

    `AWS_ENDPOINT_URL` is set for the test, so `faqbot.aws` (and handlers run with `invoke`) use it.
    `@pytest.mark.template_parameters(MaxReceiveCount=2)` overrides template parameters.
    """
    marker = request.node.get_closest_marker("template_parameters")
    emulator_server.reset()
    resources = plan_resources(
        template,
        template_dir=TEMPLATE_PATH.parent,
        endpoint_url=emulator_server.url,
        parameter_overrides=marker.kwargs if marker else None,
    )
    create_resources(
        template,
        resources,
        dynamodb_client=emulator_server.client("dynamodb"),
        sqs_client=emulator_server.client("sqs"),
        s3_client=emulator_server.client("s3"),
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_server.url)
    _forget_cached_clients()
    return LocalAws(emulator_server, resources)


# ---------------------------------------------------------------------------------------- real handlers


Invoke = Callable[..., Any]


@pytest.fixture
def invoke(request: pytest.FixtureRequest, template: dict[str, Any], aws_env: None) -> Invoke:
    """`invoke("webhook", event, env={...})` runs the real `functions/<name>/app.py` handler.

    The function (logical id or folder name) gets its template environment; with the `emulator`
    fixture in the test, resources resolve to the emulator's, otherwise to AWS-style names and
    URLs (what moto's `mock_aws` accepts). `env` adds or overrides variables. Each test loads its
    own fresh module (a cold start), so warm-container state never leaks between tests.
    """
    local: LocalAws | None = request.getfixturevalue("emulator") if "emulator" in request.fixturenames else None
    resources = local.resources if local else plan_resources(template, template_dir=TEMPLATE_PATH.parent)
    invokers: dict[tuple[str, tuple[tuple[str, str], ...]], FunctionInvoker] = {}

    def run(function: str, event: Any, *, env: Mapping[str, str] | None = None, context: Any = None) -> Any:
        fn = resources.function(function)
        full_env = {**local_function_env(fn, local.url if local else None), **(env or {})}
        key = (fn.logical_id, tuple(sorted(full_env.items())))
        if key not in invokers:
            invokers[key] = FunctionInvoker(
                fn.logical_id, fn.code_dir, full_env, handler=fn.handler, memory_mb=fn.memory_mb, restore_env=True
            )
        return invokers[key].invoke(event, context)

    return run


# ---------------------------------------------------------------------------------------- DynamoDB backends


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    """AWS's DynamoDB Local (in memory, free port), started once per session when a test needs it."""
    server = DynamoDBLocal().start()
    yield server
    server.stop()


@pytest.fixture(params=["moto", "dynamodb-local"])
def dynamodb_backend(
    request: pytest.FixtureRequest, template: dict[str, Any], aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """A boto3 DynamoDB resource with the template's tables (fresh), on moto and on AWS's DynamoDB Local.

    `faqbot.aws.dynamodb()` reaches the same backend. Which one runs: `request.node.callspec.id`.
    """
    resources = plan_resources(template, template_dir=TEMPLATE_PATH.parent)
    if request.param == "moto":
        with mock_aws():
            resource = boto3.resource("dynamodb", region_name=LOCAL_REGION)
            create_tables(template, resources, dynamodb_client=resource.meta.client)
            yield resource
        return
    server: DynamoDBLocal = request.getfixturevalue("dynamodb_local")
    server.drop_all_tables()
    create_tables(template, resources, dynamodb_client=server.client())
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.url)
    _forget_cached_clients()
    yield server.resource()


# ---------------------------------------------------------------------------------------- the whole stack


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The local stack of `faqbot run` (free ports, emulator in a child process) with the demo bot.

    Module-scoped: its pollers run in the background while the module's tests run, so it must be
    gone before other modules' `mock_aws` (which would intercept its calls) starts.
    """
    local = LocalStack(
        api_port=free_port(), emulator_port=free_port(), demo=True, in_process_emulator=False, restore_env=True
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()
