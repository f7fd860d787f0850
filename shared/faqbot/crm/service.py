"""crm_sync's domain: one queue event → the bot's CRM, through the adapter its config chooses.

Kommo when `crm.kommo` is set, else the generic webhook when `crm.webhook` is set, else nothing
(the event is acknowledged). CRM errors become the queue's failure kinds (`faqbot.consumer`):
rate limits wait, transient errors retry with backoff, refusals go to the DLQ with the CRM's
own message.

Under the local stack (`FAQBOT_OUTBOX=console`) a bot whose CRM secret is not stored sends to the
console outbox instead, so the flow can be watched without a CRM account.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from faqbot import aws
from faqbot.bots.registry import BotRegistry, UnknownBot
from faqbot.config import BotConfig
from faqbot.consumer import PermanentFailure, RetryLater
from faqbot.conversation.store import ConversationStore
from faqbot.crm.adapter import CrmAdapter, CrmContext, CrmPermanentError, CrmRateLimited, CrmResult
from faqbot.crm.kommo import KommoClient, KommoCrm
from faqbot.crm.webhook import WebhookClient, WebhookCrm
from faqbot.events import Escalation, LeadReady, TranscriptUpdated
from faqbot.notify.links import TranscriptLinks
from faqbot.once import Once
from faqbot.outbound import outbound_client, wants_dry_run
from faqbot.secrets import SecretNotFound, SecretStore
from faqbot.settings import CrmSyncSettings

logger = logging.getLogger(__name__)

DRY_RUN_SECRET = "dry-run"
KOMMO_TIMEOUT_SECONDS = 10.0

QueueEvent = Escalation | LeadReady | TranscriptUpdated


class CrmSync:
    def __init__(
        self,
        *,
        registry: BotRegistry,
        secrets: SecretStore,
        context: CrmContext,
        outbox_mode: str = "",
    ) -> None:
        self._registry = registry
        self._secrets = secrets
        self._context = context
        self._outbox_mode = outbox_mode
        self._http: dict[bool, httpx.Client] = {}

    @classmethod
    def from_settings(cls, settings: CrmSyncSettings) -> CrmSync:
        dynamodb = aws.dynamodb()
        secrets = SecretStore()
        context = CrmContext(
            store=ConversationStore(aws.client("dynamodb"), settings.conversations_table_name),
            once=Once.on_table(
                settings.idempotency_table_name, key_prefix="faqbot.crm_sync", dynamodb_client=aws.client("dynamodb")
            ),
            links=TranscriptLinks.from_parameter(settings.public_base_url, settings.history_signing_key_param, secrets),
        )
        return cls(
            registry=BotRegistry(dynamodb.Table(settings.kb_table_name)),
            secrets=secrets,
            context=context,
            outbox_mode=settings.outbox,
        )

    def register_lambda_context(self, context: Any) -> None:
        self._context.once.register_lambda_context(context)

    def handle(self, event: QueueEvent) -> CrmResult:
        try:
            bot = self._registry.get(event.bot_id)
        except UnknownBot as exc:
            raise PermanentFailure(f"{event.type} event for unknown bot {event.bot_id!r}") from exc
        adapter = self.adapter_for(bot)
        if adapter is None:
            return CrmResult(action="skipped", details={"reason": "the bot has no CRM configured"})
        try:
            if isinstance(event, LeadReady):
                return adapter.on_lead_ready(bot, event)
            if isinstance(event, Escalation):
                return adapter.on_escalation(bot, event)
            return adapter.on_transcript(bot, event)
        except CrmRateLimited as exc:
            raise RetryLater(exc.retry_after, str(exc)) from exc
        except CrmPermanentError as exc:
            raise PermanentFailure(f"bot {bot.bot_id}, {event.type} {event.event_id}: {exc}") from exc

    def adapter_for(self, bot: BotConfig) -> CrmAdapter | None:
        """The bot's CRM adapter (Kommo first), or None without a CRM. `SecretNotFound` if its secret is missing."""
        crm = bot.crm
        if crm.kommo is not None:
            settings = crm.kommo
            token, dry_run = self._secret(settings.token_param)
            client = KommoClient(
                self._http_client(dry_run),
                settings.base_url,
                token,
                max_requests_per_second=settings.max_requests_per_second,
            )
            return KommoCrm(client, settings, self._context)
        if crm.webhook is not None:
            secret, dry_run = self._secret(crm.webhook.secret_param)
            client_ = WebhookClient(
                self._http_client(dry_run), crm.webhook.url, secret, timeout=crm.webhook.timeout_seconds
            )
            return WebhookCrm(client_, self._context)
        return None

    def _secret(self, name: str) -> tuple[str, bool]:
        """(secret, dry_run): locally, a secret that is not stored means "print to the outbox"."""
        try:
            return self._secrets.get(name), False
        except SecretNotFound:
            if wants_dry_run(self._outbox_mode, has_credentials=False):
                return DRY_RUN_SECRET, True
            raise

    def _http_client(self, dry_run: bool) -> httpx.Client:
        if dry_run not in self._http:
            self._http[dry_run] = outbound_client(dry_run=dry_run, timeout=KOMMO_TIMEOUT_SECONDS)
        return self._http[dry_run]
