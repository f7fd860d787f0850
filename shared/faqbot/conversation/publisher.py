"""Putting conversation events on the SQS queues (escalations → notify, crm → crm_sync)."""

from __future__ import annotations

from typing import Any

from faqbot.events import Escalation, LeadReady, TranscriptUpdated, dump_queue_event

QueueEventModel = Escalation | LeadReady | TranscriptUpdated


class EventPublisher:
    """Sends events as JSON message bodies; takes the boto3 SQS client and the two queue URLs."""

    def __init__(self, sqs: Any, *, escalations_queue_url: str, crm_queue_url: str) -> None:
        self._sqs = sqs
        self._escalations_queue_url = escalations_queue_url
        self._crm_queue_url = crm_queue_url

    def escalate(self, event: Escalation) -> None:
        """The managers' queue. A bot with a CRM also sends the event `to_crm` (task / stage / note there): the
        caller runs the two sends concurrently, as two queues cannot share one SendMessageBatch."""
        self._send(self._escalations_queue_url, event)

    def to_crm(self, event: QueueEventModel, *, delay_seconds: int = 0) -> None:
        self._send(self._crm_queue_url, event, delay_seconds=delay_seconds)

    def _send(self, queue_url: str, event: QueueEventModel, *, delay_seconds: int = 0) -> None:
        if not queue_url:
            raise RuntimeError(f"no queue URL configured for {event.type} events")
        kwargs: dict[str, Any] = {
            "QueueUrl": queue_url,
            "MessageBody": dump_queue_event(event),
            "MessageAttributes": {"type": {"DataType": "String", "StringValue": event.type}},
        }
        if delay_seconds:
            kwargs["DelaySeconds"] = min(delay_seconds, 900)
        self._sqs.send_message(**kwargs)
