"""A per-bot monthly budget of Bedrock calls, counted atomically in the conversations table.

`pk=semantic#<bot_id>, sk=usage#<YYYY-MM>` (UTC month): `calls`, and `expires_at` about 13 months
later (the table's TTL). One conditional UpdateItem per call reserves it, so concurrent webhook
containers can never overspend; an exhausted budget means lexical decisions until the month ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

_KEEP = timedelta(days=400)


class CallBudget(Protocol):
    def try_spend(self, bot_id: str, limit: int, calls: int = 1) -> bool:
        """Reserve `calls` of this month's `limit`; False when that would go over it."""
        ...


def usage_key(bot_id: str, now: datetime) -> dict[str, str]:
    return {"pk": f"semantic#{bot_id}", "sk": f"usage#{now:%Y-%m}"}


class MonthlyBudget:
    def __init__(self, table: Any, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._table = table
        self._clock = clock

    def try_spend(self, bot_id: str, limit: int, calls: int = 1) -> bool:
        if calls > limit:
            return False
        now = self._clock()
        try:
            self._table.update_item(
                Key=usage_key(bot_id, now),
                UpdateExpression="ADD calls :n SET expires_at = if_not_exists(expires_at, :expires)",
                ConditionExpression="attribute_not_exists(calls) OR calls <= :most",
                ExpressionAttributeValues={
                    ":n": calls,
                    ":most": limit - calls,
                    ":expires": int((now + _KEEP).timestamp()),
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def used(self, bot_id: str) -> int:
        """Calls counted this month (for `faqbot` displays and tests)."""
        item = self._table.get_item(Key=usage_key(bot_id, self._clock()), ConsistentRead=True).get("Item")
        return int(item["calls"]) if item else 0


class UnlimitedBudget:
    """No limit (`faqbot eval --semantic`, where the operator runs the bench on purpose)."""

    def try_spend(self, bot_id: str, limit: int, calls: int = 1) -> bool:
        return True
