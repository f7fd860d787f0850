"""The webhook function's domain entry: platform body in → reply body out, once per platform request.

`functions/webhook/app.py` does HTTP (routes, size, JSON, status codes); this module does the rest:
authenticate, parse the platform's body, handle the message once (Powertools idempotency on the
IdempotencyTable: a retried request gets the stored reply and causes no second transcript entry or
event), and render the reply for the platform and channel. Built once per warm container by
`Webhook.from_settings`.

Round trips per message (the latency a customer waits for): the idempotency record's PutItem alongside the
contact's GetItem, the matcher working meanwhile on the text (`ConversationService.look_ahead`); then, once
the reply is decided, one BatchWriteItem holding both the transcript lines and the completed idempotency
record (`BatchingPersistenceLayer`) alongside the contact's write (and the SQS send on a handoff).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from faqbot import aws
from faqbot.bots.auth import BotAuthenticator
from faqbot.bots.registry import BotRegistry
from faqbot.channels import manychat, smartsender
from faqbot.channels.models import BotReply, InboundMessage, ReplyStatus
from faqbot.config import BotConfig
from faqbot.conversation import leads
from faqbot.conversation.knowledge import MatcherCache
from faqbot.conversation.publisher import EventPublisher
from faqbot.conversation.service import ConversationService, Lookahead, PendingReply
from faqbot.conversation.store import Contact, ConversationStore, WriteBatch
from faqbot.events import EscalationReason
from faqbot.kb.store import KnowledgeBaseStore
from faqbot.secrets import SecretStore
from faqbot.semantic.tier import SemanticTier
from faqbot.settings import WebhookSettings

logger = logging.getLogger(__name__)

# A platform retries within seconds; a customer repeating the same words minutes later is a new message.
DEDUP_SECONDS = 60
IO_THREADS = 6

Handle = Callable[..., dict[str, Any]]


class RequestInProgress(RuntimeError):
    """The same platform request is being handled right now (a retry overtook the original): HTTP 409."""


# The message being handled on this thread: where its completed idempotency record goes.
_CURRENT_BATCH: ContextVar[WriteBatch | None] = ContextVar("faqbot_webhook_batch", default=None)


@contextmanager
def _batching(batch: WriteBatch) -> Iterator[None]:
    token = _CURRENT_BATCH.set(batch)
    try:
        yield
    finally:
        _CURRENT_BATCH.reset(token)


class BatchingPersistenceLayer(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB idempotency store, whose "completed" record rides in the message's transcript batch.

    Powertools saves success with an UpdateItem of the record's status, expiry and response. Here the same
    attributes are written as a whole item (no condition either way) in the BatchWriteItem that stores the
    message's transcript lines: one round trip instead of two. The in-progress PutItem, the checks and the
    replay of a stored reply are Powertools' own. Outside a message (no current batch) it is Powertools' layer.
    """

    def _update_record(self, data_record: DataRecord) -> None:
        batch = _CURRENT_BATCH.get()
        if batch is None:
            super()._update_record(data_record)
            return
        item = {
            **self._get_key(data_record.idempotency_key),
            self.expiry_attr: {"N": str(data_record.expiry_timestamp)},
            self.data_attr: {"S": data_record.response_data},
            self.status_attr: {"S": data_record.status},
        }
        if self.payload_validation_enabled:
            item[self.validation_key_attr] = {"S": data_record.payload_hash}
        batch.put(self.table_name, item)
        batch.write(self.client)


