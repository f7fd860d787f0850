"""Event delivery as Lambda does it: SQS batches to consumers, S3 object-created events to kb_ingest.

SQS: one poller per event source long-polls the queue and invokes the function with a batch
event shaped like Lambda's. Records reported in `batchItemFailures` (every record, if the
handler raises) are not deleted: they come back after a short visibility timeout, and moto
moves a message to the dead-letter queue once it has been received `maxReceiveCount` times
(the queue's RedrivePolicy from the template), exactly as SQS does.

S3: the bucket notifies a local-only queue (moto implements S3 → SQS notifications, with the
template's event names and key filters); a poller turns each notification into the event
`sam local generate-event s3 put` produces and invokes the function asynchronously (retried
`MaximumRetryAttempts` times, then dropped, like Lambda's async invocation). A bucket's own
notifications to the template's queues (its `QueueConfigurations`) are S3 → SQS in moto too, and
reach their function through that queue's poller.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from faqbot.local.handlers import LOCAL_REGION
from faqbot.local.resources import LocalResource, LocalResources, S3Source, SqsSource

Invoke = Callable[[str, dict[str, Any]], Any]
Echo = Callable[[str], None]

S3_NOTIFICATIONS_QUEUE = "faqbot-local-s3-events"
RETRY_VISIBILITY_SECONDS = 1  # failed records reappear this fast locally (AWS: the queue's timeout)
ASYNC_RETRY_DELAY_SECONDS = 1.0  # AWS waits about 1 then 2 minutes between async retries
_POLL_WAIT_SECONDS = 1  # long-poll length; also how quickly a poller notices it should stop


def _print(line: str) -> None:
    print(line, flush=True)


class _Poller(threading.Thread):
    def __init__(self, name: str, echo: Echo | None) -> None:
        super().__init__(name=name, daemon=True)
        self._stopping = threading.Event()
        self._echo = echo or _print
        self.idle = threading.Event()  # set while no work is in hand (tests wait on it)

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        errors = 0
        while not self._stopping.is_set():
            try:
                self.poll_once()
                errors = 0
            except Exception as exc:  # the emulator went away, or a bug: say so, keep polling
                errors += 1
                if errors == 1 and not self._stopping.is_set():
                    self._echo(f"{self.name}: polling failed: {exc!r}")
                self._stopping.wait(min(errors, 5))

    def poll_once(self) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------- SQS


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A Lambda SQS event record for one received message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _lambda_message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": LOCAL_REGION,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS API attribute (`StringValue`, bytes) → Lambda's shape (`stringValue`, base64)."""
    shaped: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return shaped


def failed_message_ids(
    records: Sequence[dict[str, Any]], response: Any, *, report_batch_item_failures: bool
) -> set[str]:
    """Which records Lambda would treat as failed, given the handler's response.

    With ReportBatchItemFailures, the listed ids failed; a malformed list (an id that is empty or
    not in the batch) fails the whole batch, as in AWS. Without it, success means every record.
    """
    ids = {r["messageId"] for r in records}
    if not report_batch_item_failures or not isinstance(response, dict):
        return set()
    failures = response.get("batchItemFailures") or []
    failed = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
    if any(not item or item not in ids for item in failed):
        return ids
    return {str(item) for item in failed}


