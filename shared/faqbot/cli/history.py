"""`faqbot history link|rotate-key`: transcript links for managers, and the key that signs them."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from faqbot.cli import cli
from faqbot.cli._common import aws_target

LOCAL_API_URL = "http://127.0.0.1:3000"

if TYPE_CHECKING:
    from faqbot.history.links import SigningKeys


@cli.group("history")
def history_group() -> None:
    """Signed transcript pages (/history/<token>) managers open from notifications and CRM tasks."""


def _target() -> tuple[bool, str | None]:
    """Whether this command runs with --local, and its --stack (the `aws_target` options)."""
    params = click.get_current_context().params
    return bool(params.get("local")), params.get("stack")


def _stack_outputs(stack: str) -> dict[str, str]:
    from faqbot import aws

    described = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def _key_param(explicit: str | None) -> str:
    """--key-param, else the stack's output, else HISTORY_SIGNING_KEY_PARAM, else the template's name for STAGE."""
    from faqbot.history.links import signing_key_param_name
    from faqbot.settings import history_settings

    if explicit:
        return explicit
    _, stack = _target()
    if stack and (name := _stack_outputs(stack).get("HistorySigningKeyParam")):
        return name
    settings = history_settings()
    return settings.history_signing_key_param or signing_key_param_name(settings.stage)


def _base_url(explicit: str | None) -> str:
    """--base-url, else the stack's PublicBaseUrl output, else PUBLIC_BASE_URL, else the local API for --local."""
    local, stack = _target()
    if explicit:
        return explicit
    if stack and (url := _stack_outputs(stack).get("PublicBaseUrl")):
        return url
    if url := os.environ.get("PUBLIC_BASE_URL"):
        return url
    if local:
        return LOCAL_API_URL
    raise click.UsageError("no base URL: pass --base-url, --stack NAME or set PUBLIC_BASE_URL")


def _secret_store() -> Any:
    from faqbot.secrets import SecretStore

    return SecretStore()


class LinkSigning(NamedTuple):
    """What signing a link for a bot takes: where it points, the keys, and for how long."""

    base_url: str
    keys: SigningKeys
    duration: timedelta


def link_signing(bot_id: str, ttl: str, base_url: str | None, key_param: str | None) -> LinkSigning:
    """The options of a `link` command, checked (`--ttl`, the base URL, BOT_ID exists, the key loads)."""
    from faqbot import aws
    from faqbot.bots.registry import BotRegistry, UnknownBot
    from faqbot.history.links import BadSigningKey, load_signing_keys, parse_duration
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
    return LinkSigning(url, keys, duration)


@history_group.command("link")
@click.argument("bot_id")
@click.argument("contact_id")
@click.option("--ttl", default="7d", show_default=True, help="How long the link works: 90m, 12h, 7d, 2w.")
@click.option("--base-url", default=None, help="Public base URL of the API the links point at.")
@click.option("--key-param", default=None, help="SSM parameter of the signing key (default: the stage's).")
@aws_target
def link_command(bot_id: str, contact_id: str, ttl: str, base_url: str | None, key_param: str | None) -> None:
    """Print a fresh signed link to the transcript of CONTACT_ID with BOT_ID.

    The base URL is --base-url, else the stack's PublicBaseUrl output (--stack), else PUBLIC_BASE_URL,
    else http://127.0.0.1:3000 with --local.
    """
    from faqbot import aws
    from faqbot.conversation.store import ConversationStore
    from faqbot.history.links import history_link
    from faqbot.settings import history_settings

    signing = link_signing(bot_id, ttl, base_url, key_param)
    conversations = ConversationStore(aws.client("dynamodb"), history_settings().conversations_table_name)
    if conversations.get_contact(bot_id, contact_id) is None:
        click.echo(f"warning: no stored conversation for contact {contact_id!r} of bot {bot_id!r} yet", err=True)
    click.echo(history_link(signing.base_url, signing.keys, bot_id, contact_id, signing.duration))


@history_group.command("rotate-key")
@click.option(
    "--grace",
    default="7d",
    show_default=True,
    help="How long links signed with the old key keep working (at least the longest link TTL).",
)
@click.option("--key-param", default=None, help="SSM parameter of the signing key (default: the stage's).")
@aws_target
def rotate_key_command(grace: str, key_param: str | None) -> None:
    """Sign links with a new random key; the old one keeps verifying for --grace. Creates the key if missing."""
    from faqbot.history.links import BadSigningKey, SigningKeys, load_signing_keys, parse_duration
    from faqbot.secrets import SecretNotFound

    try:
        grace_period = parse_duration(grace)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--grace") from exc
    name = _key_param(key_param)
    store = _secret_store()
    new_key = SigningKeys.generate_key()
    try:
        keys = load_signing_keys(name, store, max_age=0)
    except SecretNotFound:
        store.put(name, SigningKeys(new_key).to_parameter_value())
        click.echo(f"created the signing key {name}")
        return
    except BadSigningKey as exc:
        raise click.ClickException(f"{name} holds no valid key ({exc}); fix or delete it first") from exc
    rotated = keys.rotated(new_key, grace=grace_period, now=datetime.now(UTC))
    store.put(name, rotated.to_parameter_value())
    assert rotated.previous_valid_until is not None
    until = rotated.previous_valid_until.strftime("%Y-%m-%d %H:%M UTC")
    click.echo(f"rotated {name}: new links use the new key; links signed before keep working until {until}")
