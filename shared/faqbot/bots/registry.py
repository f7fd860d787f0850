"""Bot configurations, stored as one item per bot in the KB table (`pk=bot#<id>`, `sk=config`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr

from faqbot.config import BotConfig

CONFIG_SK = "config"


class UnknownBot(LookupError):
    """No bot with this id is configured."""

    def __init__(self, bot_id: str) -> None:
        super().__init__(f"unknown bot: {bot_id}")
        self.bot_id = bot_id


def bot_pk(bot_id: str) -> str:
    return f"bot#{bot_id}"


def webhook_secret_name(stage: str, bot_id: str) -> str:
    """The SSM parameter that holds a bot's webhook secret."""
    return f"/faqbot/{stage}/bots/{bot_id}/webhook-secret"


class BotRegistry:
    """Reads and writes bot configs; caches reads briefly so a warm Lambda does not re-read each message."""

    def __init__(self, table: Any, *, cache_seconds: float = 30.0) -> None:
        self._table = table
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, BotConfig]] = {}

    def get(self, bot_id: str) -> BotConfig:
        cached = self._cache.get(bot_id)
        now = time.monotonic()
        if cached and now - cached[0] < self._cache_seconds:
            return cached[1]
        item = self._table.get_item(Key={"pk": bot_pk(bot_id), "sk": CONFIG_SK}).get("Item")
        if not item:
            raise UnknownBot(bot_id)
        config = BotConfig.model_validate_json(item["config"])
        self._cache[bot_id] = (now, config)
        return config

    def put(self, config: BotConfig) -> None:
        self._table.put_item(
            Item={
                "pk": bot_pk(config.bot_id),
                "sk": CONFIG_SK,
                "bot_id": config.bot_id,
                "config": config.model_dump_json(),
                "updated_at": datetime.now(UTC).isoformat(),
            }
        )
        self._cache.pop(config.bot_id, None)

    def list(self) -> list[BotConfig]:
        """Every configured bot (a scan: an agency has tens of bots, not millions)."""
        configs: list[BotConfig] = []
        kwargs: dict[str, Any] = {"FilterExpression": Attr("sk").eq(CONFIG_SK)}
        while True:
            page = self._table.scan(**kwargs)
            configs.extend(BotConfig.model_validate_json(item["config"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return sorted(configs, key=lambda c: c.bot_id)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
