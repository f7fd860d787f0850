"""FAQ mining as deployed: S3 events under `transcripts/` and the weekly schedule reach the real kb_ingest handler.

The events come from the template (the bucket's notification to TranscriptQueue, delivered in batches by
the local stack's SQS poller, as `faqbot run` does; its schedule's `Input`), so a change to the template's
wiring that breaks mining fails here.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from faqbot.bots.registry import BotRegistry
from faqbot.config import BotConfig, Language
from faqbot.conversation.store import ConversationStore, EventKind, Role, StoredMessage
from faqbot.history.links import SigningKeys, TokenPurpose, verify_token
from faqbot.kb.models import KbEntry
from faqbot.kb.store import KnowledgeBaseStore
from faqbot.local.delivery import start_pollers, stop_pollers
from faqbot.secrets import SecretStore
from support.local_aws import LocalAws
from support.waiting import wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
CORPUS = ROOT / "tests" / "data" / "transcripts"
BOT = "salon"
KEYS = SigningKeys("mining-report-key-0123456789abcdef")


class MiningEvents:
    """What kb_ingest answered for each transcript key it was handed (the last time)."""

    def __init__(self, invoke: Any) -> None:
        self._invoke = invoke
        self.results: dict[str, dict[str, Any]] = {}
        self.batches: list[list[str]] = []  # the keys of each TranscriptQueue batch

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        response = self._invoke(function, event)
        if function == "KbIngestFunction" and isinstance(response, dict):
            results = response.get("results") or []
            if any(r.get("eventSource") == "aws:sqs" for r in event.get("Records", [])):
                self.batches.append([r["key"] for r in results])
            self.results.update({r["key"]: r for r in results})
        return response


@pytest.fixture
def mining_events(emulator: LocalAws, invoke: Any) -> Iterator[MiningEvents]:
    """The template's event sources (TranscriptQueue included), delivering to the real handlers as `faqbot run` does."""
    events = MiningEvents(lambda function, event: invoke(function, event))
    pollers = start_pollers(emulator.resources, emulator.client, events, echo=lambda _: None)
    yield events
    stop_pollers(pollers)


def _sheet(emulator: LocalAws, key: str) -> Any:
    body = emulator.client("s3").get_object(Bucket=emulator.name("KbBucket"), Key=key)["Body"].read()
    return openpyxl.load_workbook(io.BytesIO(body)).active


def test_transcripts_dropped_under_transcripts_bot_become_the_bots_draft_faq(
    emulator: LocalAws, mining_events: MiningEvents
) -> None:
    # given: a Ukrainian bot, and three calls (plain text, Transcribe JSON, subtitles)
    BotRegistry(emulator.table("KbTable")).put(BotConfig(bot_id=BOT, language=Language.UK))
    s3, bucket = emulator.client("s3"), emulator.name("KbBucket")
    keys = [f"transcripts/{BOT}/2026-03/{name}" for name in ("call01.txt", "call25.json", "call28.srt")]

    # when: they are uploaded, through S3 only
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=(CORPUS / Path(key).name).read_bytes())
    results = wait_until(
        lambda: [mining_events.results[k] for k in keys] if all(k in mining_events.results for k in keys) else None,
        timeout=90,
        what="the transcripts' events to be handled",
    )

    # then: kb_ingest took them from TranscriptQueue and mined them into today's draft, with the bot's
    # headers and every call's questions
    assert sorted(key for batch in mining_events.batches for key in batch) == sorted(keys)
    draft = f"drafts/{BOT}/faq-draft-{date.today().isoformat()}.xlsx"
    assert [r["status"] for r in results] == ["mined"] * 3
    assert {r["detail"] for r in results} == {draft}
    sheet = _sheet(emulator, draft)
    assert [c.value for c in sheet[1]] == ["№", "Питання", "Варіанти питання", "Скільки разів", "Відповідь", "Приклади"]
    examples = "\n".join(str(sheet.cell(row=r, column=6).value) for r in range(2, sheet.max_row + 1))
    assert {"call01", "call25", "call28"} <= {line.rsplit("— ", 1)[-1] for line in examples.splitlines()}


