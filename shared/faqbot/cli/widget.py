"""`faqbot bots widget BOT_ID`: the website chat widget's one-line snippet, and the sites allowed to embed it."""

from __future__ import annotations

import os

import click

from faqbot.cli._common import aws_target
from faqbot.cli.bots import _LOCAL_API, _registry, bots_group


@bots_group.command("widget")
@click.argument("bot_id")
@click.option(
    "--api-url", default=None, help="The deployed API's base URL (or custom domain) the script is served from."
)
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="Allow a site to embed the widget, e.g. https://shop.example.com (repeatable; added to the bot's list).",
)
@click.option("--remove-origin", "removed", multiple=True, help="Stop allowing a site (repeatable).")
@aws_target
def widget_command(bot_id: str, api_url: str | None, origins: tuple[str, ...], removed: tuple[str, ...]) -> None:
    """Print the <script> tag for BOT_ID's chat widget; --origin / --remove-origin edit its allowed sites."""
    from faqbot.bots.registry import UnknownBot
    from faqbot.channels.web import normalize_origin
    from faqbot.web.widget import embed_snippet

    registry = _registry()
    try:
        bot = registry.get(bot_id)
    except UnknownBot as exc:
        raise click.ClickException(str(exc)) from exc
    if origins or removed:
        adding, dropping = _origins(origins), set(_origins(removed))
        current = [site for site in (normalize_origin(s) for s in bot.site_origins) if site and site not in dropping]
        updated = current + [site for site in adding if site not in current]
        bot = bot.model_copy(update={"site_origins": updated})
        registry.put(bot)
        click.echo(f"allowed sites of {bot_id} updated (running Lambdas notice within 30 s)")
    base = api_url or (_LOCAL_API if "127.0.0.1" in os.environ.get("AWS_ENDPOINT_URL", "") else "https://<API URL>")
    click.echo("Put this line on every page of the site, before </body>:")
    click.echo(f"  {embed_snippet(base, bot_id)}")
    if bot.site_origins:
        click.echo("Allowed sites: " + ", ".join(bot.site_origins))
    else:
        click.echo("No allowed sites yet: the widget refuses to talk. Add one with --origin https://your-site")


def _origins(values: tuple[str, ...]) -> list[str]:
    from faqbot.channels.web import normalize_origin

    normalized = []
    for value in values:
        origin = normalize_origin(value)
        if origin is None:
            raise click.BadParameter(
                f"{value!r} is not a site origin: give scheme and host only, e.g. https://shop.example.com",
                param_hint="--origin",
            )
        normalized.append(origin)
    return normalized