class SqsPoller(_Poller):
    """Delivers one queue to one function (an SQS event source mapping)."""

    def __init__(
        self,
        source: SqsSource,
        queue: LocalResource,
        sqs_client: Any,
        invoke: Invoke,
        *,
        echo: Echo | None = None,
        retry_visibility_seconds: int = RETRY_VISIBILITY_SECONDS,
    ) -> None:
        super().__init__(f"sqs {queue.logical_id} → {source.function}", echo)
        self.source = source
        self.queue = queue
        self._sqs = sqs_client
        self._invoke = invoke
        self._retry_visibility = retry_visibility_seconds
        self._max_receive_count = self._redrive_max_receive_count()

    def _redrive_max_receive_count(self) -> int | None:
        attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue.url, AttributeNames=["RedrivePolicy"])
        policy = (attributes.get("Attributes") or {}).get("RedrivePolicy")
        return int(json.loads(policy)["maxReceiveCount"]) if policy else None

    def poll_once(self) -> None:
        self.idle.set()
        received = self._sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=min(self.source.batch_size, 10),
            WaitTimeSeconds=_POLL_WAIT_SECONDS,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages") or []
        if messages:
            self.idle.clear()
            self.deliver(messages)

    def deliver(self, messages: list[dict[str, Any]]) -> set[str]:
        """Invoke the function with one batch; delete what succeeded, let the rest come back."""
        records = [sqs_record(m, self.queue.arn) for m in messages]
        try:
            response = self._invoke(self.source.function, {"Records": records})
            failed = failed_message_ids(
                records, response, report_batch_item_failures=self.source.report_batch_item_failures
            )
        except Exception:
            traceback.print_exc(file=sys.stderr)
            failed = {r["messageId"] for r in records}
        done = [r for r in records if r["messageId"] not in failed]
        retry = [r for r in records if r["messageId"] in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done)],
            )
        if retry:
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": self._retry_visibility}
                    for i, r in enumerate(retry)
                ],
            )
        self._echo(self._summary(records, retry))
        return failed

    def _summary(self, records: list[dict[str, Any]], retry: list[dict[str, Any]]) -> str:
        line = f"sqs   {self.queue.logical_id} → {self.source.function}: {len(records)} record(s)"
        if not retry:
            return line + ", ok"
        line += f", {len(retry)} failed"
        counts = [int(r["attributes"].get("ApproximateReceiveCount", "1")) for r in retry]
        if self._max_receive_count is not None and any(c >= self._max_receive_count for c in counts):
            return line + f" (received {self._max_receive_count}×: moving to the dead-letter queue)"
        return line + f" (back in {self._retry_visibility} s)"


# ---------------------------------------------------------------------------------------- S3


def notification_id(source: S3Source) -> str:
    """SAM's naming of a function's bucket notification (`<Function><EventId>`)."""
    return f"{source.function}{source.event_id}"


@dataclass(frozen=True)
class DeliveryOutcome:
    function: str
    ok: bool  # False: the handler raised on every attempt and the event was dropped
    response: Any


