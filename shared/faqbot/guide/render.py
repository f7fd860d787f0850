"""The client guide for one bot, filled with its real values: Markdown from a template per language, and HTML.

The words live in `templates/guide.<lang>.md.j2` (uk, ru, en); this module only gathers the bot's facts
(playground link, connected sheet or file columns, the ManyChat tags / SmartSender variables its
configuration uses, who managers are and how they hand a chat back) and turns the Markdown into a
standalone HTML page (readable on a phone, printable, no external resources) with a small converter for
the subset the templates use: headings, paragraphs, lists, tables, **bold**, `code` and links.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined

from faqbot.config import BotConfig, Language, Platform
from faqbot.history.transcript import bot_local_time

GuideFormat = Literal["html", "md"]
DEFAULT_SYNC_MINUTES = 15  # infra/template.yaml KbSyncSchedule's default


@dataclass(frozen=True)
class GuideFacts:
    """Everything the guide says about this bot, from its configuration."""

    bot: BotConfig
    name: str
    playground_url: str
    playground_valid_until: str
    sync_minutes: int
    pause_hours: float | None
    telegram: bool
    kommo: bool
    crm_webhook: bool
    kommo_task_minutes: int | None

    @property
    def manychat(self) -> bool:
        return self.bot.platform is Platform.MANYCHAT

    @property
    def smartsender(self) -> bool:
        return self.bot.platform is Platform.SMARTSENDER


def guide_facts(
    config: BotConfig,
    language: Language,
    *,
    playground_url: str,
    playground_expires_at: datetime,
    sync_minutes: int = DEFAULT_SYNC_MINUTES,
) -> GuideFacts:
    minutes = config.pause_timeout_minutes
    kommo = config.crm.kommo
    return GuideFacts(
        bot=config,
        name=config.display_name or config.bot_id,
        playground_url=playground_url,
        playground_valid_until=bot_local_time(playground_expires_at, config),
        sync_minutes=sync_minutes,
        pause_hours=round(minutes / 60, 1) if minutes else None,
        telegram=config.telegram.chat_id is not None,
        kommo=kommo is not None,
        crm_webhook=config.crm.webhook is not None,
        kommo_task_minutes=kommo.task_due_minutes if kommo is not None and kommo.create_task_on_handoff else None,
    )


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("faqbot.guide", "templates"),
        autoescape=False,  # Markdown; the HTML conversion escapes every piece of text
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_markdown(facts: GuideFacts, language: Language) -> str:
    text = _templates().get_template(f"guide.{language.value}.md.j2").render(f=facts, bot=facts.bot)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_guide(facts: GuideFacts, language: Language, fmt: GuideFormat | str = "html") -> str:
    """The guide as Markdown, or as a standalone HTML page with the same content."""
    markdown = render_markdown(facts, language)
    if fmt == "md":
        return markdown
    title = markdown.splitlines()[0].lstrip("# ").strip()
    body = markdown_to_html(markdown)
    page = _templates().get_template("guide.html.j2")
    return page.render(lang=language.value, title=html.escape(title), body=body)


# ---- Markdown (the templates' subset) → HTML ------------------------------------------------------------------

_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_AUTOLINK = re.compile(r"&lt;(https?://[^\s&]+(?:&amp;[^\s&]+)*)&gt;")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_ORDERED = re.compile(r"^\d+\.\s+")


def _inline(text: str) -> str:
    """Escape, then turn `code`, **bold**, [links](https://…) and <https://…> into tags."""
    codes: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        codes.append(f"<code>{html.escape(match.group(1), quote=False)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    text = _CODE.sub(keep_code, text)
    out = html.escape(text, quote=False)
    # The text is escaped already (`&` is `&amp;`); only a quote could still end the attribute.
    out = _LINK.sub(lambda m: f'<a href="{m.group(2).replace(chr(34), "&quot;")}">{m.group(1)}</a>', out)
    out = _AUTOLINK.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], out)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def markdown_to_html(markdown: str) -> str:
    """Headings, paragraphs, `-` and `1.` lists, pipe tables (cells may hold `\\|`), inline marks."""
    lines = markdown.replace("\\|", "\x01").splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        heading = re.match(r"^(#{1,4})\s+(.*)$", stripped)
        if heading:
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
            continue
        if stripped.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            header, body = rows[0], [row for row in rows[1:] if not all(set(c) <= set("-: ") for c in row)]
            head = "".join(f"<th>{_inline(cell)}</th>" for cell in header)
            trs = "".join("<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>" for row in body)
            out.append(f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table></div>')
            continue
        if stripped.startswith("- ") or _ORDERED.match(stripped):
            ordered = not stripped.startswith("- ")
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                current = lines[i].strip()
                if current.startswith("- ") or _ORDERED.match(current):
                    items.append(_ORDERED.sub("", current[2:] if current.startswith("- ") else current, count=1))
                else:
                    items[-1] += " " + current  # a wrapped item
                i += 1
            tag = "ol" if ordered else "ul"
            out.append(f"<{tag}>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + f"</{tag}>")
            continue
        paragraph = []
        while i < len(lines) and lines[i].strip() and not re.match(r"^(#{1,4}\s|\||- |\d+\.\s)", lines[i].strip()):
            paragraph.append(lines[i].strip())
            i += 1
        out.append(f"<p>{_inline(' '.join(paragraph))}</p>")
    return "\n".join(out).replace("\x01", "|")
