"""Helpers for the notify / crm_sync integration tests: bots pointed at fake servers, queues, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from faqbot.bots.registry import BotRegistry
from faqbot.config import BotConfig
from faqbot.events import Escalation, LeadReady, TranscriptUpdated, dump_queue_event
from faqbot.secrets import SecretStore


def wait_until(predicate: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.1, what: str = "") -> Any:
    """The predicate's first truthy value; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(interval)


def put_bot(stack: Any, config: BotConfig, secrets: dict[str, str]) -> BotConfig:
    """Store a bot config and its secrets in the local stack's emulator."""
    store = SecretStore(stack.emulator.client("ssm"), stack.emulator.client("secretsmanager"))
    for name, value in secrets.items():
        store.put(name, value)
    BotRegistry(stack.kb_table()).put(config)
    return config


def enqueue(stack: Any, queue: str, event: Escalation | LeadReady | TranscriptUpdated) -> None:
    stack.emulator.client("sqs").send_message(
        QueueUrl=stack.resources[queue].url,
        MessageBody=dump_queue_event(event),
        MessageAttributes={"type": {"DataType": "String", "StringValue": event.type}},
    )


def queue_empty(stack: Any, queue: str) -> bool:
    """No message visible, in flight or delayed: every record was handled (deleted or dead-lettered)."""
    attributes = stack.emulator.client("sqs").get_queue_attributes(
        QueueUrl=stack.resources[queue].url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(value) for value in attributes.values()) == 0


def drain_dead_letters(stack: Any, queue: str) -> list[dict[str, Any]]:
    """Every message in a dead-letter queue (removed from it), with its attributes."""
    sqs = stack.emulator.client("sqs")
    url = stack.resources[queue].url
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
