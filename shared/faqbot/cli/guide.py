"""`faqbot bots guide`: the instruction an agency hands the client, filled with this bot's real values."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from faqbot.cli._common import aws_target
from faqbot.cli.bots import bots_group
from faqbot.cli.playground import playground_url
from faqbot.config import Language

GUIDE_TTL = "30d"


@bots_group.command("guide")
@click.argument("bot_id")
@click.option(
    "--lang",
    "language",
    type=click.Choice([language.value for language in Language]),
    default=None,
    help="The client's language (default: the bot's).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write it: *.html (a standalone page) or *.md (Markdown). Default: guide-<bot_id>-<lang>.html",
)
@click.option("--ttl", default=GUIDE_TTL, show_default=True, help="How long the playground link in it works.")
@click.option("--sync-minutes", default=15, show_default=True, help="How often the connected sheet is checked.")
@click.option("--base-url", default=None, help="Public base URL of the API (for the playground link).")
@click.option("--key-param", default=None, help="SSM parameter of the link signing key (default: the stage's).")
@aws_target
def guide_command(
    bot_id: str,
    language: str | None,
    out: Path | None,
    ttl: str,
    sync_minutes: int,
    base_url: str | None,
    key_param: str | None,
) -> None:
    """Write BOT_ID's client guide: how to try the bot, update its knowledge base, stop and restart it.

    Filled with the bot's playground link (fresh, valid for --ttl), its connected sheet or the file columns,
    the exact ManyChat tags / SmartSender variables its configuration uses, and what managers receive.
    """
    from faqbot.cli.kb_sync import _bot
    from faqbot.guide.render import guide_facts, render_guide
    from faqbot.history.links import parse_duration

    config = _bot(bot_id)
    lang = Language(language) if language else config.language
    url = playground_url(bot_id, ttl, base_url, key_param)
    expires_at = datetime.now(UTC) + parse_duration(ttl)
    facts = guide_facts(config, lang, playground_url=url, playground_expires_at=expires_at, sync_minutes=sync_minutes)
    path = out or Path(f"guide-{bot_id}-{lang.value}.html")
    fmt = "md" if path.suffix.lower() in (".md", ".markdown") else "html"
    path.write_text(render_guide(facts, lang, fmt), encoding="utf-8")
    click.echo(f"wrote {path} ({lang.value}, {'Markdown' if fmt == 'md' else 'HTML'}) for {bot_id}")
