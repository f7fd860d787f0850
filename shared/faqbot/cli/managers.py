"""`faqbot notify test|set-webhook` and `faqbot crm test`: what a person setting up a client's managers runs first.

Each command reads the bot's config and secrets where the functions read them, calls the real API
(Telegram, Kommo, the CRM webhook) once or twice, and prints what works, or exits non-zero with
the API's own words and what to fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from faqbot.cli import cli
from faqbot.cli._common import aws_target

if TYPE_CHECKING:
    from faqbot.config import BotConfig
    from faqbot.secrets import SecretStore

TIMEOUT_SECONDS = 10.0
TELEGRAM_UPDATES = ["callback_query", "message"]  # the Resume button; managers' replies to notifications


def _bot(bot_id: str) -> BotConfig:
    from faqbot import aws
    from faqbot.bots.registry import BotRegistry, UnknownBot
    from faqbot.settings import notify_settings

    try:
        return BotRegistry(aws.dynamodb().Table(notify_settings().kb_table_name), cache_seconds=0).get(bot_id)
    except UnknownBot as exc:
        raise click.ClickException(f"no bot {bot_id!r}: create it first (faqbot bots create)") from exc


def _secret(store: SecretStore, name: str, what: str) -> str:
    from faqbot.secrets import SecretNotFound

    try:
        return store.get(name, max_age=0)
    except SecretNotFound as exc:
        raise click.ClickException(
            f"the {what} is not stored: aws ssm put-parameter --type SecureString --name {name} --value '<{what}>'"
        ) from exc


def _http() -> Any:
    import httpx

    return httpx.Client(timeout=TIMEOUT_SECONDS)


# ---------------------------------------------------------------------------------------------- notify


@cli.group("notify")
def notify_group() -> None:
    """The managers' Telegram admin chat: check it, connect the Resume button."""


def _telegram(bot: BotConfig, store: SecretStore) -> Any:
    from faqbot.telegram.client import TelegramClient

    if bot.telegram.chat_id is None or not bot.telegram.bot_token_param:
        raise click.ClickException(
            f"bot {bot.bot_id} has no admin chat: set telegram.chat_id and telegram.bot_token_param in its config"
        )
    token = _secret(store, bot.telegram.bot_token_param, "Telegram bot token")
    return TelegramClient(_http(), token, base_url=bot.telegram.api_base_url)


@notify_group.command("test")
@click.argument("bot_id")
@aws_target
def notify_test_command(bot_id: str) -> None:
    """Check BOT_ID's Telegram token and admin chat, and post a test message there."""
    import html

    from faqbot.notify.service import refusal_reason
    from faqbot.secrets import SecretStore
    from faqbot.telegram.client import TelegramError, TelegramPermanentError

    bot = _bot(bot_id)
    client = _telegram(bot, SecretStore())
    chat_id = bot.telegram.chat_id
    assert chat_id is not None
    try:
        me = client.get_me()
        click.echo(f"✓ token: the bot is @{me.get('username', '?')}")
        chat = client.get_chat(chat_id)
        topic = f", topic {bot.telegram.message_thread_id}" if bot.telegram.message_thread_id is not None else ""
        click.echo(
            f"✓ admin chat {chat_id}: {chat.get('title') or chat.get('username') or '?'} ({chat.get('type')}){topic}"
        )
        name = html.escape(bot.display_name or bot.bot_id)
        sent = client.send_message(
            chat_id,
            f"✅ <b>faqbot test</b>\nCustomers the bot <b>{name}</b> hands over will be announced here.",
            message_thread_id=bot.telegram.message_thread_id,
        )
    except TelegramPermanentError as exc:
        raise click.ClickException(refusal_reason(bot, chat_id, exc)) from exc
    except TelegramError as exc:
        raise click.ClickException(f"Telegram did not answer properly, try again: {exc}") from exc
    click.echo(f"✓ test message {sent.message_id} posted: notifications of bot {bot_id} will arrive")


