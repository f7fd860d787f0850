"""The website channel's domain: a visitor's message through the webhook's decision path, and polling for replies.

`functions/webhook/app.py` does HTTP (CORS headers, status codes); this does the rest: the bot's
Origin check, the per-visitor and per-IP rate limits, the message handled once by the same
`Webhook.handle` ManyChat and SmartSender messages go through (so the KB answer, clarification,
handoff, pause and lead rules are the same), and the transcript lines the widget shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faqbot.channels import web
from faqbot.channels.models import BotReply, InboundMessage, InvalidPayload
from faqbot.config import BotConfig
from faqbot.conversation.store import ConversationStore, StoredMessage
from faqbot.web.ratelimit import Limit, RateLimiter

VISITOR_HEADER = "x-faqbot-visitor"

BotSource = Callable[[str], BotConfig]
Handle = Callable[[BotConfig, InboundMessage], BotReply]


class WebChat:
    def __init__(self, *, bots: BotSource, handle: Handle, store: ConversationStore, limiter: RateLimiter) -> None:
        self._bots = bots
        self._handle = handle
        self._store = store
        self._limiter = limiter

    def bot(self, bot_id: str, origin: str | None) -> tuple[BotConfig, str]:
        """The bot and the caller's normalised Origin (`UnknownBot`, `OriginNotAllowed`)."""
        bot = self._bots(bot_id)
        return bot, web.allowed_origin(origin, bot.site_origins)

    def post(
        self, bot: BotConfig, *, visitor_id: str | None, body: Any, client_ip: str | None
    ) -> tuple[dict[str, Any], BotReply]:
        """The visitor's message → (the widget's response, the reply). A visitor without an id gets a new one."""
        known = web.valid_visitor_id(visitor_id)
        if visitor_id and known is None:
            raise InvalidPayload("the visitor id is not one this endpoint issued")
        limits = bot.web
        if known is not None:
            self._limiter.hit(
                Limit(f"{bot.bot_id}#visitor#{known}", limits.messages_per_minute, limits.rate_window_seconds),
                what="visitor",
            )
        if client_ip:
            self._limiter.hit(
                Limit(f"{bot.bot_id}#ip#{client_ip}", limits.ip_messages_per_minute, limits.rate_window_seconds),
                what="address",
            )
        visitor = known or web.new_visitor_id()
        after = web.valid_cursor(body.get("after") if isinstance(body, dict) else None)
        message = web.parse_message(body, visitor_id=visitor, settings=limits)
        reply = self._handle(bot, message)  # returns after the transcript is written
        if known and after:
            lines = self._store.messages(bot.bot_id, message.contact_id, after=after)
        else:
            lines = self._recent(bot, visitor)
        return web.render_reply(reply, visitor_id=visitor, new_lines=lines, after=after), reply

    def poll(self, bot: BotConfig, *, visitor_id: str | None, after: str | None) -> dict[str, Any]:
        """Lines after the cursor (bot and manager replies); without a cursor, the recent history."""
        cursor = web.valid_cursor(after)
        if not visitor_id:
            return {"messages": [], "cursor": cursor}
        visitor = web.valid_visitor_id(visitor_id)
        if visitor is None:
            raise InvalidPayload("the visitor id is not one this endpoint issued")
        if cursor is None:
            lines = self._recent(bot, visitor)
        else:
            lines = self._store.messages(bot.bot_id, web.contact_id_for(visitor), after=cursor)
        return {"messages": web.visible_messages(lines), "cursor": web.cursor_of(lines, cursor)}

    def _recent(self, bot: BotConfig, visitor: str) -> list[StoredMessage]:
        newest_first = self._store.messages(
            bot.bot_id, web.contact_id_for(visitor), limit=web.HISTORY_MESSAGES, newest_first=True
        )
        return web.history_start(newest_first)
