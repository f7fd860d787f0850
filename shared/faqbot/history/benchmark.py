"""`faqbot bench --section history`: how long a transcript page of 1,000 messages takes to render.

The issue asks that long conversations "render in well under a second". The page is served through
the real ASGI app (token check, labels, Jinja2, security headers) over an in-memory transcript, so
the figure is the app's own time without DynamoDB (one Query of at most `page size + 1` items).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from faqbot.bench import BenchContext, BenchReport
from faqbot.config import BotConfig, Channel, Platform
from faqbot.conversation.store import Contact, EventKind, Role, StoredMessage
from faqbot.history.links import SigningKeys, TokenPurpose, make_token
from faqbot.history.web import DEFAULT_PAGE_SIZE, create_app

BENCH_BOT = "bench"
BENCH_CONTACT = "ig-1000"
BENCH_NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
_KEYS = SigningKeys("bench-history-key-0123456789abcdef")


class MemoryTranscript:
    """One contact's transcript in memory, read the way `ConversationStore` reads it (a `TranscriptReader`)."""

    def __init__(self, contact: Contact, messages: Sequence[StoredMessage]) -> None:
        self._contact = contact
        self._messages = sorted(messages, key=lambda message: message.sk)

    def get_contact(self, bot_id: str, contact_id: str) -> Contact | None:
        known = (self._contact.bot_id, self._contact.contact_id) == (bot_id, contact_id)
        return self._contact if known else None

    def messages(
        self, bot_id: str, contact_id: str, *, limit: int, before: str | None, newest_first: bool
    ) -> list[StoredMessage]:
        """Up to `limit` of the messages before the `before` cursor (all with None), newest first or oldest first."""
        if self.get_contact(bot_id, contact_id) is None:
            return []
        chosen = [message for message in self._messages if before is None or message.sk < before]
        if newest_first:
            chosen.reverse()
        return chosen[:limit]


def sample_conversation(count: int, *, start: datetime = BENCH_NOW - timedelta(days=2)) -> list[StoredMessage]:
    """`count` messages as a busy chat has them: questions, answers with their KB entry, now and then a handoff."""
    messages: list[StoredMessage] = []
    for index in range(count):
        at = start + timedelta(seconds=40 * index)
        if index % 50 == 49:
            messages.append(
                StoredMessage(at=at, seq=index, role=Role.SYSTEM, kind=EventKind.HANDOFF, detail="no_answer")
            )
        elif index % 2 == 0:
            text = f"Питання {index}: скільки коштує доставка до Львова <і> чи можна оплатити карткою?"
            messages.append(StoredMessage(at=at, seq=index, role=Role.CUSTOMER, text=text))
        else:
            messages.append(
                StoredMessage(
                    at=at,
                    seq=index,
                    role=Role.BOT,
                    text=f"Відповідь {index}: доставка Новою поштою — за тарифами перевізника, оплата карткою є.",
                    decision="answer",
                    entry_id=str(index % 40),
                    entry_question="Скільки коштує доставка?",
                    score=0.8123,
                )
            )
    return messages


def sample_contact() -> Contact:
    return Contact(
        bot_id=BENCH_BOT,
        contact_id=BENCH_CONTACT,
        platform=Platform.MANYCHAT,
        channel=Channel.INSTAGRAM,
        name="Олена Коваль",
        phone="+380671234567",
        chat_url="https://app.manychat.com/fb1/chat/1000",
        message_count=1000,
    )


class _Configs:
    def __init__(self, config: BotConfig) -> None:
        self._config = config

    def get(self, bot_id: str) -> BotConfig:
        return self._config


@dataclass(frozen=True)
class PageTimings:
    first_ms: float  # the first request of the process also compiles the templates
    times_ms: list[float]  # the requests after it
    html_bytes: int


def time_page_requests(message_count: int, page_size: int, repeats: int) -> PageTimings:
    """Milliseconds per `GET /history/<token>` through the ASGI app, and the page's size."""
    config = BotConfig(bot_id=BENCH_BOT, display_name="Bench", timezone="Europe/Kyiv")
    store = MemoryTranscript(sample_contact(), sample_conversation(message_count))
    app = create_app(store, _KEYS, _Configs(config), clock=lambda: BENCH_NOW, page_size=page_size)
    token = make_token(_KEYS, TokenPurpose.HISTORY, BENCH_BOT, BENCH_CONTACT, BENCH_NOW + timedelta(days=1))

    async def measure() -> PageTimings:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://bench.test") as client:
            times = []
            for _ in range(repeats + 1):
                started = time.perf_counter()
                response = await client.get(f"/history/{token}")
                times.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            return PageTimings(first_ms=times[0], times_ms=times[1:], html_bytes=len(response.content))

    return asyncio.run(measure())


def history_section(context: BenchContext) -> BenchReport:
    repeats = 3 if context.quick else 20
    report = BenchReport("Transcript page render (ASGI app, in-memory transcript; target: 1,000 messages < 1 s)")
    for label, page_size in (("all_1000", 1000), (f"page_{DEFAULT_PAGE_SIZE}", DEFAULT_PAGE_SIZE)):
        timings = time_page_requests(1000, page_size, repeats)
        median, worst = statistics.median(timings.times_ms), max(timings.times_ms)
        report.lines.append(
            f"{page_size:>4} of 1,000 messages on one page: median {median:.0f} ms, max {worst:.0f} ms "
            f"(n={repeats}; first request {timings.first_ms:.0f} ms), {timings.html_bytes / 1024:.0f} KiB of HTML"
        )
        report.figures[label] = {
            "median_ms": round(median, 1),
            "max_ms": round(worst, 1),
            "first_request_ms": round(timings.first_ms, 1),
            "html_kib": round(timings.html_bytes / 1024, 1),
        }
    report.lines.append(f"the page shows the newest {DEFAULT_PAGE_SIZE}; 'Earlier messages' pages back")
    return report
