"""`faqbot ingest` (check a sheet locally) and `faqbot kb status|rollback|upload` (the live KB of a bot)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import click

from faqbot.cli import cli
from faqbot.cli._common import aws_target
from faqbot.config import Language


@cli.command("ingest")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--language",
    type=click.Choice([language.value for language in Language]),
    default=Language.UK.value,
    show_default=True,
    help="Language of the report's messages.",
)
def ingest_command(file: Path, as_json: bool, language: str) -> None:
    """Check a KB spreadsheet (.xlsx/.csv) exactly as an upload would; exit 1 if it has errors."""
    from faqbot.kb.ingest import limits_from_settings
    from faqbot.kb.spreadsheet import check_spreadsheet
    from faqbot.settings import ingest_settings

    report = check_spreadsheet(
        file.read_bytes(), file.name, limits=limits_from_settings(ingest_settings()), language=Language(language)
    ).report
    click.echo(json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2) if as_json else report.summary())
    raise SystemExit(0 if report.ok else 1)


@cli.group("kb")
def kb_group() -> None:
    """A bot's live knowledge base: status, rollback, upload."""


def _store() -> Any:
    from faqbot import aws
    from faqbot.kb.store import KnowledgeBaseStore
    from faqbot.settings import ingest_settings

    return KnowledgeBaseStore(aws.dynamodb().Table(ingest_settings().kb_table_name))


@kb_group.command("status")
@click.argument("bot_id")
@aws_target
def status_command(bot_id: str) -> None:
    """Show the live version and the kept versions of BOT_ID's knowledge base."""
    store = _store()
    active = store.active(bot_id, consistent=True)
    if active is None:
        click.echo(f"{bot_id}: no knowledge base is live yet")
    else:
        click.echo(
            f"{bot_id}: version {active.version} live since {active.activated_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"{active.entry_count} entries from {active.source or '?'}, {active.warnings} warnings"
            + (f" (report: {active.report_key})" if active.report_key else "")
        )
    for version in store.versions(bot_id):
        marker = "*" if active and version.version == active.version else " "
        click.echo(
            f" {marker} v{version.version:<4} {version.status:<8} {version.created_at:%Y-%m-%d %H:%M:%S}  "
            f"{version.entry_count:>5} entries  {version.source}"
        )


@kb_group.command("rollback")
@click.argument("bot_id")
@click.option("--to", "to_version", type=int, default=None, help="Version to make live (default: the previous one).")
@aws_target
def rollback_command(bot_id: str, to_version: int | None) -> None:
    """Make an older kept version of BOT_ID's knowledge base live again."""
    from faqbot.kb.store import KbStoreError

    try:
        active = _store().rollback(bot_id, to_version)
    except KbStoreError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{bot_id}: version {active.version} is live again (was {active.previous_version})")


@kb_group.command("upload")
@click.argument("bot_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for the report.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@aws_target
def upload_command(bot_id: str, file: Path, timeout: float, as_json: bool) -> None:
    """Upload FILE as BOT_ID's knowledge base (kb/<bot_id>/<name>) and print the ingest report.

    Exit status: 0 activated, 1 not activated (errors, or a newer upload won), 2 no report in time.
    """
    from faqbot import aws
    from faqbot.kb.ingest import UPLOAD_ID_METADATA, SkippedUpload, UploadKey, parse_upload_key
    from faqbot.settings import ingest_settings

    try:
        upload = parse_upload_key(UploadKey(bot_id=bot_id, name=file.name).key)
    except SkippedUpload as exc:
        raise click.UsageError(str(exc)) from exc
    s3, bucket, upload_id = aws.client("s3"), ingest_settings().kb_bucket_name, uuid.uuid4().hex
    s3.put_object(Bucket=bucket, Key=upload.key, Body=file.read_bytes(), Metadata={UPLOAD_ID_METADATA: upload_id})
    click.echo(f"uploaded s3://{bucket}/{upload.key}; waiting for the report…", err=True)
    report = _wait_for_report(s3, bucket, upload.report_key, upload_id, timeout)
    if report is None:
        click.echo(f"no report at s3://{bucket}/{upload.report_key} after {timeout:.0f} s", err=True)
        raise SystemExit(2)
    click.echo(json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2) if as_json else report.summary())
    raise SystemExit(0 if report.activation and report.activation.status == "activated" else 1)


def _wait_for_report(s3: Any, bucket: str, key: str, upload_id: str, timeout: float) -> Any:
    """Poll for the report of this very upload (matched by its upload id, not by an older report's presence)."""
    from botocore.exceptions import ClientError

    from faqbot.kb.validation import ValidationReport

    deadline = time.monotonic() + timeout
    while True:
        try:
            data = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            if data.get("upload_id") == upload_id:
                return ValidationReport.model_validate(data)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
        if time.monotonic() >= deadline:
            return None
        time.sleep(1.0)
