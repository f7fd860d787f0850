"""kb_ingest: a spreadsheet put under `kb/<bot_id>/` in the KB bucket rebuilds that bot's knowledge base.

Its schedule (`{"action": "kb_sync"}`) fetches every bot's connected sheet (`kb_source_url`) and puts
a changed one under `kb/<bot_id>/`, which then comes back here as an ordinary upload.

FAQ mining lives here too (it needs the same pandas/openpyxl): objects under `transcripts/<bot_id>/`,
whose S3 events reach it in batches through TranscriptQueue, start a Transcribe job (audio) or re-mine
the bot's draft FAQ into `drafts/<bot_id>/` once per batch; the weekly schedule
(`{"action": "unanswered_report"}`) writes every bot's unanswered-questions report.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3Model, SqsModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from faqbot import aws
from faqbot.bots.registry import BotRegistry
from faqbot.conversation.store import ConversationStore
from faqbot.kb.ingest import SkippedUpload, ingest_object, limits_from_settings
from faqbot.kb.store import KnowledgeBaseStore
from faqbot.kb.sync import KbSync, is_sync_event
from faqbot.mining.jobs import is_weekly_report_event, on_transcript_objects, weekly_reports
from faqbot.notify.links import TranscriptLinks
from faqbot.semantic.ingest import SemanticIngest
from faqbot.settings import IngestSettings, ingest_settings
from pydantic import BaseModel, Field, ValidationError

logger = Logger(service="kb_ingest")
metrics = Metrics(namespace="faqbot", service="kb_ingest")
tracer = Tracer(service="kb_ingest")
_METRIC_BY_STATUS = {"activated": "KbActivated", "rejected": "KbRejected", "superseded": "KbSuperseded"}


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = ingest_settings()
    if is_sync_event(event):
        return sync_sources(settings)
    if is_weekly_report_event(event):
        return unanswered_reports(settings)
    if is_queue_event(event):
        return transcript_batch(event, BotRegistry(aws.dynamodb().Table(settings.kb_table_name)))
    table = aws.dynamodb().Table(settings.kb_table_name)
    store, registry, s3 = KnowledgeBaseStore(table), BotRegistry(table), aws.client("s3")
    semantic = SemanticIngest.for_table(table)  # embeds only for bots that enable the semantic tier
    results = []
    for record in parse(event=event, model=S3Model).Records:
        if record.s3.object is None:
            continue  # not an object event (e.g. a test notification)
        bucket, key = record.s3.bucket.name, unquote_plus(record.s3.object.key)  # S3 URL-encodes keys
        try:
            result = ingest_object(
                s3,
                bucket,
                key,
                store=store,
                registry=registry,
                limits=limits_from_settings(settings),
                semantic=semantic,
            )
        except SkippedUpload as exc:
            logger.warning("skipped upload", extra={"bucket": bucket, "key": key, "reason": str(exc)})
            metrics.add_metric(name="KbSkipped", unit=MetricUnit.Count, value=1)
            continue
        activation = result.report.activation
        status = activation.status if activation else "checked"
        metrics.add_metric(name=_METRIC_BY_STATUS.get(status, "KbChecked"), unit=MetricUnit.Count, value=1)
        logger.info(
            "kb upload processed",
            extra={
                "bot_id": result.upload.bot_id,
                "key": key,
                "status": status,
                "version": activation.version if activation else None,
                "errors": len(result.report.errors),
                "warnings": len(result.report.warnings),
                "report_key": result.report_key,
            },
        )
        results.append({"key": key, "status": status, "report_key": result.report_key})
    return {"results": results}


class _S3Bucket(BaseModel):
    name: str


class _S3Object(BaseModel):
    key: str


class _S3Entity(BaseModel):
    bucket: _S3Bucket
    object: _S3Object


class _S3NotificationRecord(BaseModel):
    s3: _S3Entity


class S3Notification(BaseModel):
    """The body S3 sends a queue: what kb_ingest needs of it (S3's own test event has no records)."""

    Records: list[_S3NotificationRecord] = Field(default_factory=list)


def is_queue_event(event: dict[str, Any]) -> bool:
    records = event.get("Records") or []
    return bool(records) and all(record.get("eventSource") == "aws:sqs" for record in records)


def transcript_batch(event: dict[str, Any], registry: BotRegistry) -> dict[str, Any]:
    """TranscriptQueue's batch: every bot it names is mined once; the messages of what failed come back."""
    messages: dict[tuple[str, str], list[str]] = {}  # (bucket, key) → the ids of the messages that named it
    failed: set[str] = set()
    for record in parse(event=event, model=SqsModel).Records:
        try:
            notification = S3Notification.model_validate_json(str(record.body))
        except ValidationError as exc:  # not S3's notification: it goes to the dead-letter queue, the rest on
            logger.error("not an S3 notification", extra={"message_id": record.messageId, "error": str(exc)})
            failed.add(record.messageId)
            continue
        for s3_record in notification.Records:
            where = (s3_record.s3.bucket.name, unquote_plus(s3_record.s3.object.key))  # S3 URL-encodes keys
            messages.setdefault(where, []).append(record.messageId)
    by_bucket: dict[str, list[str]] = {}
    for bucket, key in messages:
        by_bucket.setdefault(bucket, []).append(key)
    results: list[dict[str, Any]] = []
    for bucket, keys in by_bucket.items():
        for result in mine_transcripts(bucket, keys, registry):
            results.append(result)
            if result["status"] == "failed":
                failed.update(messages[(bucket, result["key"])])
    return {"results": results, "batchItemFailures": [{"itemIdentifier": message} for message in sorted(failed)]}


def mine_transcripts(bucket: str, keys: list[str], registry: BotRegistry) -> list[dict[str, Any]]:
    """Audio → a Transcribe job; a transcript (Transcribe's output too) → the bot's draft FAQ, rebuilt."""
    outcomes = on_transcript_objects(
        keys, s3=aws.client("s3"), transcribe=aws.client("transcribe"), bucket=bucket, registry=registry
    )
    for outcome in outcomes:
        metrics.add_metric(name=f"Transcript{outcome.action.title()}", unit=MetricUnit.Count, value=1)
        extra = {"key": outcome.key, "status": outcome.action, "detail": outcome.detail}
        if outcome.failed:
            logger.error("transcript not processed, its event comes back", extra=extra)
        else:
            logger.info("transcript processed", extra=extra)
    return [{"key": o.key, "status": o.action, "detail": o.detail} for o in outcomes]


def unanswered_reports(settings: IngestSettings) -> dict[str, Any]:
    """The weekly run: every bot's unanswered-questions report under `reports/<bot_id>/`."""
    kb_table = aws.dynamodb().Table(settings.kb_table_name)
    keys = weekly_reports(
        registry=BotRegistry(kb_table, cache_seconds=0),
        kb_table=kb_table,
        conversations=ConversationStore(aws.client("dynamodb"), settings.conversations_table_name),
        s3=aws.client("s3"),
        bucket=settings.kb_bucket_name,
        links=TranscriptLinks.from_parameter(settings.public_base_url, settings.history_signing_key_param),
    )
    metrics.add_metric(name="UnansweredReports", unit=MetricUnit.Count, value=len(keys))
    logger.info("unanswered reports written", extra={"keys": keys})
    return {"reports": keys}


def sync_sources(settings: IngestSettings) -> dict[str, Any]:
    """The scheduled run: every bot with a connected sheet; a changed one is uploaded (and ingested by S3's event)."""
    registry = BotRegistry(aws.dynamodb().Table(settings.kb_table_name), cache_seconds=0)
    sync = KbSync.from_settings(settings)
    try:
        results = sync.sync_all(registry.list())
    finally:
        sync.close()
    synced = []
    for result in results:
        metrics.add_metric(name=f"KbSource{result.status.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
        reason = result.error.reason if result.error else None
        logger.info("kb source synced", extra={"bot_id": result.bot_id, "status": result.status, "reason": reason})
        synced.append({"bot_id": result.bot_id, "status": result.status, "reason": reason})
    return {"synced": synced}
