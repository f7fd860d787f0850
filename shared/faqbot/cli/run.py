"""`faqbot run`: the whole product on this machine, until Ctrl-C."""

from __future__ import annotations

import io
import json
import shlex
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

import click

from faqbot.cli import cli

if TYPE_CHECKING:
    from faqbot.local.stack import LocalStack

# A ManyChat External Request body: the contact's Full Contact Data, as the flow sends it.
_SAMPLE_MANYCHAT_BODY = {
    "id": "1515862162",
    "key": "user:1515862162",
    "page_id": "210878508779055",
    "status": "active",
    "first_name": "Олена",
    "last_name": "",
    "name": "Олена",
    "ig_username": "olena.test",
    "ig_id": 17841400000000000,
    "live_chat_url": "https://app.manychat.com/fb1001816/chat/1515862162",
    "last_input_text": "Який у вас графік роботи?",
    "custom_fields": {},
}


@cli.command()
@click.option("--port", default=3000, show_default=True, help="Port of the local HTTP API.")
@click.option(
    "--emulator-port",
    envvar="FAQBOT_EMULATOR_PORT",
    default=4566,
    show_default=True,
    help="Port of the AWS emulator (env FAQBOT_EMULATOR_PORT); `faqbot ... --local` commands use it.",
)
@click.option("--no-demo", is_flag=True, help="Do not create the demo bot and its sample KB.")
def run(port: int, emulator_port: int, no_demo: bool) -> None:
    """Run the local stack: AWS emulator, HTTP API, queues and S3 events, and a demo bot.

    Everything listens on 127.0.0.1 only. Ctrl-C stops all of it.
    """
    from faqbot.local.emulator import PortInUse
    from faqbot.local.stack import LocalStack

    stop = threading.Event()
    _interrupt_on_signals()
    # The functions' logs, the stack's lines and the outbox interleave in the order they happen.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    stack = LocalStack(api_port=port, emulator_port=emulator_port, demo=not no_demo)
    try:
        click.echo(f"Starting the local stack (AWS emulator on 127.0.0.1:{emulator_port})...")
        stack.start()
        _print_banner(stack)
        stop.wait()
    except KeyboardInterrupt:
        click.echo("\nStopping...")
    except PortInUse as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        # A second Ctrl-C must not interrupt the shutdown half-way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
    click.echo("Stopped.")


def _interrupt_on_signals() -> None:
    """SIGINT and SIGTERM stop the stack the way Ctrl-C does.

    Set explicitly: a process started in the background by a shell inherits SIGINT ignored.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _print_banner(stack: LocalStack) -> None:
    lines = [
        "",
        "faqbot local stack is up",
        f"  HTTP API    {stack.api_url}",
        f"  health      {stack.api_url}/health",
        f"  emulator    {stack.emulator.url}   (`faqbot <command> --local` talks to it)",
    ]
    demo = stack.demo_bot
    if demo is not None:
        auth = f"Authorization: Bearer {demo.secret}"
        body = json.dumps(_SAMPLE_MANYCHAT_BODY, ensure_ascii=False)
        curl = (
            f"curl -sS -X POST {demo.webhook_url} -H {shlex.quote(auth)} "
            f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
        )
        lines += [
            "",
            f"  demo bot    {demo.bot_id}: KB version {demo.kb.version} active, {demo.kb.entry_count} entries",
            f"  webhook     {demo.webhook_url}",
            f"  playground  {demo.playground_url or '(no HistoryPageFunction in the template)'}",
            f"  secret      {demo.secret}",
            f"  bot health  curl -sS -H {shlex.quote(auth)} {demo.health_url}",
            "",
            "  Ask the demo bot something (a ManyChat External Request):",
            f"    {curl}",
        ]
    lines += ["", "Calls to Telegram / Kommo / ManyChat of bots without credentials print as `outbox ▸` lines.", ""]
    lines.append("Ctrl-C stops everything.")
    click.echo("\n".join(lines))
