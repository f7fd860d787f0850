"""`faqbot playground link`: the signed link a client opens to try their bot (`<api>/try/<token>`)."""

from __future__ import annotations

import click

from faqbot.cli import cli
from faqbot.cli._common import aws_target
from faqbot.cli.history import _base_url, _key_param, _secret_store

DEFAULT_TTL = "7d"


@cli.group("playground")
def playground_group() -> None:
    """The client's playground page (/try/<token>): try the bot as customers get it, with no side effects."""


def playground_url(bot_id: str, ttl: str, base_url: str | None, key_param: str | None) -> str:
    """A fresh playground link for BOT_ID (same signing key and rotation as transcript links)."""
    from faqbot import aws
    from faqbot.bots.registry import BotRegistry, UnknownBot
    from faqbot.history.links import BadSigningKey, load_signing_keys, parse_duration, playground_link
    from faqbot.secrets import SecretNotFound
    from faqbot.settings import history_settings

    try:
        duration = parse_duration(ttl)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--ttl") from exc
    url = _base_url(base_url)
    name = _key_param(key_param)
    try:
        BotRegistry(aws.dynamodb().Table(history_settings().kb_table_name), cache_seconds=0).get(bot_id)
    except UnknownBot as exc:
        raise click.ClickException(f"no bot {bot_id!r} here (faqbot bots list)") from exc
    try:
        keys = load_signing_keys(name, _secret_store(), max_age=0)
    except SecretNotFound as exc:
        raise click.ClickException(
            f"the signing key {name} does not exist: create it with `faqbot history rotate-key`"
        ) from exc
    except BadSigningKey as exc:
        raise click.ClickException(f"the signing key {name} is not valid: {exc}") from exc
    return playground_link(url, keys, bot_id, duration)


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
