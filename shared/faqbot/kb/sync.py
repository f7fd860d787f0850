"""A bot's KB that follows its connected sheet (`BotConfig.kb_source_url`).

One sync: fetch the source (`faqbot.kb.source`); if its content is what the last sync uploaded,
stop; otherwise put it in the KB bucket as `kb/<bot_id>/kb-source.csv|xlsx`. From there it is an
ordinary upload: kb_ingest checks it, writes `reports/<bot_id>/kb-source.json|txt` and activates it
atomically only when it has no errors — a broken edit in the sheet leaves the live KB in place, and
the report says why. A source that cannot be fetched (not shared, gone, too big, …) gets a report in
the same place, saying what to do.

`faqbot.kb.ingest` (pandas) is imported only where a sync writes: the playground (history_page,
no pandas in its layer) reads `SourceStateStore` from here.

What the last sync saw is kept with the bot in the KB table (`pk=bot#<id>, sk=kb#source`).
`faqbot kb sync` runs one bot; kb_ingest's schedule (every 15 minutes) runs every bot with a source.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel

from faqbot.config import BotConfig
from faqbot.kb.source import (
    AddressPolicy,
    FetchedSource,
    SourceError,
    SourceLink,
    fetch_source,
    guarded_client,
    parse_source_link,
)
from faqbot.kb.store import KnowledgeBaseStore, bot_pk
from faqbot.kb.validation import Activation, Issue, IssueCode, Limits, ValidationReport

if TYPE_CHECKING:
    from faqbot.kb.ingest import UploadKey

logger = logging.getLogger(__name__)

SOURCE_STATE_SK = "kb#source"
SOURCE_FILE_STEM = "kb-source"  # kb/<bot_id>/kb-source.csv → reports/<bot_id>/kb-source.json
SYNC_WORKERS = 4

SyncStatus = Literal["uploaded", "unchanged", "failed", "no_source"]
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def source_upload(bot_id: str, fmt: str = "csv") -> UploadKey:
    """Where a synced source goes in the KB bucket (and so where its report is written)."""
    from faqbot.kb.ingest import UploadKey

    return UploadKey(bot_id=bot_id, name=f"{SOURCE_FILE_STEM}.{fmt}")


def is_synced_source(name: str) -> bool:
    """Whether an activated KB's source file name is a synced sheet (not a file someone uploaded)."""
    return name.rsplit(".", 1)[0] == SOURCE_FILE_STEM


# ---- what the last sync saw --------------------------------------------------------------------------------


class SourceState(BaseModel):
    """The last sync of one bot's source: when, what came of it, and the hash of what was uploaded."""

    bot_id: str
    url: str
    checked_at: datetime
    status: SyncStatus
    content_hash: str | None = None  # of the content last uploaded
    changed_at: datetime | None = None  # when that content was uploaded
    upload_key: str | None = None
    upload_id: str | None = None
    reason: str | None = None  # SourceError.reason of a failed fetch
    message: str | None = None  # its words, in the bot's language


