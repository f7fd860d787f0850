"""Adding and switching client bots: the config in the KB table, the webhook secret in SSM.

Used by `faqbot bots ...` and by the local stack when it creates the demo bot, so a bot made by
hand and the demo bot are made the same way.
"""

from __future__ import annotations

import json
import secrets as token_generator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from faqbot.bots.registry import BotRegistry, UnknownBot, webhook_secret_name
from faqbot.config import BotConfig, Platform


class BotExists(ValueError):
    """A bot with this id is already configured (pass `overwrite=True` to replace its config and secret)."""


class SecretWriter(Protocol):
    def put(self, name: str, value: str) -> None: ...


@dataclass(frozen=True)
class CreatedBot:
    config: BotConfig
    secret: str
    secret_name: str


def new_secret() -> str:
    """A webhook secret: 32 random bytes, URL-safe (fits any header)."""
    return token_generator.token_urlsafe(32)


def load_config_file(path: Path) -> dict[str, Any]:
    """A bot config file (JSON, or YAML by extension) as a dict; BotConfig validates it."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a bot config must be an object of settings")
    return data


def create_bot(
    *,
    registry: BotRegistry,
    secret_store: SecretWriter,
    stage: str,
    bot_id: str,
    platform: Platform,
    token: str | None = None,
    settings: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> CreatedBot:
    """Store a new bot's config and webhook secret; returns the secret so the caller can show it once.

    `settings` are any BotConfig fields (e.g. from a config file); `bot_id` and `platform` given here win.
    """
    try:
        registry.get(bot_id)
    except UnknownBot:
        pass
    else:
        if not overwrite:
            raise BotExists(f"bot {bot_id} already exists")
    fields = dict(settings or {})
    fields.update(bot_id=bot_id, platform=platform)
    fields.setdefault("webhook_secret_param", webhook_secret_name(stage, bot_id))
    config = BotConfig.model_validate(fields)
    secret = token or new_secret()
    secret_name = config.webhook_secret_param or webhook_secret_name(stage, bot_id)
    secret_store.put(secret_name, secret)
    registry.put(config)
    return CreatedBot(config=config, secret=secret, secret_name=secret_name)


def set_enabled(registry: BotRegistry, bot_id: str, enabled: bool) -> BotConfig:
    """Switch the whole bot on or off (off: it stays silent for everyone, the flow sees status `disabled`)."""
    config = registry.get(bot_id).model_copy(update={"enabled": enabled})
    registry.put(config)
    return config
