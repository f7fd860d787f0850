"""webhook: ManyChat, SmartSender and website messages in, answers out; the widget, resume and health endpoints.

HTTP only: size, JSON, auth, status codes. The conversation lives in `faqbot.conversation`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from faqbot import __version__
from faqbot.bots.auth import SecretUnavailable, Unauthorized
from faqbot.bots.registry import UnknownBot
from faqbot.channels.models import BotReply, InvalidPayload, ReplyStatus
from faqbot.channels.web import MessageTooLong, OriginNotAllowed
from faqbot.config import BotConfig
from faqbot.conversation.webhook import RequestInProgress, Webhook
from faqbot.settings import webhook_settings
from faqbot.web.chat import VISITOR_HEADER, WebChat
from faqbot.web.ratelimit import RateLimited, RateLimiter
from faqbot.web.widget import CACHE_SECONDS, CONTENT_TYPE, widget_script
from pydantic import ValidationError

logger = Logger(service="webhook")
metrics = Metrics(namespace="faqbot", service="webhook")
tracer = Tracer(service="webhook")
app = APIGatewayHttpResolver()
copy_config_to_registered_loggers(source_logger=logger, include={"faqbot"})

_METRIC_BY_STATUS = {
    ReplyStatus.ANSWERED: "Answered",
    ReplyStatus.CLARIFY: "Clarified",
    ReplyStatus.SMALLTALK: "Smalltalk",
    ReplyStatus.HANDOFF: "Escalated",
    ReplyStatus.PAUSED: "Paused",
    ReplyStatus.DISABLED: "Disabled",
    ReplyStatus.IGNORED: "Ignored",
}
# The widget's browser calls: which headers it sends and may read, and how long a preflight is reused.
_CORS_ALLOW_HEADERS = f"Content-Type, {VISITOR_HEADER}"
_CORS_MAX_AGE_SECONDS = 600

if TYPE_CHECKING:
    from faqbot.notify.admin_chat import AdminChat


class BodyTooLarge(ValueError):
    """The request body is over `max_body_bytes` (HTTP 413)."""


@cache
def webhook() -> Webhook:
    """The domain entry, built once per warm container (settings and clients are read at first use)."""
    return Webhook.from_settings(webhook_settings())


@cache
def admin_chat() -> AdminChat:
    """The managers' Telegram chat (the Resume button), built once per warm container."""
    from faqbot.notify.admin_chat import AdminChat  # httpx & co.: only the Telegram route needs them

    return AdminChat.from_settings(webhook_settings())


@cache
def web_chat() -> WebChat:
    """The website channel: the webhook's decision path plus origins, rate limits and polling."""
    from faqbot import aws

    return WebChat(
        bots=webhook().auth.bot,
        handle=webhook().handle,
        store=webhook().store,  # the same conversations store (and its fast low-level path) as the messengers
        limiter=RateLimiter(aws.dynamodb().Table(webhook_settings().conversations_table_name)),
    )


# ---- routes -------------------------------------------------------------------------------------------


@app.post("/bots/<bot_id>/manychat")
def manychat(bot_id: str) -> dict[str, Any]:
    bot, body = _authenticated_json(bot_id)
    response, reply = webhook().manychat(bot, body, channel=_query("channel"))
    _count(bot, reply)
    return response


@app.post("/bots/<bot_id>/smartsender")
def smartsender(bot_id: str) -> dict[str, Any]:
    bot, body = _authenticated_json(bot_id)
    response, reply = webhook().smartsender(bot, body, channel=_query("channel"))
    _count(bot, reply)
    return response


@app.post("/bots/<bot_id>/contacts/<contact_id>/resume")
def resume(bot_id: str, contact_id: str) -> dict[str, Any]:
    """A manager (or a script) lets the bot answer this contact again."""
    bot, body = _authenticated_json(bot_id, required=False)
    by = body.get("by") if isinstance(body, dict) else None
    by = by.strip()[:100] if isinstance(by, str) and by.strip() else "api"
    if not contact_id or len(contact_id) > 200:
        raise InvalidPayload("contact id must be 1-200 characters")
    result = webhook().resume(bot, contact_id, by=by)
    if result["resumed"]:
        metrics.add_dimension(name="bot_id", value=bot.bot_id)
        metrics.add_metric(name="Resumed", unit=MetricUnit.Count, value=1)
    return result