class SourceStateStore:
    """One item per bot in the KB table; takes the boto3 `Table`."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, bot_id: str) -> SourceState | None:
        item = self._table.get_item(Key={"pk": bot_pk(bot_id), "sk": SOURCE_STATE_SK}, ConsistentRead=True).get("Item")
        return SourceState.model_validate_json(item["state"]) if item else None

    def put(self, state: SourceState) -> None:
        self._table.put_item(
            Item={"pk": bot_pk(state.bot_id), "sk": SOURCE_STATE_SK, "state": state.model_dump_json(exclude_none=True)}
        )


# ---- one sync ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    bot_id: str
    status: SyncStatus
    link: SourceLink | None = None
    content_hash: str | None = None
    upload: UploadKey | None = None
    upload_id: str | None = None
    error: SourceError | None = None
    report: ValidationReport | None = None  # the failure report (an upload's report comes from kb_ingest)

    @property
    def report_key(self) -> str | None:
        return self.upload.report_key if self.upload else None


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class KbSync:
    """Fetches connected sources and hands changed ones to the ordinary S3 upload path."""

    def __init__(
        self,
        *,
        s3: Any,
        bucket: str,
        table: Any,
        http: httpx.Client,
        policy: AddressPolicy,
        limits: Limits | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._states = SourceStateStore(table)
        self._kb = KnowledgeBaseStore(table)
        self._http = http
        self._policy = policy
        self._limits = limits or Limits()
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Any) -> KbSync:
        """Production wiring from `IngestSettings` (the KB bucket and table, the guarded HTTP client)."""
        from faqbot import aws
        from faqbot.kb.ingest import limits_from_settings

        policy = AddressPolicy.allowing(settings.kb_source_allow_hosts.split(","))
        return cls(
            s3=aws.client("s3"),
            bucket=settings.kb_bucket_name,
            table=aws.dynamodb().Table(settings.kb_table_name),
            http=guarded_client(policy),
            policy=policy,
            limits=limits_from_settings(settings),
        )

    def close(self) -> None:
        self._http.close()

    def state(self, bot_id: str) -> SourceState | None:
        return self._states.get(bot_id)

    def sync(self, config: BotConfig, *, force: bool = False) -> SyncResult:
        """Fetch `config`'s source and upload it if it changed (or `force`)."""
        return self._apply(config, self._fetch(config), force=force)

    def sync_all(self, configs: Sequence[BotConfig], *, force: bool = False) -> list[SyncResult]:
        """Every bot with a source: fetched in parallel (network), applied one by one (S3, DynamoDB)."""
        connected = [config for config in configs if config.kb_source_url]
        with ThreadPoolExecutor(max_workers=SYNC_WORKERS) as pool:
            fetched = list(pool.map(self._fetch, connected))
        results = []
        for config, outcome in zip(connected, fetched, strict=True):
            try:
                results.append(self._apply(config, outcome, force=force))
            except Exception:
                logger.exception("kb sync failed for bot %s", config.bot_id)
        return results

    # ---- steps ----------------------------------------------------------------------------------------

    def _fetch(self, config: BotConfig) -> FetchedSource | SourceError | None:
        if not config.kb_source_url:
            return None
        try:
            link = parse_source_link(config.kb_source_url)
            return fetch_source(link, http=self._http, policy=self._policy, max_bytes=self._limits.max_file_bytes)
        except SourceError as exc:
            return exc

    def _apply(self, config: BotConfig, fetched: FetchedSource | SourceError | None, *, force: bool) -> SyncResult:
        bot_id, now = config.bot_id, self._clock()
        if fetched is None or not config.kb_source_url:
            return SyncResult(bot_id=bot_id, status="no_source")
        url = config.kb_source_url
        previous = self._states.get(bot_id)
        if isinstance(fetched, SourceError):
            return self._failed(config, url, fetched, previous, now)
        digest = content_hash(fetched.content)
        kept = previous if previous and previous.url == url else None
        if kept and kept.content_hash == digest and not force:
            self._states.put(
                kept.model_copy(update={"checked_at": now, "status": "unchanged", "reason": None, "message": None})
            )
            return SyncResult(bot_id=bot_id, status="unchanged", link=fetched.link, content_hash=digest)
        from faqbot.kb.ingest import UPLOAD_ID_METADATA

        upload = source_upload(bot_id, fetched.format)
        upload_id = uuid.uuid4().hex
        self._s3.put_object(
            Bucket=self._bucket,
            Key=upload.key,
            Body=fetched.content,
            Metadata={UPLOAD_ID_METADATA: upload_id},
        )
        self._states.put(
            SourceState(
                bot_id=bot_id,
                url=url,
                checked_at=now,
                status="uploaded",
                content_hash=digest,
                changed_at=now,
                upload_key=upload.key,
                upload_id=upload_id,
            )
        )
        logger.info("kb source changed; uploaded", extra={"bot_id": bot_id, "key": upload.key, "hash": digest[:12]})
        return SyncResult(
            bot_id=bot_id, status="uploaded", link=fetched.link, content_hash=digest, upload=upload, upload_id=upload_id
        )

    def _failed(
        self, config: BotConfig, url: str, error: SourceError, previous: SourceState | None, now: datetime
    ) -> SyncResult:
        """Report a source that could not be read; the live KB stays as it is."""
        from faqbot.kb.ingest import write_report

        language = config.language
        live = self._kb.active(config.bot_id, consistent=True)
        report = ValidationReport(
            source=url,
            language=language,
            checked_at=now,
            issues=[Issue.of(IssueCode.UNREADABLE_FILE, detail=error.message(language), reason=error.reason)],
            activation=Activation(status="rejected", live_version=live.version if live else None),
        )
        upload = source_upload(config.bot_id)
        write_report(self._s3, self._bucket, upload, report)
        kept = previous if previous and previous.url == url else None
        self._states.put(
            SourceState(
                bot_id=config.bot_id,
                url=url,
                checked_at=now,
                status="failed",
                content_hash=kept.content_hash if kept else None,
                changed_at=kept.changed_at if kept else None,
                upload_key=kept.upload_key if kept else None,
                upload_id=kept.upload_id if kept else None,
                reason=error.reason,
                message=error.message(language),
            )
        )
        logger.warning("kb source unreadable", extra={"bot_id": config.bot_id, "reason": error.reason})
        return SyncResult(bot_id=config.bot_id, status="failed", error=error, upload=upload, report=report)


# ---- the schedule ------------------------------------------------------------------------------------------

SYNC_ACTION = "kb_sync"  # kb_ingest's schedule sends {"action": "kb_sync"} (infra/template.yaml)


def is_sync_event(event: Any) -> bool:
    """Whether a kb_ingest invocation is the scheduled sync rather than an S3 upload."""
    return isinstance(event, dict) and event.get("action") == SYNC_ACTION
