"""Kommo (amoCRM) API v4: the one place for its wire format, and the adapter crm_sync uses.

Wire format (`KommoClient`): `Authorization: Bearer <long-lived token>` on the account's own
domain; success is `application/hal+json`, an empty list is `204` with no body, errors are
`application/problem+json` (`title`, `status`, `detail`, and `validation-errors` on 400). Errors
map to `KommoRateLimited` (429), `KommoTransientError` (5xx, timeouts) and `KommoPermanentError`
(401 token, 402 account, 403 forbidden, 400 validation: with Kommo's own words). Kommo allows 7
requests/s per account; each container keeps under `KommoSettings.max_requests_per_second`.

Behaviour (`KommoCrm`):
- `lead.ready`: the contact's lead is `Contact.crm_lead_id` if known. Otherwise look the person up
  by phone, then e-mail (`GET /api/v4/contacts?query=…&with=leads`, re-checked here because the
  search matches any field), reuse their open lead in the configured pipeline, or create lead and
  contact in one call (`POST /api/v4/leads/complex`). That step runs once per contact (`Once`),
  and the id is stored on the contact: never a second lead for the same contact and bot.
  Then the conversation so far goes into a note.
- `escalation`: the same lead (created if needed), then per config a task for the responsible
  manager with the chat and transcript links (once per event) and a move to the handoff stage.
- `transcript.updated`: new messages since the contact's cursor go into a note on the lead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from faqbot.config import BotConfig, Channel, KommoSettings
from faqbot.conversation.leads import normalize_email, normalize_phone
from faqbot.conversation.store import StoredMessage
from faqbot.crm.adapter import (
    CrmContext,
    CrmPermanentError,
    CrmRateLimited,
    CrmResult,
    CrmTransientError,
)
from faqbot.crm.transcript import NoteDelivery, format_note
from faqbot.events import Escalation, LeadReady, TranscriptUpdated
from faqbot.telegram.messages import CHANNEL_NAMES, labels

logger = logging.getLogger(__name__)

WON_STATUS_ID = 142
LOST_STATUS_ID = 143
DEFAULT_RETRY_AFTER_SECONDS = 1  # the limit is per second
MAX_INLINE_WAIT_SECONDS = 1.0  # never sleep longer than this inside a Lambda
RETRY_PAUSE_SECONDS = 0.5
FOLLOW_UP_TASK_TYPE = 1
MAX_REQUEST_ID_CHARS = 100
MAX_TASK_QUESTION_CHARS = 500
NOTE_REF_PREFIX = "faqbot #"  # a note's last line: the chunk's reference, how a retry finds a copy Kommo kept
NOTES_PAGE = 100  # notes read back on a retry: the ones changed since the failed try
NOTE_CLOCK_SKEW_SECONDS = 300  # our clock against Kommo's, when looking back for a kept note
_IDEMPOTENT_METHODS = ("GET", "PATCH")
_NOT_PROCESSED_STATUSES = (502, 503)  # answered by the gateway: the request never reached Kommo


# ---- errors -----------------------------------------------------------------------------------------


class KommoRateLimited(CrmRateLimited):
    """429: more than 7 requests/s on the account."""


class KommoTransientError(CrmTransientError):
    """5xx (`status`), a timeout or a connection failure (`status` None)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class KommoPermanentError(CrmPermanentError):
    """Kommo refused the request; `detail` is Kommo's own explanation."""

    def __init__(self, status: int, detail: str, *, path: str) -> None:
        super().__init__(f"Kommo {status} on {path}: {detail}")
        self.status = status
        self.detail = detail


# ---- rate limit ---------------------------------------------------------------------------------------


