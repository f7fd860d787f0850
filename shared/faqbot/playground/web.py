"""The playground's routes, mounted in the history_page app (`faqbot.history.web.create_app(extra_routes=...)`).

- `GET /try/{token}`: the page (chat box, channel picker, the "why" beside each reply, the KB panel).
- `POST /try/{token}/messages`: `{"text": "...", "channel": "instagram"}` (optionally `"pending"`, the
  "Did you mean…" the page shows, echoed back) → the reply as the channel renders it, the decision, the top
  three entries with scores and the KB version. Bad token → 403, bad body → 400 with a reason (JSON).

Tokens are the history links' (same signing and key rotation) with the `playground` purpose, so a history
token never opens a playground and the reverse. The page runs our own nonce'd inline script only, and may
talk to its own origin only (`connect-src 'self'`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol

from jinja2 import Environment
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from faqbot.bots.registry import UnknownBot
from faqbot.config import BotConfig, Language
from faqbot.history.labels import reader_language
from faqbot.history.links import SigningKeySource, TokenClaims, TokenPurpose
from faqbot.history.transcript import bot_local_time
from faqbot.history.web import PageError, content_security_policy, error_page, page_claims, render, template_environment
from faqbot.kb.store import ActiveKb
from faqbot.kb.sync import SourceState
from faqbot.playground.labels import Labels, playground_labels
from faqbot.playground.sandbox import KbPanel, Playground, PlaygroundChannel, TryRequest, notify_targets

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
Clock = Callable[[], datetime]


class BotConfigs(Protocol):
    def get(self, bot_id: str) -> BotConfig: ...


class ActiveVersions(Protocol):
    def active(self, bot_id: str, *, consistent: bool = False) -> ActiveKb | None: ...


class SourceStates(Protocol):
    def get(self, bot_id: str) -> SourceState | None: ...


@cache
def templates() -> Environment:
    """Our templates, plus the history pages' stylesheet (one look for every page history_page serves)."""
    return template_environment("faqbot.playground", "faqbot.history")


def playground_routes(
    playground: Playground,
    keys: SigningKeySource,
    registry: BotConfigs,
    kb: ActiveVersions,
    sources: SourceStates | None = None,
    *,
    clock: Clock = lambda: datetime.now(UTC),
) -> Sequence[BaseRoute]:
    """The `/try/...` routes for `create_app(extra_routes=...)`."""

    async def page(request: Request) -> Response:
        try:
            claims, config = _authorize(request, keys, registry, clock())
        except PageError as refused:
            t = _labels(request, refused.language or Language.UK)
            return error_page(request, refused.status, refused.kind, labels=t, environment=templates())
        t = _labels(request, config.language)
        active = kb.active(config.bot_id)
        source = sources.get(config.bot_id) if sources is not None and config.kb_source_url else None
        panel = playground.kb_panel(config, active, source)
        context = {
            "t": t,
            "bot": config,
            "panel": _panel_view(panel, config, t),
            "channels": _channel_order(config),
            "valid_until": bot_local_time(claims.expires_at, config),
            "script_labels": _script_labels(t, config),
        }
        response = render(request, "playground.html.j2", context, environment=templates())
        response.headers["Content-Security-Policy"] = content_security_policy(
            request.state.csp_nonce, scripts=True, connect_self=True
        )
        return response

    async def messages(request: Request) -> Response:
        try:
            _, config = _authorize(request, keys, registry, clock())
        except PageError as refused:
            return JSONResponse({"error": refused.kind}, status_code=refused.status)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _bad_request(f"the body is over {MAX_BODY_BYTES} bytes")
        try:
            data = json.loads(body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _bad_request('the body is not JSON: send {"text": "...", "channel": "instagram"}')
        if not isinstance(data, dict):
            return _bad_request('expected a JSON object: {"text": "...", "channel": "instagram"}')
        try:
            try_request = TryRequest.model_validate(data)
        except ValidationError as exc:
            return _bad_request(_reason(exc))
        result = playground.try_message(config, try_request)
        return JSONResponse(result.to_json())

    return [
        Route("/try/{token}", page, methods=["GET"]),
        Route("/try/{token}/messages", messages, methods=["POST"]),
    ]


def _authorize(
    request: Request, keys: SigningKeySource, registry: BotConfigs, now: datetime
) -> tuple[TokenClaims, BotConfig]:
    claims = page_claims(keys, request.path_params["token"], TokenPurpose.PLAYGROUND, now)
    try:
        return claims, registry.get(claims.bot_id)
    except UnknownBot:
        raise PageError(404, "not_found") from None


def _bad_request(reason: str) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "reason": reason}, status_code=400)


def _reason(exc: ValidationError) -> str:
    """The first problem, said plainly: `text: type a message`, `channel: Input should be 'instagram', ...`."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _labels(request: Request, fallback: Language) -> Labels:
    return playground_labels(reader_language(request.headers.get("accept-language"), fallback))


def _channel_order(config: BotConfig) -> list[str]:
    """The picker: the bot's own platform first (SmartSender bots start on SmartSender)."""
    channels = [channel.value for channel in PlaygroundChannel]
    if config.platform.value == PlaygroundChannel.SMARTSENDER.value:
        channels.remove(PlaygroundChannel.SMARTSENDER.value)
        channels.insert(0, PlaygroundChannel.SMARTSENDER.value)
    return channels


def _panel_view(panel: KbPanel, config: BotConfig, t: Labels) -> dict[str, Any]:
    """The KB panel's lines, in the reader's words."""
    language = Language(t["html_lang"])
    view: dict[str, Any] = {"lines": [], "issues": [], "has_kb": panel.active is not None}
    if panel.active is None:
        view["lines"].append(t["kb_none"])
    else:
        active = panel.active
        view["lines"].append(t["kb_active"].format(version=active.version, count=active.entry_count))
        view["lines"].append(
            t["kb_activated"].format(time=bot_local_time(active.activated_at, config), source=active.source or "?")
        )
        view["issues"] = [issue.located_message(language) for issue in panel.issues]
    if config.kb_source_url:
        view["lines"].append(t["kb_synced"].format(url=config.kb_source_url))
    if panel.source is not None:
        status = t[f"sync.{panel.source.status}"]
        if panel.source.message:
            status = f"{status}: {panel.source.message}"
        view["lines"].append(
            t["kb_checked"].format(time=bot_local_time(panel.source.checked_at, config), status=status)
        )
    return view


def _script_labels(t: Labels, config: BotConfig) -> dict[str, str]:
    """What the page's script writes (decision names, the handoff note with this bot's targets)."""
    keys = [key for key in t if key.startswith(("decision", "error")) and not key.startswith("error.")]
    keys += ["you", "bot", "silent", "why", "picked", "candidates", "row", "score", "no_candidates", "kb_version"]
    keys += ["paused_note", "disabled_note", "degraded", "choose", "thresholds"]
    words = {key: t[key] for key in keys}
    targets = [t[f"target.{target}"] for target in notify_targets(config)]
    words["handoff_note"] = t["handoff_note"].format(targets=", ".join(targets)) if targets else t["handoff_note_none"]
    return words
