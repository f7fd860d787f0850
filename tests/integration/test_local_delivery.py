"""Event delivery of the local stack, against the emulator with the template's queues and bucket.

SQS: Lambda's batch semantics (partial failures come back, then the dead-letter queue).
S3: object-created events under the template's prefix, shaped like `sam local generate-event s3 put`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faqbot.local.delivery import S3EventPoller, SqsPoller, failed_message_ids, sqs_record
from faqbot.local.handlers import FunctionInvoker
from support.local_aws import LocalAws
from support.waiting import wait_until

FLAKY_CONSUMER = Path(__file__).resolve().parents[1] / "support" / "functions" / "flaky_consumer"


class Recorder:
    """Invokes a handler the way the stack does and remembers each event it delivered."""

    def __init__(self, handler: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self._handler = handler

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        self.events.append(event)
        return self._handler.invoke(event) if self._handler else None

    def bodies(self) -> list[tuple[str, str]]:
        """(body, ApproximateReceiveCount) of every record delivered, in order."""
        return [(r["body"], r["attributes"]["ApproximateReceiveCount"]) for e in self.events for r in e["Records"]]


def flaky_consumer() -> Recorder:
    return Recorder(FunctionInvoker("FlakyConsumer", FLAKY_CONSUMER, {}))


def visible_bodies(local: LocalAws, queue: str) -> list[str]:
    sqs = local.client("sqs")
    messages = sqs.receive_message(QueueUrl=local.queue_url(queue), MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return sorted(m["Body"] for m in messages.get("Messages", []))


def queue_depth(local: LocalAws, queue: str) -> int:
    attributes = local.client("sqs").get_queue_attributes(
        QueueUrl=local.queue_url(queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


@pytest.fixture
def crm_poller(emulator: LocalAws) -> Iterator[tuple[SqsPoller, Recorder]]:
    """The CRM queue's event source from the template, delivering to the test-only flaky consumer."""
    (source,) = emulator.resources.function("CrmSyncFunction").sqs_sources
    recorder = flaky_consumer()
    poller = SqsPoller(source, emulator.resources["CrmQueue"], emulator.client("sqs"), recorder, echo=lambda _: None)
    poller.start()
    yield poller, recorder
    poller.stop()
    poller.join(5)


@pytest.mark.template_parameters(MaxReceiveCount=2)
def test_a_failed_record_comes_back_then_moves_to_the_dead_letter_queue(
    emulator: LocalAws, crm_poller: tuple[SqsPoller, Recorder]
) -> None:
    # given
    sqs = emulator.client("sqs")
    for body in ('{"n": 1}', '{"n": 2, "fail": true}', '{"n": 3}'):
        sqs.send_message(QueueUrl=emulator.queue_url("CrmQueue"), MessageBody=body)
    _, recorder = crm_poller

    # when: the consumer reports record 2 as failed every time
    wait_until(lambda: queue_depth(emulator, "CrmDlq") == 1, timeout=30, what="the DLQ to receive the message")

    # then: the good records were delivered once and deleted; the bad one twice (maxReceiveCount), then the DLQ
    delivered = recorder.bodies()
    assert sorted(b for b, _ in delivered if "fail" not in b) == ['{"n": 1}', '{"n": 3}']
    assert [count for body, count in delivered if "fail" in body] == ["1", "2"]
    assert visible_bodies(emulator, "CrmDlq") == ['{"n": 2, "fail": true}']
    assert queue_depth(emulator, "CrmQueue") == 0


@pytest.mark.template_parameters(MaxReceiveCount=2)
def test_when_the_handler_raises_every_record_of_the_batch_comes_back(
    emulator: LocalAws, crm_poller: tuple[SqsPoller, Recorder]
) -> None:
    # given: the same batch holds a record that makes the consumer crash
    sqs = emulator.client("sqs")
    sqs.send_message_batch(
        QueueUrl=emulator.queue_url("CrmQueue"),
        Entries=[{"Id": "a", "MessageBody": '{"n": 1}'}, {"Id": "b", "MessageBody": '{"n": 2, "crash": true}'}],
    )

    # when
    wait_until(lambda: queue_depth(emulator, "CrmDlq") == 2, timeout=30, what="both messages in the DLQ")

    # then: the innocent record was retried with the batch instead of being deleted
    _, recorder = crm_poller
    assert ('{"n": 1}', "2") in recorder.bodies()
    assert visible_bodies(emulator, "CrmDlq") == ['{"n": 1}', '{"n": 2, "crash": true}']