@notify_group.command("set-webhook")
@click.argument("bot_id")
@click.option("--api-url", required=True, help="The deployed API's base URL (https://...), e.g. the stack's ApiUrl.")
@aws_target
def set_webhook_command(bot_id: str, api_url: str) -> None:
    """Make Telegram send BOT_ID's button presses to POST <api-url>/telegram/BOT_ID, with a secret token.

    The secret is kept in the parameter named by telegram.webhook_secret_param (made and stored
    here if the config names none or the parameter does not exist yet).
    """
    import secrets as random_secrets

    from faqbot import aws
    from faqbot.bots.registry import BotRegistry
    from faqbot.secrets import SecretNotFound, SecretStore
    from faqbot.settings import notify_settings
    from faqbot.telegram.client import TelegramError

    bot = _bot(bot_id)
    store = SecretStore()
    client = _telegram(bot, store)
    param = bot.telegram.webhook_secret_param
    if not param:
        param = f"/faqbot/{notify_settings().stage}/bots/{bot_id}/telegram-webhook-secret"
        bot = bot.model_copy(update={"telegram": bot.telegram.model_copy(update={"webhook_secret_param": param})})
        BotRegistry(aws.dynamodb().Table(notify_settings().kb_table_name)).put(bot)
        click.echo(f"✓ config: telegram.webhook_secret_param = {param}")
    try:
        secret = store.get(param, max_age=0)
    except SecretNotFound:
        secret = random_secrets.token_urlsafe(32)  # Telegram allows A-Z a-z 0-9 _ -
        store.put(param, secret)
        click.echo(f"✓ new secret token stored in {param}")
    url = f"{api_url.rstrip('/')}/telegram/{bot_id}"
    try:
        client.set_webhook(url, secret_token=secret, allowed_updates=TELEGRAM_UPDATES)
        info = client.get_webhook_info()
    except TelegramError as exc:
        raise click.ClickException(f"Telegram refused the webhook: {exc}") from exc
    click.echo(f"✓ Telegram sends button presses to {info.get('url') or url}")


# ---------------------------------------------------------------------------------------------- crm


@cli.group("crm")
def crm_group() -> None:
    """The bot's CRM (Kommo, or a generic webhook): check the credentials and ids."""


@crm_group.command("test")
@click.argument("bot_id")
@aws_target
def crm_test_command(bot_id: str) -> None:
    """Check BOT_ID's CRM: Kommo token, pipeline and stage ids; or a signed ping to its webhook."""
    from faqbot.crm.adapter import CrmError
    from faqbot.secrets import SecretStore

    bot = _bot(bot_id)
    store = SecretStore()
    try:
        if bot.crm.kommo is not None:
            _test_kommo(bot, store)
        elif bot.crm.webhook is not None:
            _test_webhook(bot, store)
        else:
            raise click.ClickException(f"bot {bot_id} has no CRM: set crm.kommo or crm.webhook in its config")
    except CrmError as exc:
        raise click.ClickException(str(exc)) from exc


def _test_kommo(bot: BotConfig, store: SecretStore) -> None:
    from faqbot.crm.kommo import KommoClient, pipeline_problems

    settings = bot.crm.kommo
    assert settings is not None
    token = _secret(store, settings.token_param, "Kommo long-lived token")
    client = KommoClient(_http(), settings.base_url, token, max_requests_per_second=settings.max_requests_per_second)
    pipelines = client.pipelines()
    click.echo(f"✓ token: {settings.base_url} answers ({len(pipelines)} pipelines)")
    for pipeline in pipelines:
        mark = (
            "→" if pipeline.id == settings.pipeline_id or (settings.pipeline_id is None and pipeline.is_main) else " "
        )
        stages = ", ".join(f"{status.id} {status.name!r}" for status in pipeline.statuses)
        click.echo(
            f"  {mark} pipeline {pipeline.id} {pipeline.name!r}{' (main)' if pipeline.is_main else ''}: {stages}"
        )
    problems = pipeline_problems(pipelines, settings)
    if problems:
        raise click.ClickException("fix crm.kommo in the bot's config: " + "; ".join(problems))
    click.echo(
        f"✓ ids: pipeline {settings.pipeline_id or 'main'}, new leads in stage {settings.status_id or 'first'}, "
        f"handoff stage {settings.handoff_status_id or '(not moved)'}"
    )


def _test_webhook(bot: BotConfig, store: SecretStore) -> None:
    import json

    from faqbot.crm.webhook import WebhookClient, ping_payload

    settings = bot.crm.webhook
    assert settings is not None
    secret = _secret(store, settings.secret_param, "CRM webhook signing secret")
    answer = WebhookClient(_http(), settings.url, secret, timeout=settings.timeout_seconds).post(ping_payload(bot))
    shown = json.dumps(answer, ensure_ascii=False)[:200] if answer is not None else "no body"
    click.echo(f"✓ {settings.url} accepted a signed ping ({shown})")