class S3EventPoller(_Poller):
    """Delivers S3 object events of the template's buckets to the functions that subscribe to them."""

    def __init__(
        self,
        sources: Sequence[S3Source],
        resources: LocalResources,
        s3_client: Any,
        sqs_client: Any,
        invoke: Invoke,
        *,
        echo: Echo | None = None,
        retry_delay_seconds: float = ASYNC_RETRY_DELAY_SECONDS,
    ) -> None:
        super().__init__("s3 events", echo)
        self._sources = {notification_id(s): s for s in sources}
        self._resources = resources
        self._s3 = s3_client
        self._sqs = sqs_client
        self._invoke = invoke
        self._retry_delay = retry_delay_seconds
        self._queue_url = ""
        # Object key → what the last delivery of an event for it ended with (the stack waits on it).
        self.outcomes: dict[str, DeliveryOutcome] = {}

    def subscribe(self) -> None:
        """Create the local notification queue and point each bucket's notifications at it."""
        self._queue_url = self._sqs.create_queue(QueueName=S3_NOTIFICATIONS_QUEUE)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        by_bucket: dict[str, list[S3Source]] = {}
        for source in self._sources.values():
            by_bucket.setdefault(source.bucket, []).append(source)
        for bucket, sources in by_bucket.items():
            configurations = []
            for source in sources:
                configuration: dict[str, Any] = {
                    "Id": notification_id(source),
                    "QueueArn": queue_arn,
                    "Events": list(source.events),
                }
                if source.filter_rules:
                    rules = [{"Name": name.lower(), "Value": value} for name, value in source.filter_rules]
                    configuration["Filter"] = {"Key": {"FilterRules": rules}}
                configurations.append(configuration)
            name = self._resources[bucket].name
            # The bucket's own notifications (the template's QueueConfigurations) stay as they are.
            existing = self._s3.get_bucket_notification_configuration(Bucket=name).get("QueueConfigurations") or []
            kept = [c for c in existing if c.get("QueueArn") != queue_arn]
            self._s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"QueueConfigurations": kept + configurations}
            )

    def start(self) -> None:
        if not self._queue_url:
            self.subscribe()
        super().start()

    def poll_once(self) -> None:
        self.idle.set()
        received = self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=_POLL_WAIT_SECONDS
        )
        for message in received.get("Messages") or []:
            self.idle.clear()
            self._deliver(json.loads(message["Body"]))
            self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _deliver(self, notification: dict[str, Any]) -> None:
        for record in notification.get("Records") or []:  # S3's own test event has none
            source = self._sources.get(record.get("s3", {}).get("configurationId", ""))
            if source is not None:
                self._invoke_async(source, {"Records": [self._lambda_record(record)]})

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """moto's notification record, completed to what S3 sends Lambda (and SAM's sample event)."""
        s3 = record["s3"]
        bucket, obj = s3["bucket"], s3["object"]
        key = unquote_plus(obj["key"])
        shaped_object: dict[str, Any] = {
            # S3 URL-encodes the key (a space as "+") but keeps its slashes; moto encodes those too.
            "key": quote_plus(key, safe="/"),
            "size": obj.get("size", 0),
            "eTag": obj.get("eTag", ""),
            "sequencer": f"{time.time_ns():X}",
        }
        version = self._version_id(bucket["name"], key)
        if version:
            shaped_object["versionId"] = version
        return {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": record.get("awsRegion", LOCAL_REGION),
            "eventTime": record["eventTime"],
            "eventName": record["eventName"],
            "userIdentity": {"principalId": "AWS:LOCAL"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {
                "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                "x-amz-id-2": uuid.uuid4().hex,
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": s3["configurationId"],
                "bucket": {
                    "name": bucket["name"],
                    "ownerIdentity": {"principalId": "LOCAL"},
                    "arn": bucket.get("arn") or f"arn:aws:s3:::{bucket['name']}",
                },
                "object": shaped_object,
            },
        }

    def _version_id(self, bucket: str, key: str) -> str | None:
        try:
            version = self._s3.head_object(Bucket=bucket, Key=key).get("VersionId")
        except Exception:  # already deleted: the event goes out without a version, as for an unversioned bucket
            return None
        return version if version and version != "null" else None

    def _invoke_async(self, source: S3Source, event: dict[str, Any]) -> None:
        key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])
        function = self._resources.function(source.function)
        attempts = 1 + function.max_retry_attempts
        for attempt in range(1, attempts + 1):
            try:
                response = self._invoke(source.function, event)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                if attempt < attempts and not self._stopping.is_set():
                    self._echo(f"s3    {key} → {source.function}: failed, retrying ({attempt}/{attempts - 1})")
                    self._stopping.wait(self._retry_delay)
                    continue
                self._echo(f"s3    {key} → {source.function}: failed {attempt}×, event dropped")
                self.outcomes[key] = DeliveryOutcome(source.function, ok=False, response=None)
                return
            self._echo(f"s3    {key} → {source.function}: ok")
            self.outcomes[key] = DeliveryOutcome(source.function, ok=True, response=response)
            return


def start_pollers(
    resources: LocalResources, emulator_client: Callable[[str], Any], invoke: Invoke, *, echo: Echo | None = None
) -> list[SqsPoller | S3EventPoller]:
    """One poller per SQS event source and one for all S3 events, started."""
    pollers: list[SqsPoller | S3EventPoller] = []
    sqs = emulator_client("sqs")
    for function in resources.functions.values():
        for source in function.sqs_sources:
            pollers.append(SqsPoller(source, resources[source.queue], emulator_client("sqs"), invoke, echo=echo))
    s3_sources = [source for function in resources.functions.values() for source in function.s3_sources]
    if s3_sources:
        pollers.append(S3EventPoller(s3_sources, resources, emulator_client("s3"), sqs, invoke, echo=echo))
    for poller in pollers:
        poller.start()
    return pollers


def stop_pollers(pollers: Sequence[_Poller], timeout: float = 10.0) -> None:
    for poller in pollers:
        poller.stop()
    deadline = time.monotonic() + timeout
    for poller in pollers:
        if poller.is_alive():
            poller.join(max(0.0, deadline - time.monotonic()))
