"""`faqbot bots create|list|enable|disable`: client bots and their webhook secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from faqbot.cli import cli
from faqbot.cli._common import aws_target
from faqbot.config import Platform

_LOCAL_API = "http://127.0.0.1:3000"


@cli.group("bots")
def bots_group() -> None:
    """Client bots: create one (config + webhook secret), list them, switch one on or off."""


def _registry() -> Any:
    from faqbot import aws
    from faqbot.bots.registry import BotRegistry
    from faqbot.settings import webhook_settings

    return BotRegistry(aws.dynamodb().Table(webhook_settings().kb_table_name), cache_seconds=0)


@bots_group.command("create")
@click.argument("bot_id")
@click.option(
    "--platform",
    type=click.Choice([Platform.MANYCHAT.value, Platform.SMARTSENDER.value]),
    required=True,
    help="Where the bot's flows run.",
)
@click.option("--token", default=None, help="Webhook secret to use (default: a new random one).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Bot settings (JSON or YAML): texts, thresholds, pause timeout, telegram, crm, ...",
)
@click.option("--force", is_flag=True, help="Replace an existing bot's config and secret.")
@click.option("--api-url", default=None, help="The deployed API's base URL, to print the full webhook URL.")
@aws_target
def create_command(
    bot_id: str, platform: str, token: str | None, config_file: Path | None, force: bool, api_url: str | None
) -> None:
    """Create BOT_ID: store its config and webhook secret, print the URL and header for the flow."""
    import os

    from pydantic import ValidationError

    from faqbot.bots.admin import BotExists, create_bot, load_config_file
    from faqbot.secrets import SecretStore
    from faqbot.settings import webhook_settings

    try:
        settings = load_config_file(config_file) if config_file else None
        created = create_bot(
            registry=_registry(),
            secret_store=SecretStore(),
            stage=webhook_settings().stage,
            bot_id=bot_id,
            platform=Platform(platform),
            token=token,
            settings=settings,
            overwrite=force,
        )
    except BotExists as exc:
        raise click.ClickException(f"{exc}; use --force to replace it") from exc
    except (ValidationError, ValueError) as exc:
        raise click.ClickException(f"invalid bot config: {exc}") from exc
    base = api_url or (_LOCAL_API if "127.0.0.1" in os.environ.get("AWS_ENDPOINT_URL", "") else "<API URL>")
    click.echo(f"bot {bot_id} created ({platform})")
    click.echo(f"  webhook URL: {base.rstrip('/')}/bots/{bot_id}/{platform}")
    click.echo(f"  header:      Authorization: Bearer {created.secret}")
    click.echo(f"  secret kept in SSM parameter {created.secret_name}")


@bots_group.command("list")
@aws_target
def list_command() -> None:
    """Every configured bot: id, platform, on/off, language, name."""
    configs = _registry().list()
    if not configs:
        click.echo("no bots yet: faqbot bots create BOT_ID --platform manychat")
        return
    for config in configs:
        state = "on " if config.enabled else "off"
        click.echo(
            f"{config.bot_id:<24} {config.platform.value:<12} {state} {config.language.value}  "
            f"{config.display_name or ''}".rstrip()
        )


@bots_group.command("disable")
@click.argument("bot_id")
@aws_target
def disable_command(bot_id: str) -> None:
    """Stop BOT_ID for everyone: it stays silent and flows see status `disabled`."""
    _switch(bot_id, enabled=False)


@bots_group.command("enable")
@click.argument("bot_id")
@aws_target
def enable_command(bot_id: str) -> None:
    """Let BOT_ID answer again."""
    _switch(bot_id, enabled=True)


def _switch(bot_id: str, *, enabled: bool) -> None:
    from faqbot.bots.admin import set_enabled
    from faqbot.bots.registry import UnknownBot

    try:
        set_enabled(_registry(), bot_id, enabled)
    except UnknownBot as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"bot {bot_id} {'enabled' if enabled else 'disabled'} (running Lambdas notice within 30 s)")
