"""A `TelegramClient` for a bot: its token from SSM / Secrets Manager, its API base URL from config.

Under the local stack (`FAQBOT_OUTBOX=console`) a bot without a token still "sends": the calls
are printed as the console outbox (`faqbot.outbound`). Anywhere else a missing token is an error
a person must fix.
"""

from __future__ import annotations

import httpx

from faqbot.config import BotConfig
from faqbot.outbound import outbound_client, wants_dry_run
from faqbot.secrets import SecretStore
from faqbot.telegram.client import TelegramClient

DRY_RUN_TOKEN = "dry-run"
TIMEOUT_SECONDS = 5.0  # a batch of 10 records must finish well inside the function's 30 s


class MissingTelegramSetup(LookupError):
    """The bot has no admin chat or no bot token configured."""


class TelegramBots:
    def __init__(self, secrets: SecretStore, *, outbox_mode: str = "", timeout: float = TIMEOUT_SECONDS) -> None:
        self._secrets = secrets
        self._outbox_mode = outbox_mode
        self._timeout = timeout
        self._http: dict[bool, httpx.Client] = {}

    def is_dry_run(self, bot: BotConfig) -> bool:
        return wants_dry_run(self._outbox_mode, has_credentials=bool(bot.telegram.bot_token_param))

    def client(self, bot: BotConfig) -> TelegramClient:
        """The bot's client; `SecretNotFound` if its token parameter cannot be read."""
        settings = bot.telegram
        dry_run = self.is_dry_run(bot)
        if dry_run:
            token = DRY_RUN_TOKEN
        elif settings.bot_token_param:
            token = self._secrets.get(settings.bot_token_param)
        else:
            raise MissingTelegramSetup(
                f"bot {bot.bot_id} has no telegram.bot_token_param: store the @BotFather token in SSM and name it there"
            )
        return TelegramClient(self._http_client(dry_run), token, base_url=settings.api_base_url)

    def _http_client(self, dry_run: bool) -> httpx.Client:
        if dry_run not in self._http:
            self._http[dry_run] = outbound_client(dry_run=dry_run, timeout=self._timeout)
        return self._http[dry_run]