@app.post("/telegram/<bot_id>")
def telegram(bot_id: str) -> dict[str, Any]:
    """Updates from the bot's Telegram admin chat (setWebhook with secret_token): the "Resume bot" button."""
    _check_size()
    bot = admin_chat().authenticate(bot_id, app.current_event.headers or {})
    body = _json_body(required=True)
    result = admin_chat().handle_update(bot, body)
    if result["action"] == "resumed":
        metrics.add_dimension(name="bot_id", value=bot.bot_id)
        metrics.add_metric(name="Resumed", unit=MetricUnit.Count, value=1)
    logger.info("telegram update handled", extra={"bot_id": bot.bot_id, **result})
    return {"ok": True}


@app.get("/widget/<file>")
def widget(file: str) -> Response:
    """`/widget/<bot_id>.js`: the embeddable chat widget (public: it holds nothing secret)."""
    bot_id, dot, extension = file.rpartition(".")
    if not dot or extension != "js":
        return _error(404, "the widget is /widget/<bot_id>.js")
    bot = webhook().auth.bot(bot_id)
    return Response(
        status_code=200,
        content_type=CONTENT_TYPE,
        body=widget_script(bot, api_base_url=_api_base_url()),
        headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}", "X-Content-Type-Options": "nosniff"},
    )


@app.route("/bots/<bot_id>/web/messages", method="OPTIONS")
def web_preflight(bot_id: str) -> Response:
    """CORS preflight: allowed only for the bot's site origins."""
    _, origin = web_chat().bot(bot_id, _header("origin"))
    app.append_context(cors_origin=origin)
    headers = {
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": _CORS_ALLOW_HEADERS,
        "Access-Control-Max-Age": str(_CORS_MAX_AGE_SECONDS),
    }
    return Response(status_code=204, headers=_with_cors(headers), body="")


@app.post("/bots/<bot_id>/web/messages")
def web_message(bot_id: str) -> Response:
    """A website visitor's message: the same decision as the messengers, the reply and the new lines."""
    _check_size()
    bot, origin = web_chat().bot(bot_id, _header("origin"))
    app.append_context(cors_origin=origin)
    body = _json_body(required=True)
    ip = app.current_event.request_context.http.source_ip
    response, reply = web_chat().post(bot, visitor_id=_header(VISITOR_HEADER), body=body, client_ip=ip)
    _count(bot, reply)
    return _json(200, response)


@app.get("/bots/<bot_id>/web/messages")
def web_messages(bot_id: str) -> Response:
    """The widget's poll: lines after `?after=<cursor>` (bot and manager replies), or the recent history."""
    bot, origin = web_chat().bot(bot_id, _header("origin"))
    app.append_context(cors_origin=origin)
    result = web_chat().poll(bot, visitor_id=_header(VISITOR_HEADER), after=_query("after"))
    return _json(200, result, {"Cache-Control": "no-store"})


@app.get("/health")
def health() -> dict[str, Any]:
    """Liveness only: a deployment serves many clients and must not list them."""
    return {"status": "ok", "version": __version__}


@app.get("/bots/<bot_id>/health")
def bot_health(bot_id: str) -> dict[str, Any]:
    bot = webhook().auth.authenticate(bot_id, app.current_event.headers or {})
    return {"status": "ok", "version": __version__, **webhook().health(bot)}


# ---- errors: one place maps domain exceptions to HTTP ----------------------------------------------------


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"error": reason}, headers)


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(payload, ensure_ascii=False),
        headers=_with_cors(headers or {}),
    )


