"""crm_sync: the CRM queue (leads, escalations, transcripts) → Kommo or the bot's CRM webhook, record by record.

Partial batch failures (`process_partial_response`): a failed record comes back alone. What
"failed" means is `faqbot.consumer`'s; the CRM work is `faqbot.crm.service`'s.
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
from faqbot.crm.service import CrmSync
from faqbot.events import QueueEvent, dump_queue_event
from faqbot.settings import crm_sync_settings
from pydantic import Json

logger = Logger(service="crm_sync")
metrics = Metrics(namespace="faqbot", service="crm_sync")
tracer = Tracer(service="crm_sync")
copy_config_to_registered_loggers(source_logger=logger, include={"faqbot"})


class CrmRecord(SqsRecordModel):
    body: Json[QueueEvent]


queue = QueueConsumer(
    CrmRecord, metrics=metrics, metric_prefix="Crm", dead_letter_queue_url=lambda: crm_sync_settings().dlq_url
)


@cache
def crm() -> CrmSync:
    """Built once per warm container (settings and clients are read at first use, not at import)."""
    return CrmSync.from_settings(crm_sync_settings())


@tracer.capture_method(capture_response=False)
def record_handler(record: CrmRecord) -> None:
    event = record.body
    logger.append_keys(bot_id=event.bot_id, event_id=event.event_id, event_type=event.type)
    result = queue.process(record, lambda: crm().handle(event), body=dump_queue_event(event))
    if result is None:
        return
    metrics.add_metric(name="CrmSynced", unit=MetricUnit.Count, value=1)
    logger.info(
        "crm event handled", extra={"action": result.action, "lead_id": result.lead_id, "details": result.details}
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    crm().register_lambda_context(context)
    return queue.process_batch(event, context, record_handler)
