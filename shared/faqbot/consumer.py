"""What an SQS consumer (notify, crm_sync) does with a record whose work failed, and the plumbing they share.

The domain says how it failed, the queue does the rest:

- `RetryLater(seconds)` (Telegram 429 `retry_after`, Kommo 429): the record is failed and made
  invisible for that long (`ChangeMessageVisibility`), so it comes back when the API allows it.
- `PermanentFailure(reason)` (bot removed from the chat, bad token, validation error): retrying
  cannot help. The reason is logged and the record is forwarded to the function's dead-letter
  queue at once, with the reason as a message attribute, and reported as done; so it is sent to
  the API once, not `maxReceiveCount` times, and whoever inspects the DLQ sees why. Without a
  DLQ URL the record fails like any other and reaches the DLQ through the queue's redrive policy.
- anything else (5xx, timeouts, an unavailable table): the record is failed and retried with
  exponential backoff on its receive count; after `maxReceiveCount` receives the queue's redrive
  policy moves it to the DLQ.

Lambda never changes a failed record's visibility itself, so the timeout set here holds in AWS.

`QueueConsumer` wires this policy into a function: Powertools' partial batch responses (a failed
record comes back alone) and the `<prefix>Failed` / `<prefix>DeadLettered` metrics.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from faqbot import aws

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS's maximum
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 900
FAILURE_REASON_ATTRIBUTE = "faqbot_failure_reason"
_MAX_ATTRIBUTE_CHARS = 1000


class RetryLater(Exception):
    """The API asked us to wait: retry the record after `seconds`."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(f"{reason} (retry in {seconds:g} s)")
        self.seconds = seconds
        self.reason = reason


class PermanentFailure(Exception):
    """Retrying cannot help; `reason` says what a person must fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def backoff_seconds(receive_count: int) -> int:
    """30 s, 60 s, 120 s, ... up to 15 min: the delay before the next delivery of a failed record."""
    return int(min(BACKOFF_BASE_SECONDS * 2 ** max(receive_count - 1, 0), BACKOFF_MAX_SECONDS))


def queue_name_from_arn(arn: str) -> tuple[str, str]:
    """`arn:aws:sqs:<region>:<account>:<name>` → (name, account)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {arn}")
    return parts[5], parts[4]


class FailedRecords:
    """Runs a record's work and applies the failure policy above; takes the boto3 SQS client."""

    def __init__(self, sqs: Any, *, dead_letter_queue_url: str = "") -> None:
        self._sqs = sqs
        self._dead_letter_queue_url = dead_letter_queue_url
        self._queue_urls: dict[str, str] = {}

    def process(self, record: SqsRecordModel, work: Callable[[], T], *, body: str) -> T | None:
        """`work()`'s result; None when the record was dead-lettered. Raises when the record must be retried."""
        try:
            return work()
        except RetryLater as exc:
            self._delay(record, math.ceil(exc.seconds) + 1)
            logger.warning(
                "rate limited; record retried later",
                extra={"message_id": record.messageId, "retry_in_seconds": exc.seconds, "reason": exc.reason},
            )
            raise
        except PermanentFailure as exc:
            logger.error(
                "permanent failure; record goes to the dead-letter queue",
                extra={"message_id": record.messageId, "reason": exc.reason},
            )
            if not self._dead_letter_queue_url:
                raise
            self._dead_letter(record, body, exc.reason)
            return None
        except Exception as exc:
            receive_count = _receive_count(record)
            self._delay(record, backoff_seconds(receive_count))
            logger.warning(
                "record failed; retried with backoff",
                extra={"message_id": record.messageId, "receive_count": receive_count, "error": repr(exc)[:500]},
            )
            raise

    def _delay(self, record: SqsRecordModel, seconds: int) -> None:
        """Best effort: if the visibility cannot be changed, the queue's own timeout applies."""
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self._queue_url(record.eventSourceARN),
                ReceiptHandle=record.receiptHandle,
                VisibilityTimeout=max(0, min(int(seconds), MAX_VISIBILITY_SECONDS)),
            )
        except Exception:
            logger.warning("could not change the record's visibility", exc_info=True)

    def _dead_letter(self, record: SqsRecordModel, body: str, reason: str) -> None:
        """Forward the record with why it failed; if this fails too, the record is retried (nothing is lost)."""
        attributes: dict[str, Any] = {
            name: {"DataType": value.dataType, "StringValue": value.stringValue}
            for name, value in record.messageAttributes.items()
            if value.stringValue is not None and name != FAILURE_REASON_ATTRIBUTE
        }
        attributes[FAILURE_REASON_ATTRIBUTE] = {"DataType": "String", "StringValue": reason[:_MAX_ATTRIBUTE_CHARS]}
        attributes["faqbot_failed_at"] = {"DataType": "String", "StringValue": datetime.now(UTC).isoformat()}
        attributes["faqbot_source_queue"] = {"DataType": "String", "StringValue": record.eventSourceARN}
        self._sqs.send_message(QueueUrl=self._dead_letter_queue_url, MessageBody=body, MessageAttributes=attributes)

    def _queue_url(self, arn: str) -> str:
        if arn not in self._queue_urls:
            name, account = queue_name_from_arn(arn)
            self._queue_urls[arn] = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return self._queue_urls[arn]


class MetricSink(Protocol):
    """Where the failure counts go (Powertools' `Metrics`)."""

    def add_metric(self, name: str, unit: MetricUnit, value: float) -> None: ...


class QueueConsumer:
    """One SQS-triggered function's batch plumbing; the function brings the record model and the work.

    Built at import time (cheap): the SQS client and the dead-letter queue URL are read at the first record.
    """

    def __init__(
        self,
        model: type[SqsRecordModel],
        *,
        metrics: MetricSink,
        metric_prefix: str,
        dead_letter_queue_url: Callable[[], str],
    ) -> None:
        self._processor = BatchProcessor(event_type=EventType.SQS, model=model)
        self._metrics = metrics
        self._metric_prefix = metric_prefix
        self._dead_letter_queue_url = dead_letter_queue_url
        self._failures: FailedRecords | None = None

    def process(self, record: SqsRecordModel, work: Callable[[], T], *, body: str) -> T | None:
        """`work()`'s result (never None); None when the record was dead-lettered. Raises when it must be retried."""
        try:
            result = self._failed_records().process(record, work, body=body)
        except Exception:
            self._count("Failed")
            raise
        if result is None:
            self._count("DeadLettered")
        return result

    def process_batch(
        self, event: dict[str, Any], context: LambdaContext, record_handler: Callable[[Any], None]
    ) -> PartialItemFailureResponse:
        """Runs `record_handler` on each record; the response names the records SQS must deliver again."""
        return process_partial_response(
            event=event, record_handler=record_handler, processor=self._processor, context=context
        )

    def _failed_records(self) -> FailedRecords:
        if self._failures is None:
            self._failures = FailedRecords(aws.client("sqs"), dead_letter_queue_url=self._dead_letter_queue_url())
        return self._failures

    def _count(self, outcome: str) -> None:
        self._metrics.add_metric(name=f"{self._metric_prefix}{outcome}", unit=MetricUnit.Count, value=1)


def _receive_count(record: SqsRecordModel) -> int:
    try:
        return int(record.attributes.ApproximateReceiveCount)
    except (TypeError, ValueError):
        return 1
