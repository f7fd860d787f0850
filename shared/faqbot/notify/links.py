"""The "Transcript" link managers get in Telegram, Kommo tasks and notes, CRM webhooks and the weekly report.

A signed `/history/<token>` link (`faqbot.history.links`) valid for the bot's
`history_link_ttl_hours` (or as long as the caller needs). A notification without the link is
better than no notification, so a missing base URL or signing key only leaves the link out (and
says so in the log).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from faqbot.config import BotConfig
from faqbot.history.links import BadSigningKey, SigningKeySource, history_link
from faqbot.secrets import SecretNotFound, SecretStore

logger = logging.getLogger(__name__)


class TranscriptLinks:
    def __init__(self, base_url: str, keys: SigningKeySource | None) -> None:
        self._base_url = base_url
        self._keys = keys

    @classmethod
    def from_parameter(
        cls, base_url: str, signing_key_param: str, secrets: SecretStore | None = None
    ) -> TranscriptLinks:
        keys = SigningKeySource.from_parameter(signing_key_param, secrets) if signing_key_param else None
        return cls(base_url, keys)

    def for_contact(self, bot: BotConfig, contact_id: str, *, ttl: timedelta | None = None) -> str | None:
        """The link to this contact's transcript, or None (and a warning logged) when it cannot be signed."""
        if not self._base_url or self._keys is None:
            logger.warning("no transcript link: PUBLIC_BASE_URL or HISTORY_SIGNING_KEY_PARAM is not set")
            return None
        try:
            keys = self._keys.get()
        except (SecretNotFound, BadSigningKey) as exc:
            logger.warning("no transcript link: the signing key is unavailable", extra={"reason": repr(exc)})
            return None
        ttl = ttl or timedelta(hours=bot.history_link_ttl_hours)
        return history_link(self._base_url, keys, bot.bot_id, contact_id, ttl)
