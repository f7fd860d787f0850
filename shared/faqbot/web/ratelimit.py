"""Fixed-window rate limits in the conversations table: the public widget endpoint must not be a free spam cannon.

One counter item per key and window (expiring with it), one atomic UpdateItem per hit:

    pk = ratelimit#<key>   sk = <window start, epoch seconds>   hits, expires_at

Counting is "increment, then compare": a refused hit still counts, so hammering the endpoint
does not shorten the wait. API Gateway's route throttling caps the whole API on top of this.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Clock = Callable[[], float]


@dataclass(frozen=True)
class Limit:
    key: str  # e.g. "<bot_id>#visitor#<visitor id>"
    max_hits: int
    window_seconds: int


class RateLimited(RuntimeError):
    """Too many requests (HTTP 429); `retry_after` whole seconds until the window ends."""

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(f"too many messages from this {what}; try again in {retry_after} s")
        self.what = what
        self.retry_after = retry_after


class RateLimiter:
    """Takes the boto3 `Table` of the conversations table."""

    def __init__(self, table: Any, *, clock: Clock = time.time) -> None:
        self._table = table
        self._clock = clock

    def hit(self, limit: Limit, *, what: str) -> None:
        """Count one request against `limit`; `RateLimited` if it is over."""
        now = self._clock()
        window = limit.window_seconds
        start = int(now // window) * window
        response = self._table.update_item(
            Key={"pk": f"ratelimit#{limit.key}", "sk": str(start)},
            UpdateExpression="ADD hits :one SET expires_at = :expires",
            ExpressionAttributeValues={":one": 1, ":expires": start + 2 * window},
            ReturnValues="UPDATED_NEW",
        )
        hits = int(response["Attributes"]["hits"])
        if hits > limit.max_hits:
            raise RateLimited(what, max(1, math.ceil(start + window - now)))
