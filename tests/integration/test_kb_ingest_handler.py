"""The real kb_ingest handler on S3 put events (as `sam local generate-event s3 put` shapes them), against moto."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote_plus

import boto3
import openpyxl
import pytest
from faqbot import aws, settings
from faqbot.bots.registry import BotRegistry
from faqbot.config import BotConfig, Language
from faqbot.kb.ingest import ingest_object
from faqbot.kb.spreadsheet import load_kb_file
from faqbot.kb.store import KnowledgeBaseStore
from faqbot.local.handlers import load_handler
from moto import mock_aws
from support.tables import create_pk_sk_table

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
BENCH = REPO / "tests" / "data" / "bench"
BENCH_KBS = ["dental_clinic_ru.csv", "clothing_store_uk.csv", "english_school_mixed.csv"]
BUCKET, TABLE, BOT = "KbBucket", "KbTable", "demo"


@dataclass
class FakeContext:
    function_name: str = "KbIngestFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:KbIngestFunction"
    aws_request_id: str = "test-request"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
        "KB_TABLE_NAME": TABLE,
        "KB_BUCKET_NAME": BUCKET,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_SERVICE_NAME": "kb_ingest",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.reset()
    settings.reset()
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="eu-central-1")
        table = create_pk_sk_table(dynamodb, TABLE)
        s3 = boto3.client("s3", region_name="eu-central-1")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        yield SimpleNamespace(
            table=table, s3=s3, store=KnowledgeBaseStore(table), handler=load_handler(REPO / "functions" / "kb_ingest")
        )
    aws.reset()
    settings.reset()


def put_event(key: str, bucket: str = BUCKET) -> dict[str, Any]:
    event = json.loads((REPO / "events" / "s3_kb_put.json").read_text())
    record = event["Records"][0]["s3"]
    record["bucket"]["name"], record["bucket"]["arn"] = bucket, f"arn:aws:s3:::{bucket}"
    record["object"]["key"] = quote_plus(key, safe="/")  # S3 URL-encodes keys in events
    return event


def upload(stack: SimpleNamespace, key: str, body: bytes, **put: Any) -> dict[str, Any]:
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body, **put)
    return stack.handler(put_event(key), FakeContext())


def report(stack: SimpleNamespace, key: str) -> dict[str, Any]:
    return json.loads(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def as_xlsx(csv_path: Path) -> bytes:
    """The bench CSV as a client's Excel file would hold it (ids as numbers, a cover sheet first)."""
    book = openpyxl.Workbook()
    book.active.title = "Інструкція"
    book.active.append(["Заповніть аркуш «База знань»"])
    sheet = book.create_sheet("База знань")
    with csv_path.open(encoding="utf-8") as handle:
        for row in csv.reader(handle):
            sheet.append([int(cell) if cell.isdigit() else cell for cell in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("name", BENCH_KBS)
def test_each_bench_kb_upload_activates_a_new_version(stack: SimpleNamespace, name: str, fmt: str) -> None:
    # given: an older KB is live
    upload(stack, "kb/demo/old.csv", csv_bytes([["Питання", "Відповідь"], ["Старе?", "Старе"]]))
    source = BENCH / name
    body = source.read_bytes() if fmt == "csv" else as_xlsx(source)

    # when
    result = upload(stack, f"kb/demo/faq.{fmt}", body)

    # then
    active = stack.store.active(BOT)
    assert result == {
        "results": [{"key": f"kb/demo/faq.{fmt}", "status": "activated", "report_key": "reports/demo/faq.json"}]
    }
    assert (active.version, active.source, active.report_key) == (2, f"faq.{fmt}", "reports/demo/faq.json")
    assert stack.store.load_entries(BOT, 2) == load_kb_file(source)
    written = report(stack, "reports/demo/faq.json")
    assert (written["ok"], written["entry_count"], written["activation"]["status"]) == (
        True,
        active.entry_count,
        "activated",
    )
    summary = stack.s3.get_object(Bucket=BUCKET, Key="reports/demo/faq.txt")["Body"].read().decode()
    assert "активна версія 2" in summary


@pytest.mark.parametrize(
    ("rows", "code", "row"),
    [
        ([["id", "Питання", "Коментар"], ["1", "Де ви?", "Київ"]], "missing_answer_column", 1),
        ([["id", "Питання", "Відповідь"], ["1", "Де ви?", "Київ"], ["1", "Ціна?", "100 грн"]], "duplicate_id", 3),
    ],
)
def test_a_broken_file_is_reported_and_the_old_version_stays_live(
    stack: SimpleNamespace, rows: list[list[str]], code: str, row: int
) -> None:
    # given
    upload(stack, "kb/demo/faq.csv", (BENCH / "clothing_store_uk.csv").read_bytes())

    # when
    result = upload(stack, "kb/demo/faq.csv", csv_bytes(rows))

    # then
    assert result["results"][0]["status"] == "rejected"
    assert stack.store.active(BOT).version == 1
    assert len(stack.store.load_entries(BOT, 1)) == 45
    written = report(stack, "reports/demo/faq.json")
    assert written["ok"] is False
    assert [(i["code"], i["row"]) for i in written["issues"] if i["severity"] == "error"] == [(code, row)]
    assert written["activation"] == {"status": "rejected", "version": None, "live_version": 1}
    summary = stack.s3.get_object(Bucket=BUCKET, Key="reports/demo/faq.txt")["Body"].read().decode()
    assert f"рядок {row}" in summary and "працює попередня версія бази (1)" in summary


def test_keys_are_url_decoded(stack: SimpleNamespace) -> None:
    # when
    result = upload(stack, "kb/demo/База знань (нова).csv", (BENCH / "dental_clinic_ru.csv").read_bytes())

    # then
    assert result["results"][0]["report_key"] == "reports/demo/База знань (нова).json"
    assert report(stack, "reports/demo/База знань (нова).json")["activation"]["status"] == "activated"
    assert stack.store.active(BOT).source == "База знань (нова).csv"


def test_objects_outside_kb_prefix_are_skipped(stack: SimpleNamespace) -> None:
    result = upload(stack, "reports/demo/faq.json", b"{}")
    assert result == {"results": []}
    assert stack.store.active(BOT) is None


def test_bot_config_sets_report_language_and_versions_kept(stack: SimpleNamespace) -> None:
    # given
    BotRegistry(stack.table).put(BotConfig(bot_id=BOT, language=Language.RU, kb_versions_kept=1))
    body = (BENCH / "dental_clinic_ru.csv").read_bytes()

    # when
    for _ in range(3):
        upload(stack, "kb/demo/faq.csv", body, Metadata={"upload-id": "abc123"})

    # then
    assert [v.version for v in stack.store.versions(BOT)] == [3, 2]
    written = report(stack, "reports/demo/faq.json")
    assert (written["language"], written["upload_id"]) == ("ru", "abc123")
    summary = stack.s3.get_object(Bucket=BUCKET, Key="reports/demo/faq.txt")["Body"].read().decode()
    assert "активная версия 3" in summary


def test_a_file_over_the_size_limit_is_refused_without_reading_it(
    stack: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    monkeypatch.setenv("MAX_FILE_BYTES", "1000")
    settings.reset()

    # when
    result = upload(stack, "kb/demo/faq.csv", (BENCH / "dental_clinic_ru.csv").read_bytes())

    # then
    assert result["results"][0]["status"] == "rejected"
    assert [i["code"] for i in report(stack, "reports/demo/faq.json")["issues"]] == ["file_too_large"]


class SwitchHook:
    """The real table, with `before_switch` run just before the first pointer switch."""

    def __init__(self, table: Any, before_switch: Callable[[], None]) -> None:
        self._table, self.name, self._hook = table, table.name, before_switch
        self.meta = SimpleNamespace(client=SimpleNamespace(transact_write_items=self._transact))

    def _transact(self, **kwargs: Any) -> Any:
        hook, self._hook = self._hook, None
        if hook:
            hook()
        return self._table.meta.client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def test_a_second_upload_racing_the_first_cannot_interleave(stack: SimpleNamespace) -> None:
    # given: upload A is being processed; upload B arrives and the real handler finishes it before A switches
    stack.s3.put_object(Bucket=BUCKET, Key="kb/demo/a.csv", Body=(BENCH / "dental_clinic_ru.csv").read_bytes())
    second = (BENCH / "english_school_mixed.csv").read_bytes()
    slow_store = KnowledgeBaseStore(SwitchHook(stack.table, lambda: upload(stack, "kb/demo/b.csv", second)))

    # when
    first = ingest_object(stack.s3, BUCKET, "kb/demo/a.csv", store=slow_store)

    # then: B, the newer upload, is live and whole; A says it was superseded and left nothing behind
    active = stack.store.active(BOT)
    assert first.report.activation.status == "superseded"
    assert (first.report.activation.version, first.report.activation.live_version) == (1, 2)
    assert (active.version, active.source) == (2, "b.csv")
    assert stack.store.load_entries(BOT, 2) == load_kb_file(BENCH / "english_school_mixed.csv")
    assert [v.version for v in stack.store.versions(BOT)] == [2]
    assert (
        "завантажили новіший (версія 2)"
        in stack.s3.get_object(Bucket=BUCKET, Key="reports/demo/a.txt")["Body"].read().decode()
    )


def test_rollback_after_uploads(stack: SimpleNamespace) -> None:
    # given
    upload(stack, "kb/demo/faq.csv", (BENCH / "dental_clinic_ru.csv").read_bytes())
    upload(stack, "kb/demo/faq.xlsx", as_xlsx(BENCH / "clothing_store_uk.csv"))

    # when
    back = stack.store.rollback(BOT)

    # then
    assert back.version == 1
    assert stack.store.load_entries(BOT, stack.store.active(BOT).version) == load_kb_file(
        BENCH / "dental_clinic_ru.csv"
    )
