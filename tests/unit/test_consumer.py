"""`QueueConsumer`: the batch plumbing notify and crm_sync share (partial failures, the DLQ, the failure metrics)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from faqbot.consumer import FAILURE_REASON_ATTRIBUTE, PermanentFailure, QueueConsumer
from faqbot.local.handlers import FakeLambdaContext
from moto import mock_aws

SAMPLE = Path(__file__).resolve().parents[2] / "events" / "sqs_escalation.json"
TRIED = "3c0d7b4f-6c2e-4d9f-8b1a-1e5f2c3d4b01"


class RecordedMetrics:
    """Stands in for Powertools' `Metrics`: keeps the names of the metrics added."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        assert value == 1
        self.names.append(name)


@pytest.fixture
def world(aws_env: None) -> Iterator[SimpleNamespace]:
    """The sample's queue and a dead-letter queue on moto, and a consumer with recorded metrics."""
    with mock_aws():
        sqs = boto3.client("sqs")
        sqs.create_queue(QueueName="EscalationsQueue")
        dlq_url = sqs.create_queue(QueueName="EscalationsDlq")["QueueUrl"]
        metrics = RecordedMetrics()
        consumer = QueueConsumer(
            SqsRecordModel,
            metrics=metrics,
            metric_prefix="Test",
            dead_letter_queue_url=lambda: dlq_url,
        )
        yield SimpleNamespace(sqs=sqs, dlq_url=dlq_url, metrics=metrics, consumer=consumer)


def run_batch(world: SimpleNamespace, work: Callable[[], Any]) -> dict[str, Any]:
    """A batch of two records through the consumer: the sample's, which succeeds, and a copy that does `work`.

    (Powertools raises when every record of a batch fails: Lambda then retries the whole batch.)"""
    event = json.loads(SAMPLE.read_text())
    (sample,) = event["Records"]
    event["Records"].append({**sample, "messageId": TRIED, "receiptHandle": "AQEBtried"})

    def record_handler(record: SqsRecordModel) -> None:
        world.consumer.process(record, work if record.messageId == TRIED else lambda: "sent", body=record.body)

    return dict(world.consumer.process_batch(event, FakeLambdaContext(function_name="Test"), record_handler))


def dead_letters(world: SimpleNamespace) -> list[dict[str, Any]]:
    received = world.sqs.receive_message(QueueUrl=world.dlq_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10)
    return list(received.get("Messages", []))


def test_a_record_whose_work_succeeds_is_done_and_counts_no_failure(world: SimpleNamespace) -> None:
    # when
    response = run_batch(world, lambda: "sent")

    # then
    assert response == {"batchItemFailures": []}
    assert world.metrics.names == []
    assert dead_letters(world) == []


def test_a_record_whose_work_fails_comes_back_and_counts_as_failed(world: SimpleNamespace) -> None:
    # given
    def work() -> None:
        raise ConnectionError("Telegram unreachable")

    # when
    response = run_batch(world, work)

    # then
    assert response == {"batchItemFailures": [{"itemIdentifier": TRIED}]}
    assert world.metrics.names == ["TestFailed"]
    assert dead_letters(world) == []


def test_a_permanent_failure_goes_to_the_dead_letter_queue_once_and_counts_as_dead_lettered(
    world: SimpleNamespace,
) -> None:
    # given
    def work() -> None:
        raise PermanentFailure("the bot was removed from the chat")

    # when
    response = run_batch(world, work)

    # then
    assert response == {"batchItemFailures": []}
    assert world.metrics.names == ["TestDeadLettered"]
    (parked,) = dead_letters(world)
    assert json.loads(parked["Body"])["type"] == "escalation"
    assert parked["MessageAttributes"][FAILURE_REASON_ATTRIBUTE]["StringValue"] == "the bot was removed from the chat"
