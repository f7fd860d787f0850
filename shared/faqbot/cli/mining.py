"""`faqbot mine` (call transcripts → draft FAQ sheet) and `faqbot report unanswered` (what the bot handed off)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from faqbot.cli import cli
from faqbot.cli._common import aws_target

_LANGUAGES = click.Choice(["ru", "uk", "en"])


@cli.command()
@click.argument("transcripts_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The draft sheet to write (.xlsx or .csv).",
)
@click.option("--lang", type=_LANGUAGES, default="ru", show_default=True, help="Language of the sheet's headers.")
@click.option(
    "--groups",
    "groups_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write every group, ranked, with all its phrasings and calls, as JSON.",
)
def mine(transcripts_dir: Path, out: Path, lang: str, groups_path: Path | None) -> None:
    """Find the questions customers ask most in call transcripts and write a draft FAQ sheet.

    TRANSCRIPTS_DIR holds one call per file: plain text (speaker labels optional), Amazon Transcribe
    JSON, or SRT/VTT subtitles. Fill in the answer column and upload the sheet as the bot's KB.
    """
    from faqbot.config import Language
    from faqbot.mining.draft import draft_bytes, groups_document
    from faqbot.mining.pipeline import mine_directory

    if out.suffix.casefold() not in (".xlsx", ".csv"):
        raise click.BadParameter("the draft is written as .xlsx or .csv", param_hint="--out")
    started = time.perf_counter()
    result = mine_directory(transcripts_dir)
    if result.transcripts == 0:
        raise click.ClickException(f"no transcripts (.txt, .json, .srt, .vtt) in {transcripts_dir}")
    out.write_bytes(draft_bytes(result.groups, out.name, Language(lang)))
    if groups_path is not None:
        groups_path.write_text(
            json.dumps(groups_document(result.groups), ensure_ascii=False, indent=1), encoding="utf-8"
        )
    elapsed = time.perf_counter() - started
    click.echo(
        f"{result.transcripts} calls, {len(result.questions)} questions, {len(result.groups)} groups "
        f"in {elapsed:.1f} s → {out}"
    )
    for number, group in enumerate(result.groups[:10], start=1):
        click.echo(f"{number:3}. {group.calls:4} × {group.question}")


@cli.group("report")
def report_group() -> None:
    """Reports on a live bot."""


@report_group.command("unanswered")
@click.argument("bot_id")
@click.option("--since", default="7d", show_default=True, help="How far back: 12h, 7d, 2w.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report here (.xlsx or .csv); without it, print it.",
)
@click.option("--lang", type=_LANGUAGES, default=None, help="Report language (default: the bot's).")
@click.option("--base-url", default=None, help="Public API base URL, for signed links to the conversations.")
@aws_target
def unanswered_command(bot_id: str, since: str, out: Path | None, lang: str | None, base_url: str | None) -> None:
    """Questions BOT_ID handed off (no answer, or a failed "Did you mean…"), grouped and ranked.

    Each group says "new entry" or which existing entry to add it to as a phrasing.
    """
    from faqbot import aws
    from faqbot.bots.registry import BotRegistry, UnknownBot
    from faqbot.config import Language
    from faqbot.conversation.store import ConversationStore
    from faqbot.kb.store import KnowledgeBaseStore
    from faqbot.mining.unanswered import action_text, build_report, load_unanswered, parse_since, report_bytes
    from faqbot.settings import history_settings

    now = datetime.now(UTC)
    try:
        start = parse_since(since, now)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    settings = history_settings()
    kb_table = aws.dynamodb().Table(settings.kb_table_name)
    try:
        bot = BotRegistry(kb_table, cache_seconds=0).get(bot_id)
    except UnknownBot as exc:
        raise click.ClickException(f"no bot {bot_id!r} here (faqbot bots list)") from exc
    language = Language(lang) if lang else bot.language
    kb = KnowledgeBaseStore(kb_table)
    active = kb.active(bot_id)
    entries = kb.load_entries(bot_id, active.version) if active else []
    store = ConversationStore(aws.client("dynamodb"), settings.conversations_table_name)
    messages = load_unanswered(store, bot_id, start)
    rows = build_report(messages, entries, thresholds=bot.thresholds, link=_link_maker(bot_id, base_url))
    if out is not None:
        if out.suffix.casefold() not in (".xlsx", ".csv"):
            raise click.BadParameter("the report is written as .xlsx or .csv", param_hint="--out")
        out.write_bytes(report_bytes(rows, out.name, language))
        click.echo(f"{len(messages)} unanswered messages, {len(rows)} groups → {out}")
        return
    click.echo(f"{len(messages)} unanswered messages since {start:%Y-%m-%d %H:%M} UTC, {len(rows)} groups")
    for number, row in enumerate(rows, start=1):
        click.echo(f"{number:3}. {row.group.calls:4} × {row.group.question}  [{action_text(row, language)}]")
        click.echo(f"           {row.link}")


def _link_maker(bot_id: str, base_url: str | None) -> Callable[[str], str]:
    """Signed history links when a base URL and the signing key are at hand; else the command that makes one."""

    from faqbot.mining.unanswered import link_command

    def command(contact_id: str) -> str:
        return link_command(bot_id, contact_id)

    url = base_url or os.environ.get("PUBLIC_BASE_URL")
    if not url:
        return command
    from faqbot.cli.history import link_signing
    from faqbot.history.links import history_link

    try:
        signing = link_signing(bot_id, "14d", url, None)
    except Exception as exc:  # any failure here only costs the links, never the report
        message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
        click.echo(f"warning: no signed links ({message}); printing the command that makes one instead", err=True)
        return command

    def link(contact_id: str) -> str:
        return history_link(signing.base_url, signing.keys, bot_id, contact_id, signing.duration)

    return link
