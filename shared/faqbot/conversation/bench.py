"""The webhook's latency: warm requests in-process against the local emulator, and a cold start.

- warm: the real `functions/webhook/app.py` handler, loaded once (a warm container), a bot with a
  1,000-entry KB in the emulator (moto server on a free port), customer messages from the bench
  query files, each from a new contact (so no contact is paused by an earlier handoff); the time
  of each `lambda_handler(event, context)` call, DynamoDB/SQS/SSM round trips included.
- twice: with every service on moto (the local stack's emulator), and with DynamoDB on AWS's own
  DynamoDB Local (SQS and SSM stay on moto) when `make install` has put it in tools/. The gap between
  the two is emulator cost, not ours: see the moto note below.
- cold: a fresh Python process imports the handler module (timed) and serves its first request
  (timed separately: it builds the matcher of the 1,000-entry KB).
- CPU time beside wall time (the import's, and per warm request the handler's and the emulator's):
  on a shared, busy machine wall time mostly measures the neighbours, CPU time much less so.
- the AWS calls each message makes (counted on the handler's boto3 clients, by operation): the round
  trips the emulator serves. Its per-call cost is not DynamoDB's: moto parses every request in Python
  (~1.7 ms CPU a call) and its werkzeug server closes the connection after each response, so every call
  also pays a TCP connect; DynamoDB keeps the connection alive and serves concurrent calls in parallel.
- as deployed: the template's log level (INFO: a JSON log line per message) and Powertools metrics (an EMF
  line per request); X-Ray tracing stays off (outside Lambda there is no trace header nor daemon to send to).
- the queues are drained between requests, untimed, as the notify and crm_sync consumers drain them when
  deployed: moto keeps a queue's messages in a list that every SendMessage walks, so an undrained queue makes
  each handoff slower than the last (0.8 ms more per 50 waiting messages here), which SQS does not do.

Used by `faqbot bench` (the `webhook` section, `webhook_section`).
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
from typing import TYPE_CHECKING, Any

from faqbot.kb.models import KbEntry

if TYPE_CHECKING:
    from faqbot.bench import BenchContext, BenchReport
    from faqbot.local.dynamodb_local import DynamoDBLocal

BENCH_SECRET = "bench-secret"
BENCH_BOT = "bench"
_PRODUCTS = [
    "кавоварка", "блендер", "тостер", "мікрохвильовка", "пилосос", "праска", "фен", "чайник", "мультиварка",
    "холодильник", "пральна машина", "посудомийка", "телевізор", "навушники", "колонка", "ноутбук", "планшет",
    "смартфон", "годинник", "фотоапарат",
]  # fmt: skip
_SERIES = ["AX", "BX", "CX", "DX", "EX", "FX", "GX", "HX", "KX", "LX", "MX", "NX", "PX", "RX", "SX", "TX", "VX", "ZX"]


WARM_P99_TARGET_MS = 20.0
COLD_IMPORT_TARGET_MS = 400.0


@dataclass(frozen=True)
class WebhookBench:
    backend: str  # where DynamoDB ran: "moto" or "DynamoDB Local"
    entries: int
    requests: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    cold_import_ms: float
    cold_first_request_ms: float
    # CPU time, which a busy shared machine inflates far less than wall time (None: not measurable here).
    cold_import_cpu_ms: float | None = None
    handler_cpu_ms: float | None = None  # per warm request, in this process (all threads)
    emulator_cpu_ms: float | None = None  # per warm request, in the emulator's process
    calls: dict[str, float] = field(default_factory=dict)  # AWS calls per warm request, by operation
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        statuses = ", ".join(f"{name} {count}" for name, count in sorted(self.statuses.items()))
        return [
            f"webhook, {self.entries}-entry KB, DynamoDB on {self.backend}, {self.requests} warm requests ({statuses})",
            f"  warm latency   p50 {self.p50_ms:6.1f} ms   p99 {self.p99_ms:6.1f} ms   max {self.max_ms:6.1f} ms"
            f"   (target p99 < {WARM_P99_TARGET_MS:.0f} ms)",
            f"  cold start     import {self.cold_import_ms:6.1f} ms (target < {COLD_IMPORT_TARGET_MS:.0f} ms)"
            f"   first request {self.cold_first_request_ms:6.1f} ms",
            f"  CPU time       import {_ms(self.cold_import_cpu_ms)}   per warm request: handler"
            f" {_ms(self.handler_cpu_ms)}, emulators {_ms(self.emulator_cpu_ms)}",
            f"  AWS calls      {sum(self.calls.values()):.2f} per warm request ("
            + ", ".join(f"{operation} {count:.2f}" for operation, count in sorted(self.calls.items()))
            + ")",
            *(f"  {note}" for note in self.notes),
        ]

    def figures(self) -> dict[str, Any]:
        return {
            "dynamodb": self.backend,
            "kb_entries": self.entries,
            "warm_requests": self.requests,
            "warm_p50_ms": round(self.p50_ms, 2),
            "warm_p99_ms": round(self.p99_ms, 2),
            "warm_max_ms": round(self.max_ms, 2),
            "statuses": self.statuses,
            "cold_import_ms": round(self.cold_import_ms, 1),
            "cold_first_request_ms": round(self.cold_first_request_ms, 1),
            "cold_import_cpu_ms": _rounded(self.cold_import_cpu_ms),
            "warm_handler_cpu_ms": _rounded(self.handler_cpu_ms),
            "warm_emulator_cpu_ms": _rounded(self.emulator_cpu_ms),
            "warm_aws_calls": {operation: round(count, 2) for operation, count in sorted(self.calls.items())},
            "warm_p99_target_met": self.p99_ms < WARM_P99_TARGET_MS,
            "cold_import_target_met": self.cold_import_ms < COLD_IMPORT_TARGET_MS,
        }


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def webhook_section(context: BenchContext) -> BenchReport:
    """The `webhook` section of `faqbot bench`: warm p50/p99 and cold start, against the local emulator."""
    from faqbot.bench import BenchReport
    from faqbot.local.dynamodb_local import DynamoDBLocal, DynamoDBLocalUnavailable

    requests, cold_runs = (40, 1) if context.quick else (400, 3)
    result = run_webhook_bench(context.bench_dir, requests=requests, cold_runs=cold_runs)
    title = f"Webhook latency ({result.entries}-entry KB, in-process handler, local emulator)"
    report = BenchReport(title, lines=result.lines(), figures=result.figures())
    try:
        server = DynamoDBLocal().start()
    except DynamoDBLocalUnavailable as exc:
        report.lines.append(f"DynamoDB Local not measured: {exc}")
        return report
    try:
        local = run_webhook_bench(context.bench_dir, requests=requests, cold_runs=1, dynamodb_local=server)
    finally:
        server.stop()
    report.lines += local.lines()
    report.figures["dynamodb_local"] = local.figures()
    return report


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


def run_webhook_bench(
    bench_dir: Path,
    *,
    requests: int = 400,
    size: int = 1000,
    cold_runs: int = 3,
    warmup: int = 50,
    dynamodb_local: DynamoDBLocal | None = None,
) -> WebhookBench:
    """The figures with every service on a fresh moto server, or with DynamoDB on this running DynamoDB Local.

    `warmup` requests run untimed first, as a warm container has served some (and DynamoDB Local's JVM compiles).
    """
    from faqbot.local.emulator import Emulator, free_port

    with (
        Emulator(free_port(), in_process=False) as emulator,
        _environment(emulator.url, dynamodb_endpoint=dynamodb_local.url if dynamodb_local else None) as env,
    ):
        _prepare(emulator, large_kb(bench_dir, size))
        cold = _cold_start(env, runs=cold_runs)
        drain = _Drain(emulator.url)
        queries = bench_queries(bench_dir)
        servers = [emulator.pid, *([dynamodb_local.pid] if dynamodb_local else [])]
        warm = _warm(env, queries, requests, warmup=warmup, server_pids=servers, drain=drain)
        load = os.getloadavg()[0]
    timings = warm.timings
    emulator_cpu = None if warm.emulator_cpu_ms is None else warm.emulator_cpu_ms / len(timings)
    ordered = sorted(timings)
    return WebhookBench(
        backend="DynamoDB Local" if dynamodb_local else "moto",
        entries=size,
        requests=len(timings),
        p50_ms=statistics.median(ordered),
        p99_ms=ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        max_ms=ordered[-1],
        statuses=dict(warm.statuses),
        cold_import_ms=cold.import_ms,
        cold_first_request_ms=cold.first_ms,
        cold_import_cpu_ms=cold.import_cpu_ms,
        handler_cpu_ms=warm.cpu_ms / len(timings),
        emulator_cpu_ms=emulator_cpu,
        calls={operation: count / len(timings) for operation, count in warm.calls.items()},
        notes=[
            f"machine load average {load:.1f} on {os.cpu_count()} CPUs after the warm run (the emulator shares them)",
        ],
    )


# ---- internals ------------------------------------------------------------------------------------------


def _webhook_dir() -> Path:
    from faqbot.local.template import repo_root

    return repo_root() / "functions" / "webhook"


@contextmanager
def _environment(endpoint: str, *, dynamodb_endpoint: str | None = None) -> Iterator[dict[str, str]]:
    """The webhook's environment under the local stack, applied to this process for the bench."""
    from faqbot import aws, settings
    from faqbot.local.resources import create_resources, plan_resources
    from faqbot.local.stack import local_function_env
    from faqbot.local.template import default_template_path, load_template

    template_path = default_template_path()
    template = load_template(template_path)
    resources = plan_resources(template, template_dir=template_path.parent, endpoint_url=endpoint)
    env = local_function_env(resources.function("WebhookFunction"), endpoint)
    env["POWERTOOLS_METRICS_DISABLED"] = "false"  # the deployed function emits its metrics (EMF lines on stdout)
    if dynamodb_endpoint is not None:
        env["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint  # boto3's per-service endpoint: the tables go there too
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


@dataclass(frozen=True)
class _Warm:
    timings: list[float]  # ms per request
    statuses: Counter[str]
    cpu_ms: float  # this process's CPU time over all the requests
    calls: Counter[str]  # the handler's AWS calls over all the requests, by operation
    emulator_cpu_ms: float | None  # the emulators' CPU time over all the requests (not the draining)


@dataclass(frozen=True)
class _Cold:
    import_ms: float
    first_ms: float
    import_cpu_ms: float


def _servers_cpu_ms(pids: list[int | None]) -> float | None:
    """The emulators' CPU time so far (moto, and DynamoDB Local's JVM when it serves DynamoDB), or None."""
    times = [_process_cpu_ms(pid) for pid in pids]
    return None if None in times else sum(t for t in times if t is not None)


def _process_cpu_ms(pid: int | None) -> float | None:
    """User + system CPU time of another process so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class _Drain:
    """Empties the bench stack's queues, as the deployed consumers would (its own client: not counted)."""

    def __init__(self, endpoint: str) -> None:
        import boto3

        from faqbot import aws
        from faqbot.settings import webhook_settings

        self._sqs: Any = boto3.client("sqs", endpoint_url=endpoint, region_name=aws.region())
        settings = webhook_settings()
        self._urls = [url for url in (settings.escalations_queue_url, settings.crm_queue_url) if url]

    def __call__(self) -> None:
        for url in self._urls:
            while messages := self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
                self._sqs.delete_message_batch(QueueUrl=url, Entries=entries)


def _warm(
    env: dict[str, str], queries: list[str], requests: int, *, warmup: int, server_pids: list[int | None], drain: _Drain
) -> _Warm:
    from faqbot.local.handlers import FakeLambdaContext, load_handler

    timings: list[float] = []
    statuses: Counter[str] = Counter()
    emulator_cpu: float | None = 0.0
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's JSON log and metric lines
        handler = load_handler(_webhook_dir())  # its Logger writes to the stdout it finds
        for index in range(max(warmup, 1)):  # the first builds the matcher: the cold part
            handler(_event(queries[-1 - index % len(queries)], f"warmup-{index}"), FakeLambdaContext())
            drain()
        calls = _count_aws_calls()
        cpu_ms = 0.0
        for index in range(requests):
            event = _event(queries[index % len(queries)], f"bench-{index}")
            emulator_before = _servers_cpu_ms(server_pids)
            cpu_started = time.process_time()
            started = time.perf_counter()
            response = handler(event, FakeLambdaContext())
            timings.append((time.perf_counter() - started) * 1000)
            cpu_ms += (time.process_time() - cpu_started) * 1000
            emulator_after = _servers_cpu_ms(server_pids)
            if emulator_cpu is not None and emulator_before is not None and emulator_after is not None:
                emulator_cpu += emulator_after - emulator_before
            else:
                emulator_cpu = None
            statuses[_status(response)] += 1
            drain()
    return _Warm(timings=timings, statuses=statuses, cpu_ms=cpu_ms, calls=calls, emulator_cpu_ms=emulator_cpu)


def _count_aws_calls() -> Counter[str]:
    """Counts, by operation, the calls of the clients the handler built (`faqbot.aws` caches them)."""
    from faqbot import aws

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    clients = [aws.dynamodb().meta.client, *(aws.client(name) for name in ("dynamodb", "sqs", "ssm", "secretsmanager"))]
    for client in clients:
        client.meta.events.register("before-call", count, unique_id="faqbot-bench-count")
    return calls


def _status(response: dict[str, Any]) -> str:
    if response.get("statusCode") != 200:
        return f"http {response.get('statusCode')}"
    for action in json.loads(response["body"])["content"].get("actions", []):
        if action.get("field_name") == "faqbot_status":
            return str(action["value"])
    return "?"


# The Lambda runtime has boto3 but not the dev-only extras botocore picks up when installed (awscrt, pyOpenSSL
# via urllib3.contrib): hide them, so the import measured is the one Lambda does. `_lambda_env()` is what the
# runtime sets and the X-Ray SDK checks (in Lambda it builds no sampler clients of its own).
_COLD_SCRIPT = """
import json, sys, time
for name in ("awscrt", "OpenSSL"):
    sys.modules[name] = None
started, started_cpu = time.perf_counter(), time.process_time()
sys.path.insert(0, sys.argv[1])
import app
imported, imported_cpu = time.perf_counter(), time.process_time()
from faqbot.local.handlers import FakeLambdaContext
response = app.lambda_handler(json.loads(sys.argv[2]), FakeLambdaContext())
done = time.perf_counter()
assert response["statusCode"] == 200, response
print(json.dumps({"import_ms": (imported - started) * 1000, "first_ms": (done - imported) * 1000,
                  "import_cpu_ms": (imported_cpu - started_cpu) * 1000}))
"""


def _lambda_env() -> dict[str, str]:
    return {"LAMBDA_TASK_ROOT": str(_webhook_dir()), "AWS_LAMBDA_FUNCTION_NAME": "WebhookFunction"}


def _cold_start(env: dict[str, str], *, runs: int = 3) -> _Cold:
    """(import ms, first request ms) of the handler in a fresh interpreter: the median of `runs` runs."""
    results = []
    for attempt in range(runs):
        output = subprocess.run(
            [
                sys.executable,
                "-c",
                _COLD_SCRIPT,
                str(_webhook_dir()),
                json.dumps(_event("Скільки коштує доставка?", f"cold-{attempt}")),
            ],
            env={**os.environ, **env, **_lambda_env()},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    return _Cold(
        **{key: statistics.median(r[key] for r in results) for key in ("import_ms", "first_ms", "import_cpu_ms")}
    )
