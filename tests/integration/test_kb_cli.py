"""`faqbot ingest` and `faqbot kb status|rollback|upload`, against moto in-process."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import boto3
import faqbot.cli.kb  # noqa: F401 - registers the commands on `cli`
import pytest
from click.testing import CliRunner
from faqbot import aws, settings
from faqbot.cli import cli
from faqbot.cli._common import RESOURCE_ENV, configure_aws
from faqbot.kb.ingest import ingest_object
from faqbot.kb.store import KnowledgeBaseStore
from moto import mock_aws
from support.tables import create_pk_sk_table

pytestmark = pytest.mark.integration

BENCH = Path(__file__).parents[1] / "data" / "bench"
BUCKET, TABLE = "KbBucket", "KbTable"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "KB_TABLE_NAME": TABLE,
        "KB_BUCKET_NAME": BUCKET,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.reset()
    settings.reset()
    with mock_aws():
        table = create_pk_sk_table(boto3.resource("dynamodb", region_name="eu-central-1"), TABLE)
        s3 = boto3.client("s3", region_name="eu-central-1")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        yield SimpleNamespace(table=table, s3=s3, store=KnowledgeBaseStore(table))
    aws.reset()
    settings.reset()


def run(*args: str) -> SimpleNamespace:
    result = CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)
    return SimpleNamespace(code=result.exit_code, out=result.stdout, err=result.stderr)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_ingest_prints_the_report_and_exits_zero_for_a_clean_file() -> None:
    # when
    result = run("ingest", str(BENCH / "clothing_store_uk.csv"), "--json")

    # then
    report = json.loads(result.out)
    assert result.code == 0
    assert (report["ok"], report["entry_count"], report["source"]) == (True, 45, "clothing_store_uk.csv")


def test_ingest_exits_non_zero_and_names_the_row_on_errors(tmp_path: Path) -> None:
    # given
    path = write_csv(tmp_path / "faq.csv", [["Вопрос", "Ответ"], ["Где вы?", "Киев"], ["Цена?", ""]])

    # when
    result = run("ingest", str(path), "--language", "ru")

    # then
    assert result.code == 1
    assert "строка 3, колонка «Ответ»: пустой ответ на вопрос «Цена?»" in result.out


def test_kb_status_and_rollback(stack: SimpleNamespace) -> None:
    # given
    for tag in ("a", "b"):
        stack.store.publish("demo", [], source=f"{tag}.csv")

    # when
    before = run("kb", "status", "demo")
    rolled = run("kb", "rollback", "demo")
    refused = run("kb", "rollback", "demo", "--to", "9")

    # then
    assert before.code == 0 and "demo: version 2 live" in before.out and " * v2" in before.out
    assert rolled.code == 0 and "version 1 is live again (was 2)" in rolled.out
    assert refused.code == 1 and "version 9 is not kept (kept: 1, 2)" in refused.err
    assert stack.store.active("demo").version == 1


def test_kb_status_of_a_bot_without_kb(stack: SimpleNamespace) -> None:
    result = run("kb", "status", "nobody")
    assert (result.code, result.out.strip()) == (0, "nobody: no knowledge base is live yet")


def test_kb_upload_waits_for_its_own_report(stack: SimpleNamespace, tmp_path: Path) -> None:
    # given: a stale report of an earlier upload, and a stand-in for the S3 trigger running the real ingest
    stack.s3.put_object(Bucket=BUCKET, Key="reports/demo/faq.json", Body=json.dumps({"upload_id": "old"}).encode())
    path = write_csv(tmp_path / "faq.csv", [["Питання", "Відповідь"], ["Де ви?", "Львів"]])
    done = threading.Event()

    def trigger() -> None:
        while not done.is_set():
            listed = stack.s3.list_objects_v2(Bucket=BUCKET, Prefix="kb/demo/").get("Contents", [])
            if listed:
                ingest_object(stack.s3, BUCKET, listed[0]["Key"], store=stack.store)
                return
            done.wait(0.05)

    worker = threading.Thread(target=trigger)
    worker.start()

    # when
    try:
        result = run("kb", "upload", "demo", str(path), "--timeout", "20")
    finally:
        done.set()
        worker.join()

    # then
    assert result.code == 0, result.out + result.err
    assert "активна версія 1" in result.out
    assert stack.store.active("demo").entry_count == 1


def test_kb_upload_times_out_without_a_report(stack: SimpleNamespace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "faq.csv", [["Питання", "Відповідь"], ["Де ви?", "Львів"]])
    result = run("kb", "upload", "demo", str(path), "--timeout", "0")
    assert result.code == 2 and "no report" in result.err


def test_local_flag_points_boto3_and_names_at_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: every variable --local touches is restored after the test
    touched = ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"]
    for name in [*touched, "AWS_DEFAULT_REGION", *RESOURCE_ENV.values()]:
        monkeypatch.setenv(name, "before")
    monkeypatch.setenv("FAQBOT_EMULATOR_PORT", "4999")

    # when
    configure_aws(local=True)

    # then
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4999"
    assert os.environ["AWS_REGION"] == os.environ["AWS_DEFAULT_REGION"] == "eu-central-1"
    assert (os.environ["KB_TABLE_NAME"], os.environ["KB_BUCKET_NAME"]) == ("KbTable", "KbBucket")
    assert os.environ["ESCALATIONS_QUEUE_URL"] == "http://127.0.0.1:4999/123456789012/EscalationsQueue"
    assert settings.ingest_settings().kb_table_name == "KbTable"
    assert aws.client("s3").meta.endpoint_url == "http://127.0.0.1:4999"
    aws.reset()
    settings.reset()


def test_local_and_stack_together_are_refused() -> None:
    result = CliRunner(mix_stderr=False).invoke(cli, ["kb", "status", "demo", "--local", "--stack", "prod"])
    assert result.exit_code == 2 and "either --local or --stack" in result.stderr


def test_stack_flag_reads_resource_names_from_the_deployed_stack(stack: SimpleNamespace) -> None:
    # given: a deployed stack whose table and bucket got generated names
    template = {
        "Resources": {
            "KbTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                },
            },
            "KbBucket": {"Type": "AWS::S3::Bucket"},
        }
    }
    cloudformation = boto3.client("cloudformation", region_name="eu-central-1")
    cloudformation.create_stack(StackName="faqbot-prod", TemplateBody=json.dumps(template))
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.list_stack_resources(StackName="faqbot-prod")["StackResourceSummaries"]
    }

    # when
    configure_aws(stack="faqbot-prod")

    # then
    assert settings.ingest_settings().kb_table_name == physical["KbTable"] != "KbTable"
    assert settings.ingest_settings().kb_bucket_name == physical["KbBucket"]
    assert aws.dynamodb().Table(physical["KbTable"]).table_status == "ACTIVE"
