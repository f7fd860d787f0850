"""Side effects that must happen once per key even when SQS delivers a record twice.

A Telegram message, a Kommo lead or task, a CRM note: none of these APIs deduplicates for us.
`Once.run(key, action)` records the key in the IdempotencyTable (Powertools idempotency) before
running `action`, stores its JSON result after, and on a repeat returns the stored result without
running it again. An action that raises leaves no record, so the queue's retry runs it again.

Each step of a multi-step event (task, then stage move, then note) gets its own key, so a retry
after a half-done event repeats only the steps that did not complete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

logger = logging.getLogger(__name__)

Action = Callable[[], dict[str, Any]]
# SQS keeps a message 4 days; a week covers every redelivery.
DEFAULT_EXPIRY_SECONDS = 7 * 24 * 3600


class StepInProgress(RuntimeError):
    """Another delivery of the same record is running this step right now: retry the record later."""


class Once:
    """Runs keyed actions at most once (per expiry window); without a persistence layer, every time (unit tests)."""

    def __init__(
        self,
        persistence: DynamoDBPersistenceLayer | None,
        *,
        key_prefix: str,
        expires_after_seconds: int = DEFAULT_EXPIRY_SECONDS,
    ) -> None:
        self._config = IdempotencyConfig(expires_after_seconds=expires_after_seconds)
        self._run_once: Callable[..., dict[str, Any]] | None = None
        if persistence is not None:
            self._run_once = idempotent_function(
                _run,
                data_keyword_argument="key",
                persistence_store=persistence,
                config=self._config,
                key_prefix=key_prefix,
            )

    @classmethod
    def on_table(cls, table_name: str, *, key_prefix: str, dynamodb_client: Any) -> Once:
        return cls(DynamoDBPersistenceLayer(table_name=table_name, boto3_client=dynamodb_client), key_prefix=key_prefix)

    def register_lambda_context(self, context: Any) -> None:
        """An interrupted invocation's in-progress record then expires with the invocation, not after days."""
        self._config.register_lambda_context(context)

    def run(self, key: Mapping[str, Any], action: Action) -> dict[str, Any]:
        """`action()`'s result; the stored result if `key` already ran to completion."""
        if self._run_once is None:
            return action()
        try:
            return self._run_once(key=dict(key), action=action)
        except IdempotencyAlreadyInProgressError as exc:
            raise StepInProgress(f"step {dict(key)} is already running") from exc


def _run(*, key: dict[str, Any], action: Action) -> dict[str, Any]:
    return action()