def test_a_batch_of_transcripts_is_mined_once_and_a_failure_comes_back_alone(emulator: LocalAws, invoke: Any) -> None:
    # given: TranscriptQueue's sample batch (two calls of the demo bot), their files in the bucket
    event = json.loads((ROOT / "events" / "sqs_transcripts.json").read_text(encoding="utf-8"))
    s3, bucket = emulator.client("s3"), emulator.name("KbBucket")
    for name, corpus_file in (("call01.txt", "call01.txt"), ("call 02.json", "call25.json")):
        s3.put_object(Bucket=bucket, Key=f"transcripts/demo/2026-11/{name}", Body=(CORPUS / corpus_file).read_bytes())
    # and: a third message, for a bucket that is not there (its mining fails)
    lost = json.loads(json.dumps(event["Records"][0]))
    body = json.loads(lost["body"])
    body["Records"][0]["s3"]["bucket"]["name"] = "no-such-bucket"
    lost.update(messageId="lost-message", body=json.dumps(body))
    # and: a fourth whose body is no S3 notification at all
    garbled = json.loads(json.dumps(event["Records"][0]))
    garbled.update(messageId="garbled-message", body='{"Records": [{"s3": "?"}]}')
    event["Records"] += [lost, garbled]

    # when
    response = invoke("kb_ingest", event)

    # then: the demo bot's draft was written once for both calls; only the lost and garbled messages come back
    draft = f"drafts/demo/faq-draft-{date.today().isoformat()}.xlsx"
    assert [(r["key"], r["status"]) for r in response["results"]] == [
        ("transcripts/demo/2026-11/call01.txt", "mined"),
        ("transcripts/demo/2026-11/call 02.json", "mined"),
        ("transcripts/demo/2026-11/call01.txt", "failed"),
    ]
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=draft)["Versions"]) == 1
    assert response["batchItemFailures"] == [{"itemIdentifier": "garbled-message"}, {"itemIdentifier": "lost-message"}]


def test_a_recording_starts_a_transcribe_job_whose_output_is_mined_in_turn(
    emulator: LocalAws, mining_events: MiningEvents
) -> None:
    # given
    s3, bucket = emulator.client("s3"), emulator.name("KbBucket")
    audio, output = f"transcripts/{BOT}/calls/call 42.mp3", f"transcripts/{BOT}/call 42.json"

    # when: a recording is uploaded
    s3.put_object(Bucket=bucket, Key=audio, Body=b"ID3 not really audio")
    started = wait_until(lambda: mining_events.results.get(audio), timeout=60, what="the recording's event")

    # then: a Transcribe job (languages identified, speakers labelled) that writes back under transcripts/
    assert started == {"key": audio, "status": "transcribing", "detail": "salon-calls-call-42.mp3"}
    job = emulator.client("transcribe").get_transcription_job(TranscriptionJobName="salon-calls-call-42.mp3")
    assert job["TranscriptionJob"]["Media"] == {"MediaFileUri": f"s3://{bucket}/{audio}"}
    assert job["TranscriptionJob"]["LanguageOptions"] == ["uk-UA", "ru-RU", "en-US"]

    # when: Transcribe's output lands (its documented JSON; moto does not run the job)
    s3.put_object(Bucket=bucket, Key=output, Body=(CORPUS / "call25.json").read_bytes())
    mined = wait_until(lambda: mining_events.results.get(output), timeout=60, what="the output's event")

    # then: mined into the draft; the bot has no config yet, so the headers are Russian
    assert mined["status"] == "mined"
    sheet = _sheet(emulator, mined["detail"])
    assert sheet["B1"].value == "Вопрос" and sheet.max_row >= 2
    assert "call 42" in str(sheet["F2"].value)


