"""The generic CRM webhook: every event POSTed as JSON to the bot's URL, signed.

Signature header (Stripe-style, so the receiver can reject replays):

    X-Faqbot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

plus `X-Faqbot-Event` (the type) and `X-Faqbot-Event-Id` (the same on every retry of one event:
delivery is at least once, the receiver deduplicates on it). 2xx is success; 408/429/5xx and
timeouts are retried through the queue; any other 4xx is permanent (dead-lettered with the
receiver's answer). A receiver may answer a `lead.ready` with `{"lead_id": "..."}`: the id is
stored on the contact and sent back in later events as `contact.crm_lead_id`.

Bodies (`type` is one of `lead.ready`, `escalation`, `transcript.updated`, `ping`):

    {"type": "...", "event_id": "...", "bot_id": "...", "occurred_at": "ISO time",
     "contact": {"id", "name", "username", "phone", "email", "channel", "platform", "crm_lead_id"},
     "links": {"chat": url|null, "transcript": url|null},
     "escalation": {"reason", "question"}            (escalation only)
     "messages": [{"at", "role", "text", "kind", "detail"}]   (transcript.updated only)}

`verify_signature` below is what a receiver runs (docs/managers.md has the same code).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from faqbot.config import BotConfig
from faqbot.conversation.store import StoredMessage
from faqbot.crm.adapter import CrmContext, CrmPermanentError, CrmRateLimited, CrmResult, CrmTransientError
from faqbot.crm.transcript import NoteDelivery, message_payload
from faqbot.events import Escalation, LeadReady, TranscriptUpdated

SIGNATURE_HEADER = "X-Faqbot-Signature"
EVENT_HEADER = "X-Faqbot-Event"
EVENT_ID_HEADER = "X-Faqbot-Event-Id"
DEFAULT_TOLERANCE_SECONDS = 300
DEFAULT_RETRY_AFTER_SECONDS = 30
MAX_ANSWER_CHARS = 300


class WebhookRateLimited(CrmRateLimited):
    pass


class WebhookTransientError(CrmTransientError):
    pass


class WebhookPermanentError(CrmPermanentError):
    pass


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Faqbot-Signature` value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, body: bytes, header: str, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """True when `header` signs exactly `body` with `secret` and its timestamp is within `tolerance` seconds."""
    try:
        fields = dict(part.strip().split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


class WebhookClient:
    """POSTs signed JSON to one URL; takes the httpx client (timeouts, transport) so tests swap it."""

    def __init__(
        self,
        http: httpx.Client,
        url: str,
        secret: str,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self._http = http
        self._url = url
        self._secret = secret
        self._clock = clock
        self._timeout = timeout

    def post(self, payload: dict[str, Any]) -> Any:
        """The receiver's JSON answer (None if it sent none), or one of the webhook errors."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body, int(self._clock())),
            EVENT_HEADER: str(payload.get("type", "")),
            EVENT_ID_HEADER: str(payload.get("event_id", "")),
            "User-Agent": "faqbot-crm-webhook/1",
        }
        try:
            response = self._http.post(self._url, content=body, headers=headers, timeout=self._timeout)
        except httpx.TimeoutException:
            raise WebhookTransientError(f"CRM webhook {self._url} timed out") from None
        except httpx.TransportError as exc:
            raise WebhookTransientError(f"CRM webhook {self._url}: connection failed ({type(exc).__name__})") from None
        answer = response.text[:MAX_ANSWER_CHARS].strip()
        if response.status_code == 429:
            raise WebhookRateLimited(f"CRM webhook answered 429: {answer}", retry_after=_retry_after(response))
        if response.status_code >= 500 or response.status_code == 408:
            raise WebhookTransientError(f"CRM webhook answered {response.status_code}: {answer}")
        if not response.is_success:
            raise WebhookPermanentError(f"CRM webhook {self._url} refused the event ({response.status_code}): {answer}")
        try:
            return response.json() if response.content else None
        except ValueError:
            return None


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER_SECONDS)), 1.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS


