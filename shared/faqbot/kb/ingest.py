"""An uploaded spreadsheet becomes the bot's live KB: read, check, report, activate.

Shared by the kb_ingest Lambda (S3 put under `kb/<bot_id>/`) and the CLI. The client always gets a
report next to the upload (`reports/<bot_id>/<name>.json` and `.txt`); the live KB changes only
when the file has no errors, and then atomically (see `faqbot.kb.store`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from faqbot.bots.registry import BotRegistry, UnknownBot
from faqbot.config import BotConfig
from faqbot.kb.models import KbEntry
from faqbot.kb.spreadsheet import check_spreadsheet
from faqbot.kb.store import KnowledgeBaseStore, Superseded
from faqbot.kb.validation import Activation, Issue, IssueCode, Limits, ValidationReport
from faqbot.settings import IngestSettings

if TYPE_CHECKING:
    from faqbot.semantic.ingest import SemanticIngest

KB_PREFIX = "kb/"
REPORTS_PREFIX = "reports/"
UPLOAD_ID_METADATA = "upload-id"  # S3 user metadata `faqbot kb upload` sets, echoed in the report
_BOT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")  # same rule as BotConfig.bot_id


class SkippedUpload(Exception):
    """The object is not a KB upload we can report on (wrong prefix, folder marker, gone); logged only."""


@dataclass(frozen=True)
class UploadKey:
    """`kb/<bot_id>/<name>` and where its reports go."""

    bot_id: str
    name: str  # the path under the bot's folder, e.g. `faq.xlsx`

    @property
    def key(self) -> str:
        return f"{KB_PREFIX}{self.bot_id}/{self.name}"

    @property
    def report_key(self) -> str:
        return f"{REPORTS_PREFIX}{self.bot_id}/{PurePosixPath(self.name).with_suffix('.json')}"

    @property
    def summary_key(self) -> str:
        return f"{REPORTS_PREFIX}{self.bot_id}/{PurePosixPath(self.name).with_suffix('.txt')}"


def parse_upload_key(key: str) -> UploadKey:
    """The bot and file name of an upload key (already URL-decoded); `SkippedUpload` if it is not one."""
    parts = key.split("/", 2)
    if len(parts) < 3 or parts[0] + "/" != KB_PREFIX or not parts[2] or key.endswith("/"):
        raise SkippedUpload(f"not a KB upload key (expected kb/<bot_id>/<file>): {key}")
    if not _BOT_ID.match(parts[1]):
        raise SkippedUpload(f"not a valid bot id in {key}: {parts[1]!r}")
    return UploadKey(bot_id=parts[1], name=parts[2])


def limits_from_settings(settings: IngestSettings) -> Limits:
    return Limits(
        max_file_bytes=settings.max_file_bytes, max_rows=settings.max_rows, max_cell_chars=settings.max_cell_chars
    )


@dataclass(frozen=True)
class IngestResult:
    upload: UploadKey
    report: ValidationReport
    report_key: str
    summary_key: str

    @property
    def activated_version(self) -> int | None:
        activation = self.report.activation
        return activation.version if activation and activation.status == "activated" else None


def ingest_object(
    s3: Any,
    bucket: str,
    key: str,
    *,
    store: KnowledgeBaseStore,
    registry: BotRegistry | None = None,
    limits: Limits | None = None,
    semantic: SemanticIngest | None = None,
) -> IngestResult:
    """Check the uploaded file at `bucket`/`key`, write its report, and activate it if it has no errors.

    The bot's config (when `registry` knows the bot) sets the report language and how many old
    versions are kept; an upload for a bot not configured yet is still checked and stored.
    With `semantic`, a bot that enables the semantic tier gets its entries embedded before they go live.
    """
    upload = parse_upload_key(key)
    limits = limits or Limits()
    config = _config(registry, upload.bot_id)
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise SkippedUpload(f"s3://{bucket}/{key} no longer exists") from exc
        raise
    upload_id = (obj.get("Metadata") or {}).get(UPLOAD_ID_METADATA)
    size = int(obj.get("ContentLength", 0))
    entries: list[KbEntry] = []
    if size > limits.max_file_bytes:
        obj["Body"].close()  # never pull a huge object into a Lambda's memory
        report = ValidationReport(source=PurePosixPath(upload.name).name, language=config.language)
        report.issues.append(Issue.of(IssueCode.FILE_TOO_LARGE, size=size, limit=limits.max_file_bytes))
    else:
        check = check_spreadsheet(obj["Body"].read(), upload.name, limits=limits, language=config.language)
        report, entries = check.report, check.entries
    report = report.model_copy(update={"upload_id": upload_id})
    activation = _activate(store, upload, config, report, entries, semantic)
    report = report.model_copy(update={"activation": activation})
    write_report(s3, bucket, upload, report)
    return IngestResult(upload=upload, report=report, report_key=upload.report_key, summary_key=upload.summary_key)


def _config(registry: BotRegistry | None, bot_id: str) -> BotConfig:
    if registry is not None:
        try:
            return registry.get(bot_id)
        except UnknownBot:
            pass
    return BotConfig(bot_id=bot_id)


def write_report(s3: Any, bucket: str, upload: UploadKey, report: ValidationReport) -> None:
    """The JSON report for tools and the text summary for people, next to each other."""
    s3.put_object(
        Bucket=bucket,
        Key=upload.report_key,
        Body=json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2).encode(),
        ContentType="application/json; charset=utf-8",
    )
    s3.put_object(
        Bucket=bucket,
        Key=upload.summary_key,
        Body=report.summary().encode(),
        ContentType="text/plain; charset=utf-8",
    )


def _activate(
    store: KnowledgeBaseStore,
    upload: UploadKey,
    config: BotConfig,
    report: ValidationReport,
    entries: list[KbEntry],
    semantic: SemanticIngest | None = None,
) -> Activation:
    if not report.ok:
        live = store.active(upload.bot_id, consistent=True)
        return Activation(status="rejected", live_version=live.version if live else None)
    if semantic is not None:
        semantic.prepare(config, entries, kept=store)  # never raises; vectors exist before the version is live
    try:
        active = store.publish(
            upload.bot_id,
            entries,
            source=upload.name,
            report_key=upload.report_key,
            warnings=len(report.warnings),
            upload_id=report.upload_id,
            versions_kept=config.kb_versions_kept,
        )
    except Superseded as exc:
        return Activation(status="superseded", version=exc.version, live_version=exc.live_version)
    return Activation(status="activated", version=active.version, live_version=active.version)
