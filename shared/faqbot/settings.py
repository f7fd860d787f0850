"""Environment settings, one model per function, read once per warm container at call time.

The names are the environment variables `infra/template.yaml` sets on each function (and the
local stack sets from the same template).
"""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Base(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    stage: str = "dev"
    kb_table_name: str = "KbTable"
    # "console" under the local stack: calls of bots without credentials go to the console outbox.
    outbox: str = Field(default="", validation_alias="FAQBOT_OUTBOX")


class WebhookSettings(_Base):
    conversations_table_name: str = "ConversationsTable"
    idempotency_table_name: str = "IdempotencyTable"
    escalations_queue_url: str = ""
    crm_queue_url: str = ""
    max_body_bytes: int = 64 * 1024


class IngestSettings(_Base):
    kb_bucket_name: str = "KbBucket"
    # The weekly unanswered-questions report reads the handoffs stored there (FAQ mining) and links each
    # group to one signed transcript.
    conversations_table_name: str = "ConversationsTable"
    public_base_url: str = ""
    history_signing_key_param: str = ""
    max_file_bytes: int = 5 * 1024 * 1024
    max_rows: int = 5000
    max_cell_chars: int = 8000
    # Hosts a connected KB source (`kb_source_url`) may be on although private or plain http:
    # comma-separated, e.g. "127.0.0.1" for the local stack and tests. Empty in production.
    kb_source_allow_hosts: str = ""


class NotifySettings(_Base):
    conversations_table_name: str = "ConversationsTable"
    idempotency_table_name: str = "IdempotencyTable"
    public_base_url: str = ""
    history_signing_key_param: str = ""
    # Records that can never succeed (e.g. the bot was removed from the chat) go here at once, with the reason.
    dlq_url: str = ""


class CrmSyncSettings(_Base):
    conversations_table_name: str = "ConversationsTable"
    idempotency_table_name: str = "IdempotencyTable"
    public_base_url: str = ""
    history_signing_key_param: str = ""
    # Records that can never succeed (e.g. the bot was removed from the chat) go here at once, with the reason.
    dlq_url: str = ""


class HistorySettings(_Base):
    conversations_table_name: str = "ConversationsTable"
    history_signing_key_param: str = ""


@cache
def webhook_settings() -> WebhookSettings:
    return WebhookSettings()


@cache
def ingest_settings() -> IngestSettings:
    return IngestSettings()


@cache
def notify_settings() -> NotifySettings:
    return NotifySettings()


@cache
def crm_sync_settings() -> CrmSyncSettings:
    return CrmSyncSettings()


@cache
def history_settings() -> HistorySettings:
    return HistorySettings()


def reset() -> None:
    """Forget cached settings (tests and the local stack change the environment)."""
    for getter in (webhook_settings, ingest_settings, notify_settings, crm_sync_settings, history_settings):
        getter.cache_clear()
