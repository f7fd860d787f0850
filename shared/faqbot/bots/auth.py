"""Who may call a bot's endpoints: the caller must present the bot's webhook secret.

The secret travels as `Authorization: Bearer <secret>` or `X-Faqbot-Token: <secret>` (ManyChat's
External Request and SmartSender's webhook block both let the flow author add a header), and is
compared in constant time. The secret lives in SSM (`BotConfig.webhook_secret_param`, by default
`/faqbot/<stage>/bots/<bot_id>/webhook-secret`), cached by `SecretStore`.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

from faqbot.bots.registry import BotRegistry, UnknownBot, webhook_secret_name
from faqbot.config import BotConfig
from faqbot.secrets import SecretNotFound

logger = logging.getLogger(__name__)

_BOT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
TOKEN_HEADER = "x-faqbot-token"


class Unauthorized(PermissionError):
    """No or a wrong webhook secret (HTTP 401)."""


class SecretUnavailable(RuntimeError):
    """The bot's secret cannot be read (not configured, or SSM unreachable): a server problem (HTTP 503)."""


class SecretSource(Protocol):
    def get(self, name: str) -> str: ...


def presented_token(headers: Mapping[str, Any]) -> str | None:
    """The secret a caller sent, from either header (header names are case-insensitive)."""
    lowered = {str(key).lower(): value for key, value in headers.items()}
    token = lowered.get(TOKEN_HEADER)
    if isinstance(token, str) and token.strip():
        return token.strip()
    authorization = lowered.get("authorization")
    if isinstance(authorization, str):
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None


class BotAuthenticator:
    """Resolves the bot of a request and checks the caller's secret.

    Keeps the last bot config and secret it read, so a DynamoDB or SSM outage does not lock out
    a bot that was working a moment ago.
    """

    def __init__(self, registry: BotRegistry, secrets: SecretSource, *, stage: str) -> None:
        self._registry = registry
        self._secrets = secrets
        self._stage = stage
        self._last_bot: dict[str, BotConfig] = {}
        self._last_secret: dict[str, str] = {}

    def bot(self, bot_id: str) -> BotConfig:
        """The bot's config (UnknownBot when there is no such bot)."""
        if not _BOT_ID.match(bot_id):
            raise UnknownBot(bot_id[:80])
        try:
            config = self._registry.get(bot_id)
        except UnknownBot:
            raise
        except Exception:
            if bot_id not in self._last_bot:
                raise
            logger.exception("bot registry unreachable; using the last known config of bot %s", bot_id)
            return self._last_bot[bot_id]
        self._last_bot[bot_id] = config
        return config

    def authenticate(self, bot_id: str, headers: Mapping[str, Any]) -> BotConfig:
        """The bot, if the caller presented its secret; UnknownBot / Unauthorized / SecretUnavailable otherwise."""
        bot = self.bot(bot_id)
        token = presented_token(headers)
        if token is None:
            raise Unauthorized("missing token: send `Authorization: Bearer <secret>` or `X-Faqbot-Token: <secret>`")
        if not hmac.compare_digest(token.encode(), self._secret(bot).encode()):
            raise Unauthorized("wrong token")
        return bot

    def _secret(self, bot: BotConfig) -> str:
        name = bot.webhook_secret_param or webhook_secret_name(self._stage, bot.bot_id)
        try:
            secret = self._secrets.get(name)
        except SecretNotFound as exc:
            if name in self._last_secret:
                logger.warning("secret %s unreadable; using the last known value", name)
                return self._last_secret[name]
            raise SecretUnavailable(f"the webhook secret of bot {bot.bot_id} is not configured") from exc
        self._last_secret[name] = secret
        return secret
