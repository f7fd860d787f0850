"""notify: the escalations queue → the bot's Telegram admin chat, record by record.

Partial batch failures (`process_partial_response`): a record that failed comes back alone, the
others are not sent again. What "failed" means (retry later, retry with backoff, dead-letter now)
is `faqbot.consumer`'s; the notification itself is `faqbot.notify.service`'s.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from faqbot.consumer import QueueConsumer
from faqbot.events import Escalation, dump_queue_event
from faqbot.notify.service import Notifier
from faqbot.settings import notify_settings
from pydantic import Json

logger = Logger(service="notify")
metrics = Metrics(namespace="faqbot", service="notify")
tracer = Tracer(service="notify")
copy_config_to_registered_loggers(source_logger=logger, include={"faqbot"})

_METRIC_BY_STATUS = {"sent": "Notified", "duplicate": "NotifyDuplicate", "skipped": "NotifySkipped"}


class EscalationRecord(SqsRecordModel):
    body: Json[Escalation]


queue = QueueConsumer(
    EscalationRecord, metrics=metrics, metric_prefix="Notify", dead_letter_queue_url=lambda: notify_settings().dlq_url
)


@cache
def notifier() -> Notifier:
    """Built once per warm container (settings and clients are read at first use, not at import)."""
    return Notifier.from_settings(notify_settings())


@tracer.capture_method(capture_response=False)
def record_handler(record: EscalationRecord) -> None:
    escalation = record.body
    logger.append_keys(bot_id=escalation.bot_id, event_id=escalation.event_id)
    result = queue.process(record, lambda: notifier().notify_managers(escalation), body=dump_queue_event(escalation))
    if result is None:
        return
    metrics.add_metric(name=_METRIC_BY_STATUS[result.status], unit=MetricUnit.Count, value=1)
    logger.info("escalation handled", extra={"status": result.status, "message_id": result.message_id})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    notifier().register_lambda_context(context)
    return queue.process_batch(event, context, record_handler)