def ping_payload(bot: BotConfig) -> dict[str, Any]:
    """The `ping` event `faqbot crm test` sends: signed like every event, about no contact."""
    return {
        "type": "ping",
        "event_id": f"ping-{int(time.time())}",
        "bot_id": bot.bot_id,
        "occurred_at": datetime.now(UTC).isoformat(),
    }


class WebhookCrm:
    """`CrmAdapter` for the generic webhook: one POST per event (once per event id), transcripts by cursor."""

    def __init__(self, client: WebhookClient, context: CrmContext) -> None:
        self._client = client
        self._context = context

    def on_lead_ready(self, bot: BotConfig, event: LeadReady) -> CrmResult:
        answer = self._post_once(self._envelope(bot, event))
        lead_id = answer.get("lead_id")
        if lead_id:
            self._context.store.set_crm_lead_id(bot.bot_id, event.contact_id, str(lead_id))
        messages = self._sync_transcript(bot, event)
        return CrmResult(action="lead_sent", lead_id=str(lead_id) if lead_id else None, details={"chunks": messages})

    def on_escalation(self, bot: BotConfig, event: Escalation) -> CrmResult:
        payload = self._envelope(bot, event)
        payload["escalation"] = {"reason": event.reason.value, "question": event.question}
        self._post_once(payload)
        return CrmResult(action="escalation_sent", details={"chunks": self._sync_transcript(bot, event)})

    def on_transcript(self, bot: BotConfig, event: TranscriptUpdated) -> CrmResult:
        return CrmResult(action="transcript_sent", details={"chunks": self._sync_transcript(bot, event)})

    def ping(self, bot: BotConfig) -> Any:
        """A signed test event (`faqbot crm test`)."""
        return self._client.post(ping_payload(bot))

    def _post_once(self, payload: dict[str, Any]) -> dict[str, Any]:
        def post() -> dict[str, Any]:
            answer = self._client.post(payload)
            lead_id = answer.get("lead_id") if isinstance(answer, dict) else None
            return {"lead_id": str(lead_id) if lead_id else None}

        return self._context.once.run({"event_id": payload["event_id"], "step": "webhook.post"}, post)

    def _sync_transcript(self, bot: BotConfig, event: LeadReady | Escalation | TranscriptUpdated) -> int:
        base = self._envelope(bot, event)

        def deliver(messages: Sequence[StoredMessage], delivery: NoteDelivery) -> dict[str, Any]:
            # One POST per chunk; its own event id (the source event's id + the first message) for deduplication:
            # a receiver that kept a POST we took for failed drops the retry by that id.
            payload = {
                **base,
                "type": "transcript.updated",
                "event_id": f"{event.event_id}:{messages[0].sk}",
                "messages": [message_payload(message) for message in messages],
            }
            self._client.post(payload)
            return {}

        return self._context.transcripts.sync(bot, event.contact_id, target="webhook", deliver=deliver).chunks

    def _envelope(self, bot: BotConfig, event: LeadReady | Escalation | TranscriptUpdated) -> dict[str, Any]:
        stored = self._context.store.get_contact(bot.bot_id, event.contact_id)
        facts = {
            key: getattr(event, key, None) or (getattr(stored, key) if stored else None) for key in _CONTACT_FIELDS
        }
        return {
            "type": event.type,
            "event_id": event.event_id,
            "bot_id": bot.bot_id,
            "occurred_at": event.occurred_at.isoformat(),
            "contact": {
                "id": event.contact_id,
                **facts,
                "channel": event.channel.value,
                "platform": event.platform.value,
                "crm_lead_id": stored.crm_lead_id if stored else None,
            },
            "links": {
                "chat": facts.get("chat_url"),
                "transcript": self._context.links.for_contact(bot, event.contact_id),
            },
        }


_CONTACT_FIELDS = ("name", "username", "phone", "email", "chat_url")
