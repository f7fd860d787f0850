"""The "Transcript" link notify (Telegram button) and crm_sync (Kommo task/note, CRM webhook) put in front of managers.

Both get it from `faqbot.notify.links.TranscriptLinks`, which makes it with `faqbot.history.links.history_link`:
the link they send must be one the history page opens, for that bot's contact, for the bot's TTL.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from faqbot.config import BotConfig
from faqbot.history.benchmark import BENCH_CONTACT, MemoryTranscript, sample_contact, sample_conversation
from faqbot.history.links import BadSigningKey, SigningKeys, SigningKeySource, TokenPurpose, verify_token
from faqbot.history.web import create_app
from faqbot.notify.links import TranscriptLinks
from faqbot.secrets import SecretNotFound

KEYS = SigningKeys("transcript-links-key-0123456789abcdef")
BOT = BotConfig(bot_id="bench", history_link_ttl_hours=48)


class OneBot:
    def get(self, bot_id: str) -> BotConfig:
        return BOT


def get(app: object, url: str) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="https://api.test") as client:
            return await client.get(url)

    return asyncio.run(call())


def test_the_link_managers_get_opens_that_contacts_transcript() -> None:
    # given
    links = TranscriptLinks("https://api.test/", SigningKeySource.fixed(KEYS))
    app = create_app(MemoryTranscript(sample_contact(), sample_conversation(3)), KEYS, OneBot())

    # when
    before = datetime.now(UTC)
    url = links.for_contact(BOT, BENCH_CONTACT)

    # then: a /history/ link on the public base URL, for this bot and contact, valid for the bot's TTL
    assert url is not None and url.startswith("https://api.test/history/")
    claims = verify_token(KEYS, url.rsplit("/", 1)[1], TokenPurpose.HISTORY, datetime.now(UTC))
    assert (claims.bot_id, claims.contact_id) == ("bench", BENCH_CONTACT)
    expected = before + timedelta(hours=48)
    assert expected - timedelta(seconds=5) <= claims.expires_at <= expected + timedelta(seconds=5)
    page = get(app, url)
    assert page.status_code == 200 and "Олена Коваль" in page.text


@pytest.mark.parametrize(
    ("base_url", "keys"),
    [("", SigningKeySource.fixed(KEYS)), ("https://api.test", None)],
    ids=["no-public-base-url", "no-signing-key-param"],
)
def test_without_base_url_or_key_param_the_notification_goes_out_without_the_link(
    base_url: str, keys: SigningKeySource | None
) -> None:
    # when / then
    assert TranscriptLinks(base_url, keys).for_contact(BOT, BENCH_CONTACT) is None


@pytest.mark.parametrize("error", [SecretNotFound("/faqbot/dev/history-signing-key"), BadSigningKey("too short")])
def test_an_unreadable_signing_key_leaves_the_link_out(error: Exception) -> None:
    # given
    def unreadable(fresh: bool) -> SigningKeys:
        raise error

    # when / then
    assert TranscriptLinks("https://api.test", SigningKeySource(unreadable)).for_contact(BOT, BENCH_CONTACT) is None
