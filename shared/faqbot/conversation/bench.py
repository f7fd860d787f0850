"""The webhook's latency: warm requests in-process against the local emulator, and a cold start.

- warm: the real `functions/webhook/app.py` handler, loaded once (a warm container), a bot with a
  1,000-entry KB in the emulator (moto server on a free port), customer messages from the bench
  query files, each from a new contact (so no contact is paused by an earlier handoff); the time
  of each `lambda_handler(event, context)` call, DynamoDB/SQS/SSM round trips included.
- cold: a fresh Python process imports the handler module (timed) and serves its first request
  (timed separately: it builds the matcher of the 1,000-entry KB).

Used by `faqbot bench` (the webhook section).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faqbot.kb.models import KbEntry

BENCH_SECRET = "bench-secret"
BENCH_BOT = "bench"
_PRODUCTS = [
    "кавоварка", "блендер", "тостер", "мікрохвильовка", "пилосос", "праска", "фен", "чайник", "мультиварка",
    "холодильник", "пральна машина", "посудомийка", "телевізор", "навушники", "колонка", "ноутбук", "планшет",
    "смартфон", "годинник", "фотоапарат",
]  # fmt: skip
_SERIES = ["AX", "BX", "CX", "DX", "EX", "FX", "GX", "HX", "KX", "LX", "MX", "NX", "PX", "RX", "SX", "TX", "VX", "ZX"]


@dataclass(frozen=True)
class WebhookBench:
    entries: int
    requests: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    cold_import_ms: float
    cold_first_request_ms: float
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        statuses = ", ".join(f"{name} {count}" for name, count in sorted(self.statuses.items()))
        return [
            f"webhook, {self.entries}-entry KB, local emulator, {self.requests} warm requests ({statuses})",
            f"  warm latency   p50 {self.p50_ms:6.1f} ms   p99 {self.p99_ms:6.1f} ms   max {self.max_ms:6.1f} ms"
            f"   (target p99 < 20 ms)",
            f"  cold start     import {self.cold_import_ms:6.1f} ms (target < 400 ms)"
            f"   first request {self.cold_first_request_ms:6.1f} ms",
            *(f"  {note}" for note in self.notes),
        ]


def large_kb(bench_dir: Path, size: int = 1000) -> list[KbEntry]:
    """The bench KBs' real entries, topped up to `size` with distinct catalogue entries ("Is model X in stock?").

    The real entries keep the decisions realistic for the bench queries; the catalogue makes the index as
    large as a big client's.
    """
    from faqbot.kb.spreadsheet import load_kb_file

    entries = [
        entry.model_copy(update={"id": f"{path.stem}-{entry.id}"})
        for path in sorted(bench_dir.glob("*.csv"))
        if not path.name.endswith(".queries.csv")
        for entry in load_kb_file(path)
    ][:size]
    for index in range(size - len(entries)):
        product = _PRODUCTS[index % len(_PRODUCTS)]
        model = f"{_SERIES[index // len(_PRODUCTS) % len(_SERIES)]}-{100 + index}"
        entries.append(
            KbEntry(
                id=f"catalogue-{index}",
                question=f"Чи є в наявності {product} {model}?",
                answer=(
                    f"Так, {product} {model} є на складі у Львові, відправимо сьогодні. "
                    f"Ціна {300 + index % 70 * 10} грн."
                ),
                keywords=(model.lower(),),
            )
        )
    return entries


def bench_queries(bench_dir: Path) -> list[str]:
    queries: list[str] = []
    for path in sorted(bench_dir.glob("*.queries.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            queries += [row["query"] for row in csv.DictReader(handle) if row.get("query")]
    return queries


def run_webhook_bench(bench_dir: Path, *, requests: int = 400, size: int = 1000) -> WebhookBench:
    from faqbot.local.emulator import Emulator, free_port

    with Emulator(free_port(), in_process=False) as emulator, _environment(emulator.url) as env:
        _prepare(emulator, large_kb(bench_dir, size))
        cold_import_ms, cold_first_ms = _cold_start(env)
        timings, statuses = _warm(env, bench_queries(bench_dir), requests)
    ordered = sorted(timings)
    return WebhookBench(
        entries=size,
        requests=len(timings),
        p50_ms=statistics.median(ordered),
        p99_ms=ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        max_ms=ordered[-1],
        statuses=dict(statuses),
        cold_import_ms=cold_import_ms,
        cold_first_request_ms=cold_first_ms,
    )


# ---- internals ------------------------------------------------------------------------------------------


def _webhook_dir() -> Path:
    from faqbot.local.template import repo_root

    return repo_root() / "functions" / "webhook"


@contextmanager
def _environment(endpoint: str) -> Iterator[dict[str, str]]:
    """The webhook's environment under the local stack, applied to this process for the bench."""
    from faqbot import aws, settings
    from faqbot.local.resources import create_resources, plan_resources
    from faqbot.local.stack import local_function_env
    from faqbot.local.template import default_template_path, load_template

    template_path = default_template_path()
    template = load_template(template_path)
    resources = plan_resources(template, template_dir=template_path.parent, endpoint_url=endpoint)
    env = local_function_env(resources.function("WebhookFunction"), endpoint)
    env.update(LOG_LEVEL="WARNING", POWERTOOLS_LOG_LEVEL="WARNING")
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    aws.reset()
    settings.reset()
    try:
        create_resources(
            template,
            resources,
            dynamodb_client=aws.client("dynamodb"),
            sqs_client=aws.client("sqs"),
            s3_client=aws.client("s3"),
        )
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        aws.reset()
        settings.reset()