def test_records_are_shaped_like_lambdas_sqs_records(emulator: LocalAws) -> None:
    # given
    sqs = emulator.client("sqs")
    url = emulator.queue_url("EscalationsQueue")
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"type": "escalation"}',
        MessageAttributes={"bot_id": {"DataType": "String", "StringValue": "demo"}},
    )
    (message,) = sqs.receive_message(
        QueueUrl=url, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]

    # when
    record = sqs_record(message, emulator.resources["EscalationsQueue"].arn)

    # then
    assert record["messageId"] == message["MessageId"] and record["receiptHandle"] == message["ReceiptHandle"]
    assert record["body"] == '{"type": "escalation"}' and record["md5OfBody"] == message["MD5OfBody"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"] == {
        "bot_id": {"stringValue": "demo", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    assert record["eventSource"] == "aws:sqs" and record["awsRegion"] == "eu-central-1"
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-central-1:123456789012:EscalationsQueue"


@pytest.mark.parametrize(
    ("response", "report", "failed"),
    [
        ({"batchItemFailures": []}, True, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, True, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, True, {"a", "b"}),  # unknown id: whole batch
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, True, {"a", "b"}),
        (None, True, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, False, set()),  # not reported without the setting
    ],
)
def test_batch_item_failures_are_read_as_lambda_reads_them(response: Any, report: bool, failed: set[str]) -> None:
    records = [{"messageId": "a"}, {"messageId": "b"}]

    assert failed_message_ids(records, response, report_batch_item_failures=report) == failed


@pytest.fixture
def s3_events(emulator: LocalAws) -> Iterator[tuple[S3EventPoller, Recorder]]:
    """The template's S3 event sources, delivering to a recorder (a handler that succeeds)."""
    sources = [s for fn in emulator.resources.functions.values() for s in fn.s3_sources]
    recorder = Recorder()
    poller = S3EventPoller(
        sources,
        emulator.resources,
        emulator.client("s3"),
        emulator.client("sqs"),
        recorder,
        echo=lambda _: None,
        retry_delay_seconds=0.05,
    )
    poller.start()
    yield poller, recorder
    poller.stop()
    poller.join(5)


def test_an_upload_under_kb_invokes_kb_ingest_with_an_s3_put_event(
    emulator: LocalAws, s3_events: tuple[S3EventPoller, Recorder], load_event: Any
) -> None:
    # given
    s3 = emulator.client("s3")
    bucket = emulator.name("KbBucket")
    poller, recorder = s3_events

    # when
    s3.put_object(Bucket=bucket, Key="reports/demo/ignored.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="kb/demo/прайс 1.csv", Body=b"id,question\n")
    wait_until(lambda: "kb/demo/прайс 1.csv" in poller.outcomes, what="the kb/ upload to be delivered")

    # then: one event, for the kb/ key only, shaped like SAM's sample (events/s3_kb_put.json)
    (event,) = recorder.events
    (record,) = event["Records"]
    (sample,) = load_event("s3_kb_put")["Records"]
    assert _shape(record) == _shape(sample)
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["configurationId"] == sample["s3"]["configurationId"] == "KbIngestFunctionKbUpload"
    assert record["s3"]["bucket"]["name"] == bucket and record["s3"]["object"]["size"] == len(b"id,question\n")
    assert record["s3"]["object"]["key"] == "kb/demo/%D0%BF%D1%80%D0%B0%D0%B9%D1%81+1.csv"  # S3 URL-encodes keys
    assert poller.outcomes["kb/demo/прайс 1.csv"].function == "KbIngestFunction"


def _shape(value: Any) -> Any:
    """The keys of a nested event, without the values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return type(value).__name__


def test_a_failing_s3_event_is_retried_then_dropped(emulator: LocalAws) -> None:
    # given: kb_ingest's template allows Lambda's default two retries of an asynchronous invocation
    attempts: list[str] = []

    def crash(function: str, event: dict[str, Any]) -> Any:
        attempts.append(event["Records"][0]["s3"]["object"]["key"])
        raise RuntimeError("handler bug")

    sources = list(emulator.resources.function("KbIngestFunction").s3_sources)
    poller = S3EventPoller(
        sources,
        emulator.resources,
        emulator.client("s3"),
        emulator.client("sqs"),
        crash,
        echo=lambda _: None,
        retry_delay_seconds=0.05,
    )
    poller.start()
    try:
        # when
        emulator.client("s3").put_object(Bucket=emulator.name("KbBucket"), Key="kb/demo/a.csv", Body=b"x")
        outcome = wait_until(lambda: poller.outcomes.get("kb/demo/a.csv"), what="the event to be given up")
    finally:
        poller.stop()
        poller.join(5)

    # then
    assert attempts == ["kb/demo/a.csv"] * 3
    assert outcome.ok is False


def test_s3_notifications_go_to_a_local_queue_that_is_not_part_of_the_template(emulator: LocalAws) -> None:
    """The only resource the stack adds: the stand-in for S3's own event delivery."""
    poller = S3EventPoller([], emulator.resources, emulator.client("s3"), emulator.client("sqs"), Recorder())
    poller.subscribe()

    urls = emulator.client("sqs").list_queues()["QueueUrls"]
    names = {url.rsplit("/", 1)[1] for url in urls}
    assert names - {r.name for r in emulator.resources.of_type("AWS::SQS::Queue")} == {"faqbot-local-s3-events"}
