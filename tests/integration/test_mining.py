"""FAQ mining end to end against moto in-process: transcripts in S3 → draft → filled in → live KB;
audio → a Transcribe job; stored handoffs → `faqbot report unanswered` and the weekly report."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import faqbot.cli.mining  # noqa: F401 - registers the commands on `cli`
import openpyxl
import pytest
from click.testing import CliRunner
from faqbot import aws, settings
from faqbot.bots.registry import BotRegistry
from faqbot.cli import cli
from faqbot.config import BotConfig, Language
from faqbot.conversation.store import ConversationStore, EventKind, Role, StoredMessage
from faqbot.kb.ingest import ingest_object
from faqbot.kb.models import KbEntry
from faqbot.kb.store import KnowledgeBaseStore
from faqbot.mining.jobs import on_transcript_objects, weekly_reports
from moto import mock_aws
from support.tables import create_pk_sk_table, plain_client

pytestmark = pytest.mark.integration

DATA = Path(__file__).parents[1] / "data" / "transcripts"
BUCKET, KB_TABLE, CONVERSATIONS = "KbBucket", "KbTable", "ConversationsTable"
REGION = "eu-central-1"


class FakeTranscribe:
    """Records the jobs started (the real service is not reachable offline)."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []

    def start_transcription_job(self, **request: Any) -> dict[str, Any]:
        self.jobs.append(request)
        return {"TranscriptionJob": {"TranscriptionJobName": request["TranscriptionJobName"], "Status": "QUEUED"}}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "KB_TABLE_NAME": KB_TABLE,
        "KB_BUCKET_NAME": BUCKET,
        "CONVERSATIONS_TABLE_NAME": CONVERSATIONS,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    aws.reset()
    settings.reset()
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        kb_table, conversations = create_pk_sk_table(dynamodb, KB_TABLE), create_pk_sk_table(dynamodb, CONVERSATIONS)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        registry = BotRegistry(kb_table, cache_seconds=0)
        registry.put(BotConfig(bot_id="salon", language=Language.RU))
        yield SimpleNamespace(
            kb_table=kb_table, conversations=conversations, s3=s3, registry=registry, kb=KnowledgeBaseStore(kb_table)
        )
    aws.reset()
    settings.reset()


def test_transcripts_dropped_in_s3_become_a_draft_that_activates_as_a_kb_once_filled_in(
    stack: SimpleNamespace,
) -> None:
    # given: the corpus (txt, Transcribe JSON, SRT, VTT) dropped under transcripts/salon/
    keys = []
    for path in sorted(DATA.iterdir()):
        if path.suffix in (".txt", ".json", ".srt", ".vtt") and path.name != "ground_truth.json":
            key = f"transcripts/salon/2026-03/{path.name}"
            stack.s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
            keys.append(key)

    # when: the bucket's events arrive
    outcomes = on_transcript_objects(
        keys, s3=stack.s3, transcribe=FakeTranscribe(), bucket=BUCKET, registry=stack.registry
    )

    # then: one draft, with the bot's (Russian) headers and the most asked question first
    draft_key = f"drafts/salon/faq-draft-{date.today().isoformat()}.xlsx"
    assert {o.action for o in outcomes} == {"mined"} and {o.detail for o in outcomes} == {draft_key}
    body = stack.s3.get_object(Bucket=BUCKET, Key=draft_key)["Body"].read()
    book = openpyxl.load_workbook(io.BytesIO(body))
    sheet = book.active
    assert [c.value for c in sheet[1]] == ["№", "Вопрос", "Варианты вопроса", "Сколько раз", "Ответ", "Примеры"]
    counts = [sheet.cell(row=r, column=4).value for r in range(2, sheet.max_row + 1)]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 8
    assert "call" in sheet["F2"].value  # examples name their call

    # when: the client fills in every answer and uploads the file under kb/salon/
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row=row, column=5, value=f"Ответ {row - 1}")
    filled = io.BytesIO()
    book.save(filled)
    stack.s3.put_object(Bucket=BUCKET, Key="kb/salon/faq.xlsx", Body=filled.getvalue())
    result = ingest_object(stack.s3, BUCKET, "kb/salon/faq.xlsx", store=stack.kb, registry=stack.registry)

    # then: it is the live KB, one entry per draft row
    assert result.activated_version == 1, result.report.summary()
    active = stack.kb.active("salon")
    assert active is not None and active.entry_count == sheet.max_row - 1


def test_audio_starts_a_transcribe_job_whose_output_lands_back_under_transcripts(stack: SimpleNamespace) -> None:
    # given
    transcribe = FakeTranscribe()

    # when
    outcomes = on_transcript_objects(
        ["transcripts/salon/calls/call 42.mp3", "transcripts/salon/notes.pdf", "kb/salon/faq.xlsx"],
        s3=stack.s3,
        transcribe=transcribe,
        bucket=BUCKET,
    )

    # then
    assert [o.action for o in outcomes] == ["transcribing", "ignored", "ignored"]
    assert transcribe.jobs == [
        {
            "TranscriptionJobName": "salon-calls-call-42.mp3",
            "Media": {"MediaFileUri": f"s3://{BUCKET}/transcripts/salon/calls/call 42.mp3"},
            "IdentifyLanguage": True,
            "LanguageOptions": ["uk-UA", "ru-RU", "en-US"],
            "Settings": {"ShowSpeakerLabels": True, "MaxSpeakerLabels": 2},
            "OutputBucketName": BUCKET,
            "OutputKey": "transcripts/salon/call 42.json",
        }
    ]


class RefusingTranscribe:
    """Transcribe refusing the job (a quota, a permission): the error reaches the caller as boto3 raises it."""

    def start_transcription_job(self, **request: Any) -> dict[str, Any]:
        raise RuntimeError("LimitExceededException: too many jobs")


