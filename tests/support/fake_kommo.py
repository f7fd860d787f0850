"""A fake Kommo (amoCRM) API v4 account speaking the documented format (developers.kommo.com).

`Authorization: Bearer <long-lived token>`; success is `application/hal+json` (lists under
`_embedded`, except `POST /api/v4/leads/complex`, which answers a plain array); a search that
finds nothing is `204` with no body; errors are `application/problem+json` (`title`, `type`,
`status`, `detail`, plus `validation-errors` on 400). Implemented: contacts search
(`GET /api/v4/contacts?query=&with=leads`), `GET /api/v4/leads?filter[id][]=`, `POST
/api/v4/leads/complex`, `PATCH /api/v4/leads` and `/api/v4/leads/{id}`, `POST /api/v4/tasks`,
`POST /api/v4/leads/{id}/notes`, `GET /api/v4/leads/{id}/notes`, `GET /api/v4/leads/pipelines`.

Like Kommo it enforces 7 requests/s per account: an eighth request within one second is answered
429 and recorded in `rate_violations` (tests assert there are none). A wrong token is 401.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

from support.fake_http import FakeHttpServer, FakeRequest, FakeResponse

PROBLEM_JSON = "application/problem+json"
HAL_JSON = "application/hal+json"
RATE_LIMIT_PER_SECOND = 7
WON, LOST = 142, 143
MAX_COMPLEX_LEADS = 50
MAX_FIELDS_PER_ENTITY = 40
PHONE_ENUMS = {"WORK", "WORKDD", "MOB", "FAX", "HOME", "OTHER"}
EMAIL_ENUMS = {"WORK", "PRIV", "OTHER"}
_NOTE_TYPES = {"common", "call_in", "call_out", "service_message", "sms_in", "sms_out"}
_LEAD_NOTES = re.compile(r"^/api/v4/leads/(\d+)/notes$")
_LEAD = re.compile(r"^/api/v4/leads/(\d+)$")


@dataclass
class Pipeline:
    id: int
    name: str
    statuses: dict[int, str]  # id → name; 142 (won) and 143 (lost) are added to every pipeline
    is_main: bool = False


@dataclass
class Contact:
    id: int
    name: str
    custom_fields_values: list[dict[str, Any]] = field(default_factory=list)
    responsible_user_id: int | None = None

    def values(self, code: str) -> list[str]:
        return [
            str(value.get("value"))
            for item in self.custom_fields_values
            if item.get("field_code") == code
            for value in item.get("values") or []
        ]


@dataclass
class Lead:
    id: int
    name: str
    pipeline_id: int
    status_id: int
    contact_ids: list[int]
    tags: list[str] = field(default_factory=list)
    responsible_user_id: int | None = None
    request_id: str | None = None
    closed_at: int | None = None


@dataclass
class Task:
    id: int
    text: str
    complete_till: int
    entity_id: int | None
    entity_type: str | None
    task_type_id: int
    responsible_user_id: int | None


@dataclass
class Note:
    id: int
    lead_id: int
    note_type: str
    text: str
    updated_at: int = field(default_factory=lambda: int(time.time()))


class _Invalid(Exception):
    def __init__(self, path: str, detail: str, *, request_id: str = "0", code: str = "InvalidValue") -> None:
        super().__init__(detail)
        self.path, self.detail, self.request_id, self.code = path, detail, request_id, code


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class FakeKommo(FakeHttpServer):
    def __init__(self, token: str, *, pipelines: list[Pipeline]) -> None:
        super().__init__()
        self.token = token
        self.pipelines = {p.id: p for p in pipelines}
        for pipeline in pipelines:
            pipeline.statuses.setdefault(WON, "Closed - won")
            pipeline.statuses.setdefault(LOST, "Closed - lost")
        self.contacts: dict[int, Contact] = {}
        self.leads: dict[int, Lead] = {}
        self.tasks: list[Task] = []
        self.notes: list[Note] = []
        self.rate_violations: list[str] = []
        self.acted: list[str] = []  # "METHOD path" of every request the fake acted on (not failed)
        # "METHOD path" → how many of the next such requests are carried out and then answered 500
        self.fail_after_acting: dict[str, int] = {}
        self._ids = itertools.count(3_000_001)

    # ---- what tests look at --------------------------------------------------------------------------

    def add_contact(self, name: str, *, phone: str | None = None, email: str | None = None) -> Contact:
        """A contact a manager entered by hand (phones as people type them)."""
        fields = []
        if phone:
            fields.append({"field_code": "PHONE", "values": [{"enum_code": "MOB", "value": phone}]})
        if email:
            fields.append({"field_code": "EMAIL", "values": [{"enum_code": "PRIV", "value": email}]})
        with self.lock:
            contact = Contact(id=next(self._ids), name=name, custom_fields_values=fields)
            self.contacts[contact.id] = contact
            return contact

    def add_lead(self, name: str, *, contact: Contact, pipeline_id: int, status_id: int) -> Lead:
        with self.lock:
            lead = Lead(
                id=next(self._ids),
                name=name,
                pipeline_id=pipeline_id,
                status_id=status_id,
                contact_ids=[contact.id],
                closed_at=int(time.time()) if status_id in (WON, LOST) else None,
            )
            self.leads[lead.id] = lead
            return lead

    def leads_of(self, contact_id: int) -> list[Lead]:
        return [lead for lead in self.leads.values() if contact_id in lead.contact_ids]

    def contacts_with_phone(self, phone: str) -> list[Contact]:
        return [c for c in self.contacts.values() if any(digits(v) == digits(phone) for v in c.values("PHONE"))]

    def notes_on(self, lead_id: int) -> list[Note]:
        return [note for note in self.notes if note.lead_id == lead_id]

    def tasks_on(self, lead_id: int) -> list[Task]:
        return [task for task in self.tasks if task.entity_type == "leads" and task.entity_id == lead_id]

    def calls(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    # ---- server ---------------------------------------------------------------------------------------

    def _dispatch(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            recent = [r for r in self.requests if request.at - r.at < 1.0]
            if len(recent) >= RATE_LIMIT_PER_SECOND:
                self.requests.append(request)
                self.rate_violations.append(f"{request.method} {request.path}: {len(recent) + 1} requests in 1 s")
                return _problem(429, "Too Many Requests", "Rate limit exceeded")
        return super()._dispatch(request)

    def transient_failure(self, request: FakeRequest) -> FakeResponse:
        kind = self.failure_plan.pick(["429", "500", "502", "503"])
        if kind == "429":
            return _problem(429, "Too Many Requests", "Rate limit exceeded")
        if kind == "502":
            return FakeResponse(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")
        return _problem(int(kind), "Internal Server Error" if kind == "500" else "Service Unavailable", "try later")

    def handle(self, request: FakeRequest) -> FakeResponse:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _problem(401, "Unauthorized", "Account not found or token is invalid")
        route = f"{request.method} {request.path}"
        try:
            response = self._route(request)
        except _Invalid as exc:
            return _validation_error(exc)
        if response.status < 300:
            self.acted.append(route)
            if self.fail_after_acting.get(route, 0) > 0:
                self.fail_after_acting[route] -= 1
                return _problem(500, "Internal Server Error", "An error occurred while processing the request")
        return response

    def _route(self, request: FakeRequest) -> FakeResponse:
        method, path = request.method, request.path.rstrip("/")
        if method == "GET" and path == "/api/v4/contacts":
            return self._search_contacts(request)
        if method == "GET" and path == "/api/v4/leads":
            return self._list_leads(request)
        if method == "GET" and path == "/api/v4/leads/pipelines":
            return self._list_pipelines()
        if method == "POST" and path == "/api/v4/leads/complex":
            return self._complex(_array(request))
        if method == "PATCH" and path == "/api/v4/leads":
            return _hal(
                {"_embedded": {"leads": [self._update_lead(item, i) for i, item in enumerate(_array(request))]}}
            )
        if method == "PATCH" and (match := _LEAD.match(path)):
            body = request.json()
            if not isinstance(body, dict):
                raise _Invalid("", "Request body must be an object")
            return _hal(self._update_lead({**body, "id": int(match.group(1))}, 0))
        if method == "POST" and path == "/api/v4/tasks":
            return self._add_tasks(_array(request))
        if method == "POST" and (match := _LEAD_NOTES.match(path)):
            return self._add_notes(int(match.group(1)), _array(request))
        if method == "GET" and (match := _LEAD_NOTES.match(path)):
            return self._list_notes(int(match.group(1)), request)
        return _problem(404, "Not Found", f"No route for {method} {path}")

    # ---- contacts and leads -----------------------------------------------------------------------------

    def _search_contacts(self, request: FakeRequest) -> FakeResponse:
        [query] = request.args("query") or [""]
        wanted = query.strip().lower()
        if not wanted:
            found = list(self.contacts.values())
        else:
            found = [c for c in self.contacts.values() if self._matches(c, wanted)]
        limit = int((request.args("limit") or ["50"])[0])
        if limit > 250:
            raise _Invalid("limit", "limit must be at most 250")
        if not found:
            return FakeResponse(204)
        with_leads = "leads" in ",".join(request.args("with")).split(",")
        return _hal({"_page": 1, "_embedded": {"contacts": [self._contact_json(c, with_leads) for c in found[:limit]]}})

    @staticmethod
    def _matches(contact: Contact, wanted: str) -> bool:
        """Kommo searches every filled field; phones also match on their digits."""
        texts = [contact.name, *(str(v) for code in ("PHONE", "EMAIL") for v in contact.values(code))]
        if any(wanted in text.lower() for text in texts):
            return True
        return wanted.isdigit() and any(wanted in digits(v) for v in contact.values("PHONE"))

    def _contact_json(self, contact: Contact, with_leads: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": contact.id,
            "name": contact.name,
            "responsible_user_id": contact.responsible_user_id,
            "custom_fields_values": contact.custom_fields_values or None,
            "_links": {"self": {"href": f"{self.url}/api/v4/contacts/{contact.id}"}},
        }
        if with_leads:
            item["_embedded"] = {
                "leads": [
                    {"id": lead.id, "_links": {"self": {"href": f"{self.url}/api/v4/leads/{lead.id}"}}}
                    for lead in self.leads_of(contact.id)
                ]
            }
        return item

    def _list_leads(self, request: FakeRequest) -> FakeResponse:
        ids = {int(v) for v in [*request.args("filter[id][]"), *request.args("filter[id]")]}
        found = [lead for lead in self.leads.values() if not ids or lead.id in ids]
        if not found:
            return FakeResponse(204)
        return _hal({"_page": 1, "_embedded": {"leads": [self._lead_json(lead) for lead in found]}})

    @staticmethod
    def _lead_json(lead: Lead) -> dict[str, Any]:
        return {
            "id": lead.id,
            "name": lead.name,
            "price": 0,
            "pipeline_id": lead.pipeline_id,
            "status_id": lead.status_id,
            "responsible_user_id": lead.responsible_user_id,
            "closed_at": lead.closed_at,
            "is_deleted": False,
            "_embedded": {"tags": [{"id": i + 1, "name": tag} for i, tag in enumerate(lead.tags)]},
        }

    def _list_pipelines(self) -> FakeResponse:
        return _hal(
            {
                "_embedded": {
                    "pipelines": [
                        {
                            "id": p.id,
                            "name": p.name,
                            "is_main": p.is_main,
                            "_embedded": {
                                "statuses": [
                                    {"id": sid, "name": name, "sort": n * 10, "type": 0}
                                    for n, (sid, name) in enumerate(p.statuses.items())
                                ]
                            },
                        }
                        for p in self.pipelines.values()
                    ]
                }
            }
        )

    def _complex(self, items: list[Any]) -> FakeResponse:
        if len(items) > MAX_COMPLEX_LEADS:
            raise _Invalid("", f"at most {MAX_COMPLEX_LEADS} leads per request")
        planned = [self._plan_complex(item, str(i)) for i, item in enumerate(items)]  # all valid, or nothing made
        answer = []
        for lead, contact, request_id in planned:
            if contact.id not in self.contacts:
                contact.id = next(self._ids)
                self.contacts[contact.id] = contact
            lead.id = next(self._ids)
            lead.contact_ids = [contact.id]
            self.leads[lead.id] = lead
            answer.append(
                {
                    "id": lead.id,
                    "contact_id": contact.id,
                    "company_id": None,
                    "request_id": [request_id],
                    "merged": False,
                }
            )
        return FakeResponse(200, answer, content_type=HAL_JSON)

    def _plan_complex(self, item: Any, index: str) -> tuple[Lead, Contact, str]:
        if not isinstance(item, dict):
            raise _Invalid(index, "each lead must be an object", request_id=index)
        request_id = str(item.get("request_id", index))
        pipeline_id = item.get("pipeline_id") or next(p.id for p in self.pipelines.values() if p.is_main)
        pipeline = self.pipelines.get(pipeline_id)
        if pipeline is None:
            raise _Invalid("pipeline_id", "Pipeline not found", request_id=request_id, code="NotSupportedChoice")
        status_id = item.get("status_id") or next(iter(pipeline.statuses))
        if status_id not in pipeline.statuses:
            raise _Invalid(
                "status_id",
                "The value you selected is not a valid choice.",
                request_id=request_id,
                code="NotSupportedChoice",
            )
        if not isinstance(item.get("name", ""), str):
            raise _Invalid("name", "This value should be of type string.", request_id=request_id)
        embedded = item.get("_embedded") or {}
        contacts = embedded.get("contacts") or []
        if len(contacts) > 1:
            raise _Invalid("_embedded.contacts", "at most one contact per lead", request_id=request_id)
        tags = [str(tag.get("name")) for tag in embedded.get("tags") or []]
        contact = self._plan_contact(contacts[0] if contacts else {}, request_id)
        lead = Lead(
            id=0,
            name=item.get("name") or f"Lead #{len(self.leads) + 1}",
            pipeline_id=pipeline_id,
            status_id=status_id,
            contact_ids=[],
            tags=tags,
            responsible_user_id=item.get("responsible_user_id"),
            request_id=request_id,
        )
        return lead, contact, request_id

    def _plan_contact(self, item: dict[str, Any], request_id: str) -> Contact:
        if "id" in item:
            existing = self.contacts.get(int(item["id"]))
            if existing is None:
                raise _Invalid("_embedded.contacts.0.id", "Contact not found", request_id=request_id, code="NotFound")
            return existing
        fields = item.get("custom_fields_values") or []
        if len(fields) > MAX_FIELDS_PER_ENTITY:
            raise _Invalid("_embedded.contacts.0.custom_fields_values", "too many fields", request_id=request_id)
        for n, value in enumerate(fields):
            code = value.get("field_code")
            enums = {"PHONE": PHONE_ENUMS, "EMAIL": EMAIL_ENUMS}.get(code)
            if enums is None:
                raise _Invalid(f"custom_fields_values.{n}.field_code", "Field not found", request_id=request_id)
            for v in value.get("values") or []:
                if v.get("enum_code", "WORK") not in enums or not str(v.get("value") or "").strip():
                    raise _Invalid(
                        f"custom_fields_values.{n}.values",
                        "The value you selected is not a valid choice.",
                        request_id=request_id,
                        code="NotSupportedChoice",
                    )
        name = item.get("name") or " ".join(p for p in (item.get("first_name"), item.get("last_name")) if p)
        return Contact(
            id=0,
            name=name or "Contact",
            custom_fields_values=fields,
            responsible_user_id=item.get("responsible_user_id"),
        )

    def _update_lead(self, item: Any, index: int) -> dict[str, Any]:
        if not isinstance(item, dict) or "id" not in item:
            raise _Invalid(f"{index}.id", "This value should not be blank.", request_id=str(index))
        lead = self.leads.get(int(item["id"]))
        if lead is None:
            raise _Invalid(f"{index}.id", "Lead not found", request_id=str(index), code="NotFound")
        pipeline_id = int(item.get("pipeline_id") or lead.pipeline_id)
        pipeline = self.pipelines.get(pipeline_id)
        status_id = int(item.get("status_id") or lead.status_id)
        if pipeline is None or status_id not in pipeline.statuses:
            raise _Invalid(
                f"{index}.status_id",
                "The value you selected is not a valid choice.",
                request_id=str(index),
                code="NotSupportedChoice",
            )
        lead.pipeline_id, lead.status_id = pipeline_id, status_id
        return {"id": lead.id, "updated_at": int(time.time()), "request_id": str(item.get("request_id", index))}

    # ---- tasks and notes --------------------------------------------------------------------------------

    def _add_tasks(self, items: list[Any]) -> FakeResponse:
        planned = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not str(item.get("text") or "").strip():
                raise _Invalid(f"{i}.text", "This value should not be blank.", request_id=str(i))
            if not isinstance(item.get("complete_till"), int):
                raise _Invalid(f"{i}.complete_till", "This value should be of type int.", request_id=str(i))
            entity_type, entity_id = item.get("entity_type"), item.get("entity_id")
            if entity_type is not None and entity_type not in ("leads", "contacts", "companies", "customers"):
                raise _Invalid(f"{i}.entity_type", "The value you selected is not a valid choice.", request_id=str(i))
            if entity_type == "leads" and int(entity_id) not in self.leads:
                raise _Invalid(f"{i}.entity_id", "Entity not found", request_id=str(i), code="NotFound")
            planned.append(
                Task(
                    id=0,
                    text=item["text"],
                    complete_till=item["complete_till"],
                    entity_id=entity_id,
                    entity_type=entity_type,
                    task_type_id=int(item.get("task_type_id") or 1),
                    responsible_user_id=item.get("responsible_user_id"),
                )
            )
        created = []
        for i, task in enumerate(planned):
            task.id = next(self._ids)
            self.tasks.append(task)
            created.append({"id": task.id, "request_id": str(items[i].get("request_id", i))})
        return _hal({"_embedded": {"tasks": created}})

    def _list_notes(self, lead_id: int, request: FakeRequest) -> FakeResponse:
        """`GET /api/v4/leads/{id}/notes`: `filter[note_type]`, `filter[updated_at][from]`, `limit`; 204 if none."""
        if lead_id not in self.leads:
            return _problem(404, "Not Found", f"Lead {lead_id} not found")
        types = set(request.args("filter[note_type]")) or set(_NOTE_TYPES)
        since = int((request.args("filter[updated_at][from]") or ["0"])[0])
        limit = int((request.args("limit") or ["50"])[0])
        if not 1 <= limit <= 250:
            raise _Invalid("limit", "This value should be between 1 and 250.")
        notes = [n for n in self.notes_on(lead_id) if n.note_type in types and n.updated_at >= since][:limit]
        if not notes:
            return FakeResponse(204)
        items = [
            {"id": n.id, "entity_id": lead_id, "note_type": n.note_type, "updated_at": n.updated_at}
            | {"params": {"text": n.text}}
            for n in notes
        ]
        return _hal({"_embedded": {"notes": items}})

    def _add_notes(self, lead_id: int, items: list[Any]) -> FakeResponse:
        if lead_id not in self.leads:
            return _problem(404, "Not Found", f"Lead {lead_id} not found")
        planned = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or item.get("note_type") not in _NOTE_TYPES:
                raise _Invalid(f"{i}.note_type", "The value you selected is not a valid choice.", request_id=str(i))
            text = (item.get("params") or {}).get("text")
            if not isinstance(text, str) or not text.strip():
                raise _Invalid(f"{i}.params.text", "This value should not be blank.", request_id=str(i))
            planned.append(Note(id=0, lead_id=lead_id, note_type=item["note_type"], text=text))
        created = []
        for i, note in enumerate(planned):
            note.id = next(self._ids)
            self.notes.append(note)
            created.append({"id": note.id, "entity_id": lead_id, "request_id": str(i)})
        return _hal({"_embedded": {"notes": created}})


def _array(request: FakeRequest) -> list[Any]:
    try:
        body = request.json()
    except ValueError:
        raise _Invalid("", "Request body is not valid JSON") from None
    if not isinstance(body, list) or not body:
        raise _Invalid("", "Request body must be a non-empty array")
    return body


def _hal(body: Any) -> FakeResponse:
    return FakeResponse(200, body, content_type=HAL_JSON)


def _problem(status: int, title: str, detail: str) -> FakeResponse:
    return FakeResponse(
        status,
        {"title": title, "type": f"https://httpstatus.es/{status}", "status": status, "detail": detail},
        content_type=PROBLEM_JSON,
    )


def _validation_error(exc: _Invalid) -> FakeResponse:
    body = {
        "validation-errors": [
            {"request_id": exc.request_id, "errors": [{"code": exc.code, "path": exc.path, "detail": exc.detail}]}
        ],
        "title": "Bad Request",
        "type": "https://httpstatus.es/400",
        "status": 400,
        "detail": "Request validation failed",
    }
    return FakeResponse(400, body, content_type=PROBLEM_JSON)