def _with_cors(headers: dict[str, str]) -> dict[str, str]:
    """The widget's responses (errors included) readable by the page of an allowed origin, and only by it."""
    origin = app.context.get("cors_origin")
    if not origin:
        return headers
    return {
        **headers,
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


@app.exception_handler(OriginNotAllowed)
def _origin_not_allowed(exc: OriginNotAllowed) -> Response:
    return _error(403, str(exc))


@app.exception_handler(RateLimited)
def _rate_limited(exc: RateLimited) -> Response:
    metrics.add_metric(name="RateLimited", unit=MetricUnit.Count, value=1)
    return _error(429, str(exc), {"Retry-After": str(exc.retry_after)})


@app.exception_handler(MessageTooLong)
def _message_too_long(exc: MessageTooLong) -> Response:
    return _error(413, str(exc))


@app.exception_handler(UnknownBot)
def _unknown_bot(_: UnknownBot) -> Response:
    return _error(404, "unknown bot")


@app.exception_handler(Unauthorized)
def _unauthorized(exc: Unauthorized) -> Response:
    return _error(401, str(exc))


@app.exception_handler(BodyTooLarge)
def _too_large(exc: BodyTooLarge) -> Response:
    return _error(413, str(exc))


@app.exception_handler(InvalidPayload)
def _invalid(exc: InvalidPayload) -> Response:
    return _error(400, str(exc))


@app.exception_handler(ValidationError)
def _validation(exc: ValidationError) -> Response:
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
    return _error(400, f"invalid request: {problems}")


@app.exception_handler(RequestInProgress)
def _in_progress(exc: RequestInProgress) -> Response:
    return _error(409, str(exc))


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    """A bug: logged with the correlation id and counted, answered as JSON (never an exception out of the handler)."""
    logger.exception("unexpected error")
    metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1)
    return _error(500, "internal error")


@app.exception_handler(SecretUnavailable)
def _secret_unavailable(exc: SecretUnavailable) -> Response:
    logger.error("webhook secret unavailable", extra={"reason": str(exc)})
    metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1)
    return _error(503, "the bot's webhook secret is not available; try again later")


# ---- helpers -----------------------------------------------------------------------------------------


def _authenticated_json(bot_id: str, *, required: bool = True) -> tuple[BotConfig, Any]:
    """Size check, then auth, then JSON: a huge or unauthenticated body is never parsed."""
    _check_size()
    bot = webhook().auth.authenticate(bot_id, app.current_event.headers or {})
    return bot, _json_body(required=required)


def _check_size() -> None:
    raw = app.current_event.body or ""
    limit = webhook_settings().max_body_bytes
    if len(raw) > limit or len(raw.encode("utf-8", "surrogatepass")) > limit:
        raise BodyTooLarge(f"body larger than {limit} bytes")


def _json_body(*, required: bool) -> Any:
    event = app.current_event
    try:
        text = event.decoded_body if event.is_base64_encoded else (event.body or "")
        if not text or not text.strip():
            if required:
                raise InvalidPayload("empty body: send the contact as JSON")
            return {}
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, InvalidPayload):
            raise
        raise InvalidPayload("body is not valid JSON") from exc


def _header(name: str) -> str | None:
    for key, value in (app.current_event.headers or {}).items():
        if key.lower() == name:
            return value if isinstance(value, str) else None
    return None


def _api_base_url() -> str | None:
    """This API's base URL as the caller reached it (the widget prefers its own script URL)."""
    host = _header("host") or app.current_event.request_context.domain_name
    if not host:
        return None
    return f"{_header('x-forwarded-proto') or 'https'}://{host}"


def _query(name: str) -> str | None:
    params = app.current_event.query_string_parameters or {}
    value = params.get(name)
    return value if isinstance(value, str) else None


def _count(bot: BotConfig, reply: BotReply) -> None:
    """Per-bot metrics and one log line without message text or phone numbers."""
    metrics.add_dimension(name="bot_id", value=bot.bot_id)
    metrics.add_metric(name=_METRIC_BY_STATUS[reply.status], unit=MetricUnit.Count, value=1)
    if reply.degraded:
        metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1)
    logger.info(
        "message handled",
        extra={
            "bot_id": bot.bot_id,
            "status": reply.status.value,
            "decision": reply.decision,
            "entry_id": reply.entry_id,
            "score": reply.score,
            "reason": reply.handoff_reason.value if reply.handoff_reason else None,
            "degraded": reply.degraded,
        },
    )


# ---- entry point -------------------------------------------------------------------------------------


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    webhook().register_lambda_context(context)
    return app.resolve(event, context)