def test_what_fails_is_reported_per_key_and_the_other_bots_are_mined_all_the_same(stack: SimpleNamespace) -> None:
    # given: a call of the salon, a recording Transcribe refuses, and a call in a bucket that is gone
    key = "transcripts/salon/call01.txt"
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=(DATA / "call01.txt").read_bytes())

    # when
    outcomes = on_transcript_objects(
        [key, "transcripts/salon/call 42.mp3"], s3=stack.s3, transcribe=RefusingTranscribe(), bucket=BUCKET
    )
    gone = on_transcript_objects([key], s3=stack.s3, transcribe=FakeTranscribe(), bucket="gone-bucket")

    # then
    assert [(o.action, o.failed) for o in outcomes] == [("mined", False), ("failed", True)]
    assert "LimitExceededException" in outcomes[1].detail
    assert [(o.key, o.action) for o in gone] == [(key, "failed")] and "transcripts/salon/" in gone[0].detail


def _store_conversations(stack: SimpleNamespace, now: datetime) -> None:
    store = ConversationStore(plain_client(stack.conversations), stack.conversations.name, clock=lambda: now)
    asked = {
        "c1": "Есть ли у вас подарочные сертификаты?",
        "c2": "Подарочный сертификат можно купить?",
        "c3": "Где вы находитесь, возле какого метро?",
    }
    for minutes, (contact, question) in enumerate(asked.items()):
        at = now - timedelta(hours=1, minutes=minutes)
        store.append_messages(
            "salon",
            contact,
            [
                StoredMessage(at=at, role=Role.CUSTOMER, text=question),
                StoredMessage(at=at, role=Role.BOT, text="Передаю менеджеру", decision="escalate"),
                StoredMessage(at=at, role=Role.SYSTEM, kind=EventKind.HANDOFF, detail="no_answer"),
            ],
        )
        stack.conversations.put_item(
            Item={"pk": f"contact#salon#{contact}", "sk": "profile", "last_seen_at": at.isoformat()}
        )
    stack.kb.publish(
        "salon",
        [KbEntry(id="1", question="Где вы находитесь?", answer="Днепр, ул. Полевая 1", row=2)],
        source="faq.csv",
    )


def test_report_unanswered_groups_the_handoffs_and_points_to_the_entry_to_extend(
    stack: SimpleNamespace, tmp_path: Path
) -> None:
    # given
    now = datetime.now(UTC)
    _store_conversations(stack, now)

    # when
    printed = CliRunner(mix_stderr=False).invoke(cli, ["report", "unanswered", "salon", "--since", "7d"])
    written = CliRunner(mix_stderr=False).invoke(
        cli, ["report", "unanswered", "salon", "--out", str(tmp_path / "r.xlsx")]
    )
    keys = weekly_reports(
        registry=stack.registry,
        kb_table=stack.kb_table,
        conversations=ConversationStore(plain_client(stack.conversations), stack.conversations.name),
        s3=stack.s3,
        bucket=BUCKET,
        now=now,
    )

    # then
    assert printed.exit_code == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert lines[0].startswith("3 unanswered messages since") and lines[0].endswith("2 groups")
    assert "2 × " in lines[1] and "[новая запись]" in lines[1]
    assert "добавить как вариант вопроса записи 1 («Где вы находитесь?»)" in lines[3]
    assert "faqbot history link salon c" in lines[2]
    assert written.exit_code == 0 and (tmp_path / "r.xlsx").stat().st_size > 0
    assert keys == [f"reports/salon/unanswered-{now.date().isoformat()}.xlsx"]
    sheet = openpyxl.load_workbook(io.BytesIO(stack.s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())).active
    assert [sheet.cell(row=r, column=4).value for r in (2, 3)] == [2, 1]


def test_mine_command_writes_the_draft_and_every_group(tmp_path: Path) -> None:
    # when
    result = CliRunner(mix_stderr=False).invoke(
        cli,
        ["mine", str(DATA), "--out", str(tmp_path / "draft.csv"), "--lang", "uk", "--groups", str(tmp_path / "g.json")],
    )

    # then
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("33 calls, ")
    groups = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))["groups"]
    calls = [g["calls"] for g in groups]
    assert calls == sorted(calls, reverse=True)
    assert all(g["calls"] == len({m["call"] for m in g["members"]}) for g in groups)
    assert sum(len(g["members"]) for g in groups) == int(result.stdout.split(", ")[1].split()[0])
    header = (tmp_path / "draft.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == "№,Питання,Варіанти питання,Скільки разів,Відповідь,Приклади"


def test_report_unanswered_signs_links_with_the_history_key_or_says_why_not(stack: SimpleNamespace) -> None:
    # given
    _store_conversations(stack, datetime.now(UTC))
    report = ["report", "unanswered", "salon", "--base-url", "https://api.example.com"]

    # when: no signing key yet, then once `faqbot history rotate-key` made one
    unsigned = CliRunner(mix_stderr=False).invoke(cli, report)
    created = CliRunner(mix_stderr=False).invoke(cli, ["history", "rotate-key"])
    signed = CliRunner(mix_stderr=False).invoke(cli, report)

    # then: the report still comes, with the command that makes a link, and a warning naming the cause
    assert unsigned.exit_code == 0, unsigned.stderr
    assert "warning: no signed links" in unsigned.stderr and "rotate-key" in unsigned.stderr
    assert "faqbot history link salon c" in unsigned.stdout
    assert created.exit_code == 0, created.stderr
    assert signed.exit_code == 0 and not signed.stderr, signed.stderr
    links = [line.strip() for line in signed.stdout.splitlines() if "/history/" in line]
    assert len(links) == 2 and all(link.startswith("https://api.example.com/history/") for link in links)