class Webhook:
    def __init__(
        self,
        *,
        auth: BotAuthenticator,
        service: ConversationService,
        store: ConversationStore,
        kb: KnowledgeBaseStore,
        idempotency: DynamoDBPersistenceLayer | None,
        executor: Executor,
        dedup_seconds: int = DEDUP_SECONDS,
    ) -> None:
        self.auth = auth
        self._executor = executor
        self._service = service
        self.store = store
        self._kb = kb
        self._idempotency_config = IdempotencyConfig(expires_after_seconds=dedup_seconds)
        self._idempotency_table = idempotency.table_name if idempotency is not None else None
        self._handle_once: Handle | None = None
        if idempotency is not None:
            self._handle_once = idempotent_function(
                self._handle,
                data_keyword_argument="request_key",
                persistence_store=idempotency,
                config=self._idempotency_config,
                key_prefix="faqbot.webhook.message",
            )

    @classmethod
    def from_settings(cls, settings: WebhookSettings) -> Webhook:
        dynamodb = aws.dynamodb()
        kb = KnowledgeBaseStore(dynamodb.Table(settings.kb_table_name))
        store = ConversationStore(aws.client("dynamodb"), settings.conversations_table_name)
        publisher = EventPublisher(
            aws.client("sqs"),
            escalations_queue_url=settings.escalations_queue_url,
            crm_queue_url=settings.crm_queue_url,
        )
        # One message's reads and writes (contact, transcript, queues) run concurrently; boto3 clients are
        # thread-safe, and each write builds its own request.
        executor = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="faqbot-io")
        executor.submit(leads.warm_up)  # while the first request builds its matcher, not on a later one's path
        return cls(
            auth=BotAuthenticator(
                BotRegistry(dynamodb.Table(settings.kb_table_name)), SecretStore(), stage=settings.stage
            ),
            service=ConversationService(
                store=store,
                matchers=MatcherCache(kb, semantic=_semantic_tier(dynamodb, settings)),
                publisher=publisher,
                executor=executor,
            ),
            executor=executor,
            store=store,
            kb=kb,
            idempotency=BatchingPersistenceLayer(
                table_name=settings.idempotency_table_name, boto3_client=aws.client("dynamodb")
            ),
        )

    def register_lambda_context(self, context: Any) -> None:
        """Lets idempotency expire an in-progress record when the invocation times out."""
        self._idempotency_config.register_lambda_context(context)

    # ---- platforms ----------------------------------------------------------------------------------

    def manychat(self, bot: BotConfig, body: Any, *, channel: str | None = None) -> tuple[dict[str, Any], BotReply]:
        """ManyChat's Full Contact Data → (Dynamic Block, the reply)."""
        message = manychat.parse_contact(body, settings=bot.manychat, channel_param=channel)
        reply = self.handle(bot, message)
        return manychat.render_dynamic_block(reply, channel=message.channel, settings=bot.manychat), reply

    def smartsender(self, bot: BotConfig, body: Any, *, channel: str | None = None) -> tuple[dict[str, Any], BotReply]:
        """The documented SmartSender body → (response for "Соответствия", the reply)."""
        message = smartsender.parse_request(body, settings=bot.smartsender, channel_param=channel)
        if message.chat_url is None:
            chat_url = smartsender.chat_url_for(bot.smartsender, message.contact_id)
            message = message.model_copy(update={"chat_url": chat_url})
        reply = self.handle(bot, message)
        return smartsender.render_response(reply, channel=message.channel), reply

    # ---- one message, once ----------------------------------------------------------------------------

    def handle(self, bot: BotConfig, message: InboundMessage) -> BotReply:
        """The reply to `message`; a repeat of the same platform request returns the first reply unchanged."""
        key = {
            "bot": bot.bot_id,
            "platform": message.platform.value,
            "contact": message.contact_id,
            "text": message.text,
            "message_id": message.message_id,
            "takeover": message.takeover is not None,
            "resume": message.resume is not None,
        }
        # While idempotency records the request, the contact is read and the text matched: the round trips and
        # the matcher's CPU overlap.
        contact = self._executor.submit(self.store.get_contact, bot.bot_id, message.contact_id)
        ahead = self._executor.submit(self._service.look_ahead, bot, message)
        started: list[PendingReply] = []
        batch = WriteBatch()  # the transcript lines (and, with idempotency, its completed record)
        degraded = False
        result: dict[str, Any] | None = None
        arguments: dict[str, Any] = {
            "request_key": key,
            "bot": bot,
            "message": message,
            "contact": contact,
            "ahead": ahead,
            "started": started,
            "batch": batch,
        }
        if self._handle_once is None:
            result = self._handle(**arguments)
        else:
            try:
                with _batching(batch):
                    result = self._handle_once(**arguments)
            except IdempotencyAlreadyInProgressError as exc:
                raise RequestInProgress("this message is already being answered") from exc
            except IdempotencyPersistenceLayerError:
                degraded = True
                batch.drop(self._idempotency_table or "")  # the transcript lines are written on their own below
                if started:
                    # Decided, and its other writes are under way: handling it again would escalate twice. Only
                    # the completed record is lost (a retry of this request gets 409 until the record expires).
                    logger.exception("could not complete the idempotency record of bot %s's message", bot.bot_id)
                else:
                    logger.exception("idempotency table unavailable; bot %s's message handled without it", bot.bot_id)
                    result = self._handle(**arguments)
        self._write_transcript(bot, batch)
        reply = started[0].finish() if started else BotReply.model_validate(result)  # wait for this turn's writes
        return reply.model_copy(update={"degraded": True}) if degraded else reply

    def _write_transcript(self, bot: BotConfig, batch: WriteBatch) -> None:
        """Write the batch unless idempotency already did; a failure is logged and makes the reply degraded."""
        try:
            self.store.write(batch)
        except Exception as exc:
            logger.exception("could not store the transcript (bot %s); the customer still gets a reply", bot.bot_id)
            batch.fail(exc)

    def _handle(
        self,
        *,
        request_key: dict[str, Any],
        bot: BotConfig,
        message: InboundMessage,
        contact: Future[Contact | None],
        ahead: Future[Lookahead],
        started: list[PendingReply],
        batch: WriteBatch,
    ) -> dict[str, Any]:
        """Decide the reply (what idempotency stores); `handle` waits for the writes it started."""
        try:
            pending = self._service.start(bot, message, contact=contact.result, ahead=ahead.result, batch=batch)
        except Exception:
            # A bug must not leave the customer without an answer: say a manager will reply.
            logger.exception("conversation failed for bot %s; replying with the handoff text", request_key["bot"])
            return fallback_reply(bot).model_dump(mode="json")
        started.append(pending)
        return pending.reply.model_dump(mode="json")

    # ---- managing -------------------------------------------------------------------------------------

    def resume(self, bot: BotConfig, contact_id: str, *, by: str) -> dict[str, Any]:
        resumed = self.store.resume(bot.bot_id, contact_id, by=by, retention_days=bot.transcript_retention_days)
        return {"bot_id": bot.bot_id, "contact_id": contact_id, "resumed": resumed}

    def health(self, bot: BotConfig) -> dict[str, Any]:
        active = self._kb.active(bot.bot_id)
        kb = (
            None
            if active is None
            else {
                "version": active.version,
                "entry_count": active.entry_count,
                "activated_at": active.activated_at.isoformat(),
            }
        )
        return {"bot_id": bot.bot_id, "enabled": bot.enabled, "platform": bot.platform.value, "kb": kb}


def _semantic_tier(dynamodb: Any, settings: WebhookSettings) -> SemanticTier:
    """The optional Bedrock tier (issue 7); it only acts for bots whose config enables it."""
    return SemanticTier.for_tables(
        kb_table=dynamodb.Table(settings.kb_table_name),
        conversations_table=dynamodb.Table(settings.conversations_table_name),
    )


def fallback_reply(bot: BotConfig) -> BotReply:
    """The handoff text in the bot's language: what the customer gets when everything else failed."""
    return BotReply(
        status=ReplyStatus.HANDOFF,
        language=bot.language,
        texts=(bot.texts.get("handoff", bot.language),),
        handoff_reason=EscalationReason.NO_ANSWER,
        degraded=True,
    )
