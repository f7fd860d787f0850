"""history_page: the signed transcript pages (`GET /history/{token}`) and the client's playground
(`/try/{token}`), one ASGI app run through Mangum.

The app itself is `faqbot.history.web` with the routes of `faqbot.playground.web`; this handler only
builds it once per warm container.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext
from faqbot import aws
from faqbot.bots.registry import BotRegistry
from faqbot.conversation.knowledge import MatcherCache
from faqbot.conversation.store import ConversationStore
from faqbot.history.links import SigningKeySource
from faqbot.history.web import create_app
from faqbot.kb.store import KnowledgeBaseStore
from faqbot.kb.sync import SourceStateStore
from faqbot.playground.sandbox import Playground
from faqbot.playground.web import playground_routes
from faqbot.settings import history_settings
from mangum import Mangum

logger = Logger(service="history_page")
copy_config_to_registered_loggers(source_logger=logger, include={"faqbot"})
T = TypeVar("T")


@cache
def asgi_handler() -> Mangum:
    """The app and its clients, built once per warm container (settings are read at first use, not import time)."""
    settings = history_settings()
    kb_table = aws.dynamodb().Table(settings.kb_table_name)
    keys = SigningKeySource.from_parameter(settings.history_signing_key_param)
    registry = BotRegistry(kb_table)
    kb = KnowledgeBaseStore(kb_table)
    playground = playground_routes(Playground(MatcherCache(kb)), keys, registry, kb, SourceStateStore(kb_table))
    app = create_app(
        ConversationStore(aws.client("dynamodb"), settings.conversations_table_name),
        keys,
        registry,
        extra_routes=playground,
    )
    return Mangum(app, lifespan="off")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Mangum declares its own LambdaContext protocol; Powertools' class has the same attributes.
    return _with_event_loop(lambda: asgi_handler()(event, context))  # type: ignore[arg-type]


def _with_event_loop(call: Callable[[], T]) -> T:
    """Mangum runs the app on the thread's current event loop. Lambda calls us on the main thread, which has
    one; the local stack calls from its HTTP server's worker threads, which get a loop for the call."""
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            return call()
        finally:
            asyncio.set_event_loop(None)
            loop.close()
    return call()
