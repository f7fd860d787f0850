"""`faqbot kb connect|disconnect|sync`: a bot's KB that follows a Google Sheet (or an HTTPS CSV/XLSX)."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from faqbot.cli._common import aws_target
from faqbot.cli.kb import _wait_for_report, kb_group

LOCAL_SOURCE_HOSTS = "127.0.0.1,localhost"  # with --local, a sheet served from this machine is allowed


def _allow_local_sources() -> None:
    """Under --local, let the sync fetch from this machine (plain http, loopback) unless set explicitly."""
    if click.get_current_context().params.get("local") and not os.environ.get("KB_SOURCE_ALLOW_HOSTS"):
        from faqbot import settings

        os.environ["KB_SOURCE_ALLOW_HOSTS"] = LOCAL_SOURCE_HOSTS
        settings.reset()


def _registry() -> Any:
    from faqbot import aws
    from faqbot.bots.registry import BotRegistry
    from faqbot.settings import ingest_settings

    return BotRegistry(aws.dynamodb().Table(ingest_settings().kb_table_name), cache_seconds=0)


def _bot(bot_id: str) -> Any:
    from faqbot.bots.registry import UnknownBot

    try:
        return _registry().get(bot_id)
    except UnknownBot as exc:
        raise click.ClickException(f"no bot {bot_id!r} here (faqbot bots list)") from exc


@kb_group.command("connect")
@click.argument("bot_id")
@click.argument("url")
@click.option("--no-sync", is_flag=True, help="Only save the link; the next scheduled sync fetches it.")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for the report.")
@aws_target
def connect_command(bot_id: str, url: str, no_sync: bool, timeout: float) -> None:
    """Make BOT_ID's knowledge base follow URL (a Google Sheets link shared "anyone with the link", or HTTPS CSV/XLSX).

    The sheet is checked every 15 minutes; this also syncs it now (unless --no-sync) and prints the report.
    """
    from faqbot.kb.source import SourceError, parse_source_link

    _allow_local_sources()
    try:
        link = parse_source_link(url)
    except SourceError as exc:
        raise click.BadParameter(exc.message(), param_hint="URL") from exc
    config = _bot(bot_id).model_copy(update={"kb_source_url": link.url})
    _registry().put(config)
    where = f"sheet {link.sheet_id}" + (f", tab gid={link.gid}" if link.gid else "") if link.is_google else link.url
    click.echo(f"{bot_id}: knowledge base now follows {where}", err=True)
    click.echo(f"  downloads {link.fetch_url}", err=True)
    if not no_sync:
        _run_sync(config, force=True, timeout=timeout, as_json=False)


@kb_group.command("disconnect")
@click.argument("bot_id")
@aws_target
def disconnect_command(bot_id: str) -> None:
    """Stop syncing BOT_ID's knowledge base from its sheet (the live version stays)."""
    config = _bot(bot_id)
    _registry().put(config.model_copy(update={"kb_source_url": None}))
    click.echo(f"{bot_id}: no longer follows {config.kb_source_url or 'any sheet'}; the live knowledge base stays")


@kb_group.command("sync")
@click.argument("bot_id")
@click.option("--force", is_flag=True, help="Upload the sheet even if it has not changed since the last sync.")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for the report.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@aws_target
def sync_command(bot_id: str, force: bool, timeout: float, as_json: bool) -> None:
    """Fetch BOT_ID's connected sheet now; a changed one goes through the ordinary upload check and activation.

    Exit status: 0 activated or unchanged, 1 not activated (the sheet could not be read or has errors;
    the old version stays live), 2 no report in time.
    """
    _allow_local_sources()
    config = _bot(bot_id)
    if not config.kb_source_url:
        raise click.ClickException(f"{bot_id} has no connected sheet: faqbot kb connect {bot_id} <link>")
    _run_sync(config, force=force, timeout=timeout, as_json=as_json)


def _run_sync(config: Any, *, force: bool, timeout: float, as_json: bool) -> None:
    from faqbot import aws
    from faqbot.kb.sync import KbSync
    from faqbot.settings import ingest_settings

    settings = ingest_settings()
    sync = KbSync.from_settings(settings)
    try:
        result = sync.sync(config, force=force)
    finally:
        sync.close()
    bot_id = config.bot_id
    if result.status == "unchanged":
        click.echo(f"{bot_id}: the sheet has not changed since the last sync; nothing to do")
        raise SystemExit(0)
    if result.status == "failed":
        assert result.report is not None
        report = result.report
        click.echo(json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2) if as_json else report.summary())
        raise SystemExit(1)
    assert result.upload is not None and result.upload_id is not None
    click.echo(f"{bot_id}: the sheet changed; uploaded s3://{settings.kb_bucket_name}/{result.upload.key}", err=True)
    click.echo("waiting for the report…", err=True)
    ingested = _wait_for_report(
        aws.client("s3"), settings.kb_bucket_name, result.upload.report_key, result.upload_id, timeout
    )
    if ingested is None:
        click.echo(f"no report at s3://{settings.kb_bucket_name}/{result.upload.report_key} after {timeout:.0f} s")
        raise SystemExit(2)
    click.echo(json.dumps(ingested.to_json_dict(), ensure_ascii=False, indent=2) if as_json else ingested.summary())
    raise SystemExit(0 if ingested.activation and ingested.activation.status == "activated" else 1)
