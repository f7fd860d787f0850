"""`faqbot playground link`: the signed link a client opens to try their bot (`<api>/try/<token>`)."""

from __future__ import annotations

import click

from faqbot.cli import cli
from faqbot.cli._common import aws_target
from faqbot.cli.history import link_signing

DEFAULT_TTL = "7d"


@cli.group("playground")
def playground_group() -> None:
    """The client's playground page (/try/<token>): try the bot as customers get it, with no side effects."""


def playground_url(bot_id: str, ttl: str, base_url: str | None, key_param: str | None) -> str:
    """A fresh playground link for BOT_ID (same signing key and rotation as transcript links)."""
    from faqbot.history.links import playground_link

    signing = link_signing(bot_id, ttl, base_url, key_param)
    return playground_link(signing.base_url, signing.keys, bot_id, signing.duration)


@playground_group.command("link")
@click.argument("bot_id")
@click.option("--ttl", default=DEFAULT_TTL, show_default=True, help="How long the link works: 90m, 12h, 7d, 2w.")
@click.option("--base-url", default=None, help="Public base URL of the API the link points at.")
@click.option("--key-param", default=None, help="SSM parameter of the signing key (default: the stage's).")
@aws_target
def link_command(bot_id: str, ttl: str, base_url: str | None, key_param: str | None) -> None:
    """Print a signed, expiring link to BOT_ID's playground, to send to the client.

    Anyone with the link can try the bot until it expires (nothing reaches managers, the CRM or the
    transcripts). The base URL is --base-url, else the stack's PublicBaseUrl output (--stack), else
    PUBLIC_BASE_URL, else http://127.0.0.1:3000 with --local.
    """
    click.echo(playground_url(bot_id, ttl, base_url, key_param))