class RateLimiter:
    """At most `rate` requests per second: each request waits until 1/rate s after the previous one."""

    def __init__(
        self,
        rate: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


_limiters: dict[tuple[str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def account_limiter(base_url: str, rate: float) -> RateLimiter:
    """One limiter per Kommo account in this container, shared by every client of that account."""
    with _limiters_lock:
        key = (base_url.rstrip("/").lower(), rate)
        if key not in _limiters:
            _limiters[key] = RateLimiter(rate)
        return _limiters[key]


# ---- API models -----------------------------------------------------------------------------------


class KommoContact(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    name: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    lead_ids: tuple[int, ...] = ()


class KommoLead(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    name: str | None = None
    pipeline_id: int | None = None
    status_id: int | None = None
    closed_at: int | None = None
    is_deleted: bool = False


class KommoStatus(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    name: str = ""


class KommoPipeline(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    name: str = ""
    is_main: bool = False
    statuses: tuple[KommoStatus, ...] = Field(default=())


class KommoNote(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    note_type: str | None = None
    params: dict[str, Any] = {}

    @property
    def text(self) -> str:
        return str(self.params.get("text") or "")


class CreatedLead(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    contact_id: int | None = None


# ---- client --------------------------------------------------------------------------------------------


class KommoClient:
    """One Kommo account; takes the httpx client (timeouts, transport) so tests and the outbox swap it."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        token: str,
        *,
        max_requests_per_second: float = 3.5,
        limiter: RateLimiter | None = None,
        max_inline_wait: float = MAX_INLINE_WAIT_SECONDS,
        retry_pause: float = RETRY_PAUSE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._limiter = limiter or account_limiter(base_url, max_requests_per_second)
        self._max_inline_wait = max_inline_wait
        self._retry_pause = retry_pause
        self._sleep = sleep

    def find_contacts(self, query: str) -> list[KommoContact]:
        """Contacts where any field contains `query`, with their lead ids (re-check the match yourself)."""
        body = self._request("GET", "/api/v4/contacts", params=[("query", query), ("with", "leads"), ("limit", "50")])
        return [_contact(item) for item in _embedded(body, "contacts")]

    def leads_by_id(self, ids: Sequence[int]) -> list[KommoLead]:
        if not ids:
            return []
        params = [("filter[id][]", str(lead_id)) for lead_id in ids[:50]] + [("limit", "50")]
        return [
            KommoLead.model_validate(item)
            for item in _embedded(self._request("GET", "/api/v4/leads", params=params), "leads")
        ]

    def create_complex_leads(self, payload: list[dict[str, Any]]) -> list[CreatedLead]:
        """`POST /api/v4/leads/complex`; the answer is a plain array (not `_embedded`)."""
        body = self._request("POST", "/api/v4/leads/complex", json=payload)
        if not isinstance(body, list):
            raise KommoTransientError("leads/complex answered without the created leads")
        return [CreatedLead.model_validate(item) for item in body]

    def create_tasks(self, payload: list[dict[str, Any]]) -> list[int]:
        return [int(item["id"]) for item in _embedded(self._request("POST", "/api/v4/tasks", json=payload), "tasks")]

    def update_leads(self, payload: list[dict[str, Any]]) -> None:
        self._request("PATCH", "/api/v4/leads", json=payload)

    def lead_notes(self, lead_id: int, *, updated_since: int) -> list[KommoNote]:
        """The lead's text notes changed since `updated_since` (epoch seconds); one page, enough for a retry."""
        params = [
            ("filter[note_type]", "common"),
            ("filter[updated_at][from]", str(updated_since)),
            ("limit", str(NOTES_PAGE)),
        ]
        body = self._request("GET", f"/api/v4/leads/{lead_id}/notes", params=params)
        return [KommoNote.model_validate(item) for item in _embedded(body, "notes")]

    def add_lead_notes(self, lead_id: int, payload: list[dict[str, Any]]) -> list[int]:
        body = self._request("POST", f"/api/v4/leads/{lead_id}/notes", json=payload)
        return [int(item["id"]) for item in _embedded(body, "notes")]

    def pipelines(self) -> list[KommoPipeline]:
        pipelines = []
        for item in _embedded(self._request("GET", "/api/v4/leads/pipelines"), "pipelines"):
            statuses = ((item.get("_embedded") or {}).get("statuses")) or []
            pipelines.append(KommoPipeline.model_validate({**item, "statuses": statuses}))
        return pipelines

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        json: Any = None,
    ) -> Any:
        """The JSON body, None for 204; or one of the Kommo errors, after one quick retry.

        Retried here: a 429 asking for at most `max_inline_wait` seconds (Kommo did not act on the
        request); for reads and PATCH (idempotent) a 5xx or a timeout; for POST only a 502/503 (the
        gateway never reached Kommo). A POST that failed with a 500/504 or a timeout may have been
        carried out, so it goes back to the queue, whose retry looks the lead up before creating it.
        """
        try:
            return self._request_once(method, path, params=params, json=json)
        except KommoRateLimited as exc:
            if exc.retry_after > self._max_inline_wait:
                raise
            self._sleep(exc.retry_after)
        except KommoTransientError as exc:
            if method not in _IDEMPOTENT_METHODS and exc.status not in _NOT_PROCESSED_STATUSES:
                raise
            self._sleep(self._retry_pause)
        return self._request_once(method, path, params=params, json=json)

    def _request_once(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None,
        json: Any,
    ) -> Any:
        self._limiter.wait()
        try:
            response = self._http.request(
                method,
                f"{self._base_url}{path}",
                params=tuple(params or ()),
                json=json,
                headers={"Authorization": f"Bearer {self._token}", "Accept": "application/hal+json"},
            )
        except httpx.TimeoutException as exc:
            raise KommoTransientError(f"Kommo {method} {path} timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise KommoTransientError(f"Kommo {method} {path}: connection failed ({type(exc).__name__})") from None
        if response.status_code == 204:
            return None
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                raise KommoTransientError(f"Kommo {method} {path}: the answer is not JSON") from None
        raise _error(response, path)


def _error(response: httpx.Response, path: str) -> Exception:
    status = response.status_code
    problem = _problem(response)
    detail = _problem_detail(problem) or response.reason_phrase or f"HTTP {status}"
    if status == 429:
        return KommoRateLimited(f"Kommo 429 on {path}: {detail}", retry_after=_retry_after(response))
    if status >= 500:
        return KommoTransientError(f"Kommo {status} on {path}: {detail}", status=status)
    hints = {
        401: "the long-lived token is wrong or expired: generate a new one and store it",
        402: "the Kommo account is not paid",
        403: "the token has no access, or Kommo blocked this IP",
    }
    if status in hints:
        detail = f"{detail} ({hints[status]})"
    return KommoPermanentError(status, detail, path=path)


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _problem_detail(problem: dict[str, Any]) -> str:
    """problem+json → one line: the title/detail, then each validation error's path and detail."""
    parts = [str(problem[key]) for key in ("title", "detail") if problem.get(key)]
    for group in problem.get("validation-errors") or []:
        for error in (group or {}).get("errors") or []:
            parts.append(f"{error.get('path', '?')}: {error.get('detail') or error.get('code')}")
    return "; ".join(parts)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER_SECONDS)), 1.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS


def _embedded(body: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    items = (body.get("_embedded") or {}).get(key) or []
    return [item for item in items if isinstance(item, dict)]


def _contact(item: dict[str, Any]) -> KommoContact:
    phones: list[str] = []
    emails: list[str] = []
    for field in item.get("custom_fields_values") or []:
        values = [str(v.get("value")) for v in field.get("values") or [] if v.get("value")]
        if field.get("field_code") == "PHONE":
            phones.extend(values)
        elif field.get("field_code") == "EMAIL":
            emails.extend(values)
    leads = ((item.get("_embedded") or {}).get("leads")) or []
    return KommoContact(
        id=int(item["id"]),
        name=item.get("name"),
        phones=tuple(phones),
        emails=tuple(emails),
        lead_ids=tuple(int(lead["id"]) for lead in leads if isinstance(lead, dict) and "id" in lead),
    )


# ---- payloads (pure: what goes over the wire) ----------------------------------------------------------


class Person(BaseModel):
    """Who the lead is about, from the event and the stored contact."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    username: str | None = None
    phone: str | None = None
    email: str | None = None
    channel: Channel = Channel.UNKNOWN

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        if self.username:
            return self.username if self.username.startswith("@") else f"@{self.username}"
        return self.phone or self.email or "faqbot"


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def same_phone(stored: str, wanted: str) -> bool:
    """Whether a number as typed into Kommo ("067 123-45-67") is the customer's E.164 number."""
    normalized = normalize_phone(stored)
    if normalized is not None:
        return normalized == normalize_phone(wanted)
    return bool(phone_digits(stored)) and phone_digits(stored) == phone_digits(wanted)


def same_email(stored: str, wanted: str) -> bool:
    return (normalize_email(stored) or stored.strip().lower()) == wanted.strip().lower()


def contact_fields(phone: str | None, email: str | None) -> list[dict[str, Any]]:
    """PHONE and EMAIL are Kommo's system field codes (no field ids needed)."""
    fields: list[dict[str, Any]] = []
    if phone:
        fields.append({"field_code": "PHONE", "values": [{"enum_code": "WORK", "value": phone}]})
    if email:
        fields.append({"field_code": "EMAIL", "values": [{"enum_code": "WORK", "value": email}]})
    return fields


def lead_name(person: Person) -> str:
    channel = CHANNEL_NAMES.get(person.channel)
    return f"{person.display_name} · {channel}" if channel else person.display_name


def complex_lead_payload(
    settings: KommoSettings, person: Person, *, request_id: str, existing_contact_id: int | None = None
) -> list[dict[str, Any]]:
    """One lead with its contact (new, or linked by id) for `POST /api/v4/leads/complex`."""
    lead: dict[str, Any] = {"name": lead_name(person), "request_id": request_id[:MAX_REQUEST_ID_CHARS]}
    for key, value in (
        ("pipeline_id", settings.pipeline_id),
        ("status_id", settings.status_id),
        ("responsible_user_id", settings.responsible_user_id),
    ):
        if value is not None:
            lead[key] = value
    tags = list(
        dict.fromkeys([*settings.tags, *([person.channel.value] if person.channel is not Channel.UNKNOWN else [])])
    )
    contact: dict[str, Any]
    if existing_contact_id is not None:
        contact = {"id": existing_contact_id}
    else:
        contact = {"name": person.display_name}
        fields = contact_fields(person.phone, person.email)
        if fields:
            contact["custom_fields_values"] = fields
        if settings.responsible_user_id is not None:
            contact["responsible_user_id"] = settings.responsible_user_id
    lead["_embedded"] = {"tags": [{"name": tag} for tag in tags], "contacts": [contact]}
    return [lead]


def task_payload(
    settings: KommoSettings, *, lead_id: int, text: str, due_at: int, request_id: str
) -> list[dict[str, Any]]:
    task: dict[str, Any] = {
        "text": text,
        "complete_till": due_at,
        "entity_id": lead_id,
        "entity_type": "leads",
        "task_type_id": FOLLOW_UP_TASK_TYPE,
        "request_id": request_id[:MAX_REQUEST_ID_CHARS],
    }
    if settings.responsible_user_id is not None:
        task["responsible_user_id"] = settings.responsible_user_id
    return [task]


def stage_payload(settings: KommoSettings, *, lead_id: int) -> list[dict[str, Any]]:
    """Move the lead to the handoff stage (pipeline too: a status id is only unique within its pipeline)."""
    change: dict[str, Any] = {"id": lead_id, "status_id": settings.handoff_status_id}
    if settings.pipeline_id is not None:
        change["pipeline_id"] = settings.pipeline_id
    return [change]


def note_payload(text: str) -> list[dict[str, Any]]:
    return [{"note_type": "common", "params": {"text": text}}]


def task_text(bot: BotConfig, escalation: Escalation, *, transcript_url: str | None) -> str:
    words = labels(bot.language)
    question = " ".join(escalation.question.split())
    if len(question) > MAX_TASK_QUESTION_CHARS:
        question = question[: MAX_TASK_QUESTION_CHARS - 1] + "…"
    lines = [f"{words['title']}: {words.get(escalation.reason, escalation.reason.value)}", f"«{question}»"]
    if escalation.chat_url:
        lines.append(f"{words['open_chat']}: {escalation.chat_url}")
    if transcript_url:
        lines.append(f"{words['transcript']}: {transcript_url}")
    return "\n".join(lines)


def pipeline_problems(pipelines: Sequence[KommoPipeline], settings: KommoSettings) -> list[str]:
    """What is wrong with the configured pipeline and status ids (empty: all exist)."""
    by_id = {pipeline.id: pipeline for pipeline in pipelines}
    problems: list[str] = []
    if settings.pipeline_id is None:
        main = next((p for p in pipelines if p.is_main), None)
        scope = [main] if main else list(pipelines)
    elif settings.pipeline_id not in by_id:
        return [f"pipeline_id {settings.pipeline_id} does not exist (pipelines: {_ids(pipelines)})"]
    else:
        scope = [by_id[settings.pipeline_id]]
    statuses = {status.id for pipeline in scope for status in pipeline.statuses}
    for key in ("status_id", "handoff_status_id"):
        value = getattr(settings, key)
        if value is not None and value not in statuses:
            problems.append(f"{key} {value} is not a stage of pipeline {', '.join(str(p.id) for p in scope)}")
    return problems


def _ids(pipelines: Sequence[KommoPipeline]) -> str:
    return ", ".join(f"{p.id} {p.name!r}" for p in pipelines) or "none"


# ---- adapter ------------------------------------------------------------------------------------------


class KommoCrm:
    """`CrmAdapter` for Kommo."""

    def __init__(self, client: KommoClient, settings: KommoSettings, context: CrmContext) -> None:
        self._client = client
        self._settings = settings
        self._context = context

    def on_lead_ready(self, bot: BotConfig, event: LeadReady) -> CrmResult:
        person = self._person(
            bot, event.contact_id, event.name, event.username, event.phone, event.email, event.channel
        )
        lead_id, action = self._ensure_lead(bot, event.contact_id, person)
        notes = self._sync_notes(bot, event.contact_id, lead_id)
        return CrmResult(action=action, lead_id=str(lead_id), details={"notes": notes})

    def on_escalation(self, bot: BotConfig, event: Escalation) -> CrmResult:
        person = self._person(
            bot, event.contact_id, event.name, event.username, event.phone, event.email, event.channel
        )
        lead_id, lead_action = self._ensure_lead(bot, event.contact_id, person)
        details: dict[str, Any] = {"lead": lead_action}
        if self._settings.create_task_on_handoff:
            transcript_url = self._context.links.for_contact(bot, event.contact_id)
            due_at = int((self._context.clock() + timedelta(minutes=self._settings.task_due_minutes)).timestamp())
            payload = task_payload(
                self._settings,
                lead_id=lead_id,
                text=task_text(bot, event, transcript_url=transcript_url),
                due_at=due_at,
                request_id=event.event_id,
            )
            task = self._context.once.run(
                {"event_id": event.event_id, "step": "kommo.task"},
                lambda: {"task_ids": self._client.create_tasks(payload)},
            )
            details["task_ids"] = task["task_ids"]
        if self._settings.handoff_status_id is not None:
            self._client.update_leads(stage_payload(self._settings, lead_id=lead_id))  # idempotent: no Once needed
            details["moved_to_status"] = self._settings.handoff_status_id
        details["notes"] = self._sync_notes(bot, event.contact_id, lead_id)
        return CrmResult(action="escalated", lead_id=str(lead_id), details=details)

    def on_transcript(self, bot: BotConfig, event: TranscriptUpdated) -> CrmResult:
        contact = self._context.store.get_contact(bot.bot_id, event.contact_id)
        if contact is None or not contact.crm_lead_id:
            return CrmResult(action="skipped", details={"reason": "the contact has no lead yet"})
        notes = self._sync_notes(bot, event.contact_id, int(contact.crm_lead_id))
        return CrmResult(action="noted", lead_id=contact.crm_lead_id, details={"notes": notes})

    # ---- steps ----------------------------------------------------------------------------------------

    def _person(
        self,
        bot: BotConfig,
        contact_id: str,
        name: str | None,
        username: str | None,
        phone: str | None,
        email: str | None,
        channel: Channel,
    ) -> Person:
        """The event's facts, completed from the stored contact."""
        stored = self._context.store.get_contact(bot.bot_id, contact_id)
        return Person(
            name=name or (stored.name if stored else None),
            username=username or (stored.username if stored else None),
            phone=phone or (stored.phone if stored else None),
            email=email or (stored.email if stored else None),
            channel=channel if channel is not Channel.UNKNOWN else ((stored.channel if stored else None) or channel),
        )

    def _ensure_lead(self, bot: BotConfig, contact_id: str, person: Person) -> tuple[int, str]:
        """The contact's lead id, and whether it was known, reused or created. Never two leads per contact."""
        stored = self._context.store.get_contact(bot.bot_id, contact_id)
        if stored is not None and stored.crm_lead_id:
            return int(stored.crm_lead_id), "lead_known"
        outcome = self._context.once.run(
            {"bot_id": bot.bot_id, "contact_id": contact_id, "step": "kommo.lead"},
            lambda: self._find_or_create_lead(bot, contact_id, person),
        )
        lead_id = int(outcome["lead_id"])
        self._context.store.set_crm_lead_id(bot.bot_id, contact_id, str(lead_id))
        return lead_id, str(outcome["action"])

    def _find_or_create_lead(self, bot: BotConfig, contact_id: str, person: Person) -> dict[str, Any]:
        request_id = f"{bot.bot_id}:{contact_id}"
        existing = self._find_contact(person)
        if existing is not None:
            lead = self._open_lead(existing)
            if lead is not None:
                logger.info("reusing the contact's open Kommo lead", extra={"bot_id": bot.bot_id, "lead_id": lead.id})
                return {"lead_id": lead.id, "kommo_contact_id": existing.id, "action": "lead_reused"}
        payload = complex_lead_payload(
            self._settings, person, request_id=request_id, existing_contact_id=existing.id if existing else None
        )
        created = self._client.create_complex_leads(payload)
        if not created:
            raise KommoTransientError("leads/complex created nothing")
        logger.info("Kommo lead created", extra={"bot_id": bot.bot_id, "lead_id": created[0].id})
        return {"lead_id": created[0].id, "kommo_contact_id": created[0].contact_id, "action": "lead_created"}

    def _find_contact(self, person: Person) -> KommoContact | None:
        """By phone, then by e-mail; Kommo's search matches any field, so each hit is re-checked."""
        if person.phone and phone_digits(person.phone):
            for contact in self._client.find_contacts(phone_digits(person.phone)):
                if any(same_phone(stored, person.phone) for stored in contact.phones):
                    return contact
        if person.email:
            for contact in self._client.find_contacts(person.email.strip().lower()):
                if any(same_email(stored, person.email) for stored in contact.emails):
                    return contact
        return None

    def _open_lead(self, contact: KommoContact) -> KommoLead | None:
        """The contact's newest lead that is not won, lost or deleted, in the configured pipeline."""
        candidates = [
            lead
            for lead in self._client.leads_by_id(sorted(contact.lead_ids, reverse=True))
            if not lead.is_deleted
            and not lead.closed_at
            and lead.status_id not in (WON_STATUS_ID, LOST_STATUS_ID)
            and (self._settings.pipeline_id is None or lead.pipeline_id == self._settings.pipeline_id)
        ]
        return max(candidates, key=lambda lead: lead.id, default=None)

    def _sync_notes(self, bot: BotConfig, contact_id: str, lead_id: int) -> int:
        if not self._settings.add_transcript_note:
            return 0
        transcript_url = self._context.links.for_contact(bot, contact_id)

        def deliver(messages: Sequence[StoredMessage], delivery: NoteDelivery) -> dict[str, Any]:
            text = f"{format_note(bot, messages, transcript_url=transcript_url)}\n{NOTE_REF_PREFIX}{delivery.ref}"
            if delivery.retry_since is not None:  # the last try may have been written before it failed
                since = int(delivery.retry_since.timestamp()) - NOTE_CLOCK_SKEW_SECONDS
                notes = self._client.lead_notes(lead_id, updated_since=since)
                kept = [note.id for note in notes if note.text.rstrip().endswith(f"{NOTE_REF_PREFIX}{delivery.ref}")]
                if kept:
                    return {"note_ids": kept[:1]}
            return {"note_ids": self._client.add_lead_notes(lead_id, note_payload(text))}

        return self._context.transcripts.sync(bot, contact_id, target=f"kommo:lead:{lead_id}", deliver=deliver).chunks
