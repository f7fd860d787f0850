"""`faqbot contacts resume|pause|show`: the bot's state for one customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click

from faqbot.cli import cli
from faqbot.cli._common import aws_target


@cli.group("contacts")
def contacts_group() -> None:
    """One customer of a bot: stop or restart the bot for them, see their state."""


def _store() -> Any:
    from faqbot import aws
    from faqbot.conversation.store import ConversationStore
    from faqbot.settings import webhook_settings

    return ConversationStore(aws.client("dynamodb"), webhook_settings().conversations_table_name)


@contacts_group.command("resume")
@click.argument("bot_id")
@click.argument("contact_id")
@click.option("--by", default="cli", show_default=True, help="Who resumed it (shown in the transcript).")
@aws_target
def resume_command(bot_id: str, contact_id: str, by: str) -> None:
    """Let BOT_ID answer CONTACT_ID again (after a handoff or a pause)."""
    if _store().resume(bot_id, contact_id, by=by):
        click.echo(f"bot {bot_id} resumed for contact {contact_id}")
    else:
        click.echo(f"bot {bot_id} was not paused for contact {contact_id}; nothing to do")


@contacts_group.command("pause")
@click.argument("bot_id")
@click.argument("contact_id")
@click.option("--minutes", type=int, default=None, help="Resume by itself after this long (default: never).")
@click.option("--by", default="cli", show_default=True, help="Who paused it (shown in the transcript).")
@aws_target
def pause_command(bot_id: str, contact_id: str, minutes: int | None, by: str) -> None:
    """Keep BOT_ID silent for CONTACT_ID (a manager is talking to them)."""
    until = datetime.now(UTC) + timedelta(minutes=minutes) if minutes else None
    _store().pause(bot_id, contact_id, until=until, reason="manual", by=by)
    click.echo(
        f"bot {bot_id} paused for contact {contact_id}" + (f" until {until:%Y-%m-%d %H:%M} UTC" if until else "")
    )


@contacts_group.command("show")
@click.argument("bot_id")
@click.argument("contact_id")
@click.option("--messages", "count", type=int, default=10, show_default=True, help="How many last messages.")
@aws_target
def show_command(bot_id: str, contact_id: str, count: int) -> None:
    """CONTACT_ID's state for BOT_ID and the last messages."""
    store = _store()
    contact = store.get_contact(bot_id, contact_id)
    if contact is None:
        raise click.ClickException(f"bot {bot_id} has no contact {contact_id}")
    now = datetime.now(UTC)
    state = "paused" if contact.is_paused(now) else "active"
    if contact.is_paused(now):
        state += f" ({contact.paused_reason}, until {contact.paused_until or 'resumed'})"
    click.echo(f"{contact.name or '?'} [{contact.channel or '?'}] {state}; {contact.message_count} messages")
    for message in reversed(store.messages(bot_id, contact_id, limit=count, newest_first=True)):
        label = message.kind.value if message.kind else message.role.value
        click.echo(f"  {message.at:%Y-%m-%d %H:%M:%S} {label:<9} {(message.text or message.detail or '')[:100]}")
