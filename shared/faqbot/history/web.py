"""The history_page web app (ASGI, Starlette): signed transcript pages, served through Mangum on Lambda.

Routes: `GET /history/{token}` (optional `?before=<cursor>` for earlier messages). The playground
(`/try/...`) joins later through `create_app(extra_routes=...)` and the helpers here (`render`,
`error_page`, `content_security_policy`, `page_claims`, `PageError`).

Every response (errors included) carries `Cache-Control: no-store`, `X-Robots-Tag: noindex`, a strict
CSP with a per-request nonce for our own inline style, `Referrer-Policy: no-referrer` and
`X-Content-Type-Options: nosniff`. Token problems are 403 pages, an unknown contact a 404 page;
error pages never show transcript data.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faqbot.bots.registry import BotRegistry, UnknownBot
from faqbot.config import BotConfig, Language
from faqbot.conversation.store import Contact, StoredMessage
from faqbot.history.labels import Labels, labels_for, reader_language
from faqbot.history.links import (
    BadSignature,
    BadSigningKey,
    ExpiredToken,
    InvalidToken,
    SigningKeys,
    SigningKeySource,
    TokenClaims,
    TokenPurpose,
    verify_token,
)
from faqbot.history.transcript import build_transcript_page
from faqbot.secrets import SecretNotFound

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 200
_CURSOR = re.compile(r"^msg#\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#\d{6}$")

Clock = Callable[[], datetime]


class TranscriptReader(Protocol):
    """What the page reads, and no more (`faqbot.conversation.store.ConversationStore` is one)."""

    def get_contact(self, bot_id: str, contact_id: str) -> Contact | None: ...

    def messages(
        self, bot_id: str, contact_id: str, *, limit: int, before: str | None, newest_first: bool
    ) -> list[StoredMessage]: ...


class BotConfigs(Protocol):
    def get(self, bot_id: str) -> BotConfig: ...


class PageError(Exception):
    """Ends a request with an error page: `kind` picks its words (error.<kind>.title/body)."""

    def __init__(self, status: int, kind: str, *, language: Language | None = None) -> None:
        super().__init__(kind)
        self.status = status
        self.kind = kind
        self.language = language


# ---- security headers ---------------------------------------------------------------------------------


def content_security_policy(nonce: str, *, scripts: bool = False, connect_self: bool = False) -> str:
    """Nothing loads but our own nonce'd inline style (and script, for pages that need one) and data: images."""
    directives = [
        "default-src 'none'",
        f"style-src 'nonce-{nonce}'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    if scripts:
        directives.append(f"script-src 'nonce-{nonce}'")
    if connect_self:
        directives.append("connect-src 'self'")
    return "; ".join(directives)


def _base_headers(nonce: str) -> dict[str, str]:
    return {
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex, nofollow",
        "Content-Security-Policy": content_security_policy(nonce),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


class SecurityHeaders:
    """ASGI middleware, outermost: a CSP nonce per request (`request.state.csp_nonce`) and the headers on every
    response. A route may set its own `Content-Security-Policy` (with the same nonce); the rest are enforced."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _base_headers(nonce).items():
                    if name == "Content-Security-Policy" and name in headers:
                        continue
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


# ---- rendering ----------------------------------------------------------------------------------------


def template_environment(*packages: str) -> Environment:
    """The templates of `packages` (the first that has a name wins); autoescaping everywhere: customer text is
    untrusted."""
    return Environment(
        loader=ChoiceLoader([PackageLoader(package, "templates") for package in packages]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def templates() -> Environment:
    return template_environment("faqbot.history")


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    environment: Environment | None = None,
) -> HTMLResponse:
    """An HTML page with the request's CSP nonce (from this package's templates unless `environment` says)."""
    html = (environment or templates()).get_template(template).render(nonce=request.state.csp_nonce, **context)
    return HTMLResponse(html, status_code=status)


def error_page(
    request: Request, status: int, kind: str, *, labels: Labels, environment: Environment | None = None
) -> HTMLResponse:
    """An error page in `labels`' words (`error.<kind>.title/body`); it never shows transcript data."""
    context = {"t": labels, "title": labels[f"error.{kind}.title"], "body": labels[f"error.{kind}.body"]}
    return render(request, "error.html.j2", context, status=status, environment=environment)


def _labels(request: Request, fallback: Language | None = None) -> Labels:
    return labels_for(reader_language(request.headers.get("accept-language"), fallback))


# ---- the app ------------------------------------------------------------------------------------------


def verified_claims(keys: SigningKeySource, token: str, purpose: TokenPurpose, now: datetime) -> TokenClaims:
    """Verify, re-reading the keys once if the signature fails (a link signed right after a key rotation)."""
    try:
        return verify_token(keys.get(), token, purpose, now)
    except BadSignature:
        fresh = keys.reload()
        if fresh is None:
            raise
        return verify_token(fresh, token, purpose, now)


def page_claims(keys: SigningKeySource, token: str, purpose: TokenPurpose, now: datetime) -> TokenClaims:
    """`verified_claims`, or the `PageError` a page shows: 403 for a bad or expired token, 503 without a key."""
    try:
        return verified_claims(keys, token, purpose, now)
    except ExpiredToken:
        logger.info("expired %s token", purpose.value)
        raise PageError(403, "expired") from None
    except InvalidToken as exc:
        logger.info("refused %s token", purpose.value, extra={"reason": str(exc)})
        raise PageError(403, "invalid") from None
    except (SecretNotFound, BadSigningKey):
        logger.exception("%s signing key unavailable (HISTORY_SIGNING_KEY_PARAM)", purpose.value)
        raise PageError(503, "unavailable") from None


def create_app(
    store: TranscriptReader,
    keys: SigningKeys | SigningKeySource,
    registry: BotConfigs | BotRegistry,
    *,
    clock: Clock = lambda: datetime.now(UTC),
    page_size: int = DEFAULT_PAGE_SIZE,
    extra_routes: Sequence[BaseRoute] = (),
) -> SecurityHeaders:
    """The ASGI app history_page serves (under Mangum on Lambda, uvicorn or the local stack elsewhere)."""
    key_source = keys if isinstance(keys, SigningKeySource) else SigningKeySource.fixed(keys)

    async def history(request: Request) -> Response:
        return _history_page(request, store, key_source, registry, clock(), page_size)

    async def refused(request: Request) -> Response:
        raise PageError(403, "invalid")

    async def page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        return error_page(request, exc.status, exc.kind, labels=_labels(request, exc.language))

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        return error_page(request, status, "not_found" if status == 404 else "bad_request", labels=_labels(request))

    async def server_error(request: Request, exc: Exception) -> Response:
        logger.exception("history page failed")
        return error_page(request, 500, "unavailable", labels=_labels(request))

    app = Starlette(
        # A mangled link with a "/" in its token (or a trailing one) is refused like any bad token (403), not
        # redirected by Starlette's slash handling to some other URL.
        routes=[
            Route("/history/{token}", history, methods=["GET"]),
            Route("/history/{token}/{rest:path}", refused, methods=["GET"]),
            *extra_routes,
        ],
        exception_handlers={PageError: page_error, HTTPException: http_error, Exception: server_error},
    )
    return SecurityHeaders(app)


def _history_page(
    request: Request,
    store: TranscriptReader,
    keys: SigningKeySource,
    registry: BotConfigs | BotRegistry,
    now: datetime,
    page_size: int,
) -> Response:
    token = request.path_params["token"]
    claims = page_claims(keys, token, TokenPurpose.HISTORY, now)
    assert claims.contact_id is not None  # history tokens always name a contact

    before = request.query_params.get("before") or None
    if before is not None and not _CURSOR.fullmatch(before):
        raise PageError(400, "bad_request")
    try:
        config = registry.get(claims.bot_id)
    except UnknownBot:
        raise PageError(404, "not_found") from None
    contact = store.get_contact(claims.bot_id, claims.contact_id)
    if contact is None:
        raise PageError(404, "not_found", language=config.language)

    newest = store.messages(claims.bot_id, claims.contact_id, limit=page_size + 1, before=before, newest_first=True)
    shown = list(reversed(newest[:page_size]))
    earlier_cursor = shown[0].sk if len(newest) > page_size else None
    t = _labels(request, config.language)
    page = build_transcript_page(
        config,
        contact,
        shown,
        labels=t,
        valid_until=claims.expires_at,
        now=now,
        earlier_cursor=earlier_cursor,
        is_earlier_page=before is not None,
    )
    return render(request, "history.html.j2", {"t": t, "page": page, "token": token})