def test_the_weekly_schedule_writes_every_bots_unanswered_questions_report(
    emulator: LocalAws, invoke: Any, template: dict[str, Any]
) -> None:
    # given: two handoffs about certificates and one about the address, which the KB almost covers; the
    # transcript links' signing key, as the stack's operator creates it
    key_param = emulator.function_env("KbIngestFunction")["HISTORY_SIGNING_KEY_PARAM"]
    SecretStore(emulator.client("ssm"), emulator.client("secretsmanager")).put(key_param, KEYS.to_parameter_value())
    kb_table, conversations = emulator.table("KbTable"), emulator.table("ConversationsTable")
    BotRegistry(kb_table).put(BotConfig(bot_id=BOT, language=Language.RU))
    KnowledgeBaseStore(kb_table).publish(
        BOT, [KbEntry(id="1", question="Где вы находитесь?", answer="ул. Полевая 1", row=2)], source="faq.csv"
    )
    now = datetime.now(UTC)
    asked = {"c1": "Есть ли у вас подарочные сертификаты?", "c2": "Подарочный сертификат можно купить?"}
    asked["c3"] = "Где вы находитесь, возле какого метро?"
    store = ConversationStore(emulator.client("dynamodb"), conversations.name, clock=lambda: now)
    for contact, question in asked.items():
        at = now - timedelta(hours=1)
        store.append_messages(
            BOT,
            contact,
            [
                StoredMessage(at=at, role=Role.CUSTOMER, text=question),
                StoredMessage(at=at, role=Role.SYSTEM, kind=EventKind.HANDOFF, detail="no_answer"),
            ],
        )
        conversations.put_item(Item={"pk": f"contact#{BOT}#{contact}", "sk": "profile", "last_seen_at": at.isoformat()})
    event = json.loads(
        template["Resources"]["KbIngestFunction"]["Properties"]["Events"]["UnansweredReport"]["Properties"]["Input"]
    )

    # when: the schedule fires
    response = invoke("KbIngestFunction", event)

    # then
    key = f"reports/{BOT}/unanswered-{now.date().isoformat()}.xlsx"
    assert response == {"reports": [key]}
    sheet = _sheet(emulator, key)
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [(row[3], row[4]) for row in rows] == [
        (2, "новая запись"),
        (1, "добавить как вариант вопроса записи 1 («Где вы находитесь?»)"),
    ]
    # and each group links to one of its conversations, signed for this bot and valid until the next report
    base_url = emulator.function_env("KbIngestFunction")["PUBLIC_BASE_URL"]
    for row, contacts in zip(rows, (("c1", "c2"), ("c3",)), strict=True):
        assert str(row[6]).startswith(f"{base_url}/history/"), row
        claims = verify_token(KEYS, str(row[6]).rsplit("/", 1)[1], TokenPurpose.HISTORY, now + timedelta(days=6))
        assert claims.bot_id == BOT and claims.contact_id in contacts


def test_the_weekly_report_names_the_link_command_when_links_cannot_be_signed(
    emulator: LocalAws, invoke: Any, template: dict[str, Any]
) -> None:
    # given: one handoff, and no signing key in the stack
    BotRegistry(emulator.table("KbTable")).put(BotConfig(bot_id=BOT, language=Language.RU))
    now = datetime.now(UTC)
    store = ConversationStore(emulator.client("dynamodb"), "ConversationsTable", clock=lambda: now)
    store.update_contact(BOT, "c9", name="Ира")
    store.append_messages(
        BOT,
        "c9",
        [
            StoredMessage(at=now, role=Role.CUSTOMER, text="Есть ли парковка?"),
            StoredMessage(at=now, role=Role.SYSTEM, kind=EventKind.HANDOFF, detail="no_answer"),
        ],
    )
    event = json.loads(
        template["Resources"]["KbIngestFunction"]["Properties"]["Events"]["UnansweredReport"]["Properties"]["Input"]
    )

    # when
    response = invoke("KbIngestFunction", event)

    # then: the report is written all the same, pointing at the command that makes the link
    sheet = _sheet(emulator, response["reports"][0])
    assert [[c.value for c in row][6] for row in sheet.iter_rows(min_row=2)] == ["faqbot history link salon c9"]