def _prepare(emulator: Any, entries: list[KbEntry]) -> None:
    from faqbot import aws
    from faqbot.bots.admin import create_bot
    from faqbot.bots.registry import BotRegistry
    from faqbot.config import Platform
    from faqbot.kb.store import KnowledgeBaseStore
    from faqbot.secrets import SecretStore
    from faqbot.settings import webhook_settings

    table = aws.dynamodb().Table(webhook_settings().kb_table_name)
    create_bot(
        registry=BotRegistry(table),
        secret_store=SecretStore(),
        stage=webhook_settings().stage,
        bot_id=BENCH_BOT,
        platform=Platform.MANYCHAT,
        token=BENCH_SECRET,
        overwrite=True,
    )
    KnowledgeBaseStore(table).publish(BENCH_BOT, entries, source="bench")


def _event(text: str, contact_id: str) -> dict[str, Any]:
    body = {
        "id": contact_id,
        "name": "Bench",
        "last_input_text": text,
        "ig_username": "bench",
        "live_chat_url": f"https://app.manychat.com/fb1/chat/{contact_id}",
        "last_interaction": contact_id,
    }
    path = f"/bots/{BENCH_BOT}/manychat"
    return {
        "version": "2.0",
        "routeKey": "POST /bots/{bot_id}/manychat",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": f"Bearer {BENCH_SECRET}", "content-type": "application/json"},
        "requestContext": {
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": contact_id,
            "routeKey": "POST /bots/{bot_id}/manychat",
            "stage": "$default",
        },
        "pathParameters": {"bot_id": BENCH_BOT},
        "isBase64Encoded": False,
        "body": json.dumps(body, ensure_ascii=False),
    }


def _warm(env: dict[str, str], queries: list[str], requests: int) -> tuple[list[float], Counter[str]]:
    from faqbot.local.handlers import FakeLambdaContext, load_handler

    handler = load_handler(_webhook_dir())
    timings: list[float] = []
    statuses: Counter[str] = Counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's JSON log and metric lines
        handler(_event(queries[0], "warmup"), FakeLambdaContext())  # builds the matcher: the cold part
        for index in range(requests):
            event = _event(queries[index % len(queries)], f"bench-{index}")
            started = time.perf_counter()
            response = handler(event, FakeLambdaContext())
            timings.append((time.perf_counter() - started) * 1000)
            statuses[_status(response)] += 1
    return timings, statuses


def _status(response: dict[str, Any]) -> str:
    if response.get("statusCode") != 200:
        return f"http {response.get('statusCode')}"
    for action in json.loads(response["body"])["content"].get("actions", []):
        if action.get("field_name") == "faqbot_status":
            return str(action["value"])
    return "?"


# The Lambda runtime has boto3 but not the dev-only extras botocore picks up when installed (awscrt, pyOpenSSL
# via urllib3.contrib): hide them, so the import measured is the one Lambda does.
_COLD_SCRIPT = """
import json, sys, time
for name in ("awscrt", "OpenSSL"):
    sys.modules[name] = None
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import app
imported = time.perf_counter()
from faqbot.local.handlers import FakeLambdaContext
response = app.lambda_handler(json.loads(sys.argv[2]), FakeLambdaContext())
done = time.perf_counter()
assert response["statusCode"] == 200, response
print(json.dumps({"import_ms": (imported - started) * 1000, "first_ms": (done - imported) * 1000}))
"""


def _cold_start(env: dict[str, str]) -> tuple[float, float]:
    """(import ms, first request ms) of the handler in a fresh interpreter: the median of three runs."""
    runs = []
    for attempt in range(3):
        output = subprocess.run(
            [
                sys.executable,
                "-c",
                _COLD_SCRIPT,
                str(_webhook_dir()),
                json.dumps(_event("Скільки коштує доставка?", f"cold-{attempt}")),
            ],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    return statistics.median(run["import_ms"] for run in runs), statistics.median(run["first_ms"] for run in runs)
