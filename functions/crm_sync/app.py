"""crm_sync: the CRM queue (leads, escalations, transcripts) → Kommo or the bot's CRM webhook, record by record.

Partial batch failures (`process_partial_response`): a failed record comes back alone. What
"failed" means is `faqbot.consumer`'s; the CRM work is `faqbot.crm.service`'s.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from faqbot import aws
from faqbot.consumer import FailedRecords
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


processor = BatchProcessor(event_type=EventType.SQS, model=CrmRecord)
_crm: CrmSync | None = None
_failures: FailedRecords | None = None


def crm() -> CrmSync:
    """Built once per warm container (settings and clients are read at first use, not at import)."""
    global _crm
    if _crm is None:
        _crm = CrmSync.from_settings(crm_sync_settings())
    return _crm


def failures() -> FailedRecords:
    global _failures
    if _failures is None:
        _failures = FailedRecords(aws.client("sqs"), dead_letter_queue_url=crm_sync_settings().dlq_url)
    return _failures


@tracer.capture_method(capture_response=False)
def record_handler(record: CrmRecord) -> None:
    event = record.body
    logger.append_keys(bot_id=event.bot_id, event_id=event.event_id, event_type=event.type)
    try:
        result = failures().process(record, lambda: crm().handle(event), body=dump_queue_event(event))
    except Exception:
        metrics.add_metric(name="CrmFailed", unit=MetricUnit.Count, value=1)
        raise
    if result is None:
        metrics.add_metric(name="CrmDeadLettered", unit=MetricUnit.Count, value=1)
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
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
