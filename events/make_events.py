"""Regenerate the sample events in this folder from `sam local generate-event` output.

    SAM_CLI_TELEMETRY=0 .venv/bin/python events/make_events.py

SAM's generators give the envelope (HTTP API payload 2.0, SQS receive-message, S3 put); this
script fills in what API Gateway, SQS and S3 really send for our routes, queues and bucket: the
route key and path parameters, lower-case headers with the bot's bearer secret, a plain-text
JSON body (`isBase64Encoded: false`), no JWT authorizer (the API has none), SQS bodies that are
our queue events (`faqbot/events.py`) or S3's notifications (TranscriptQueue) with their real MD5,
and S3 keys under `kb/demo/` and `transcripts/demo/`.
Names follow the local stack (account 123456789012, eu-central-1, resources named by logical id).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SAM = Path(sys.executable).parent / "sam"
ACCOUNT_ID = "123456789012"
REGION = "eu-central-1"
API_ID = "f4qb0t1d2e"
DOMAIN = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
BUCKET = "KbBucket"  # the local stack names every resource by its logical id
DEMO_SECRET = "demo-secret"
EPOCH_MS = 1795600800000  # 2026-11-25T10:00:00Z


def generate(*args: str) -> Any:
    """One event from SAM CLI's generator (works offline, no Docker)."""
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    out = subprocess.run(
        [str(SAM), "local", "generate-event", *args], check=True, capture_output=True, text=True, env=env
    )
    return json.loads(out.stdout)


def http_event(
    method: str,
    route: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    request_id: str,
) -> dict[str, Any]:
    event = generate("apigateway", "http-api-proxy", "--method", method, "--path", path.lstrip("/"))
    text = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    all_headers = {
        "accept": "*/*",
        "host": DOMAIN,
        "user-agent": "ManyChat",
        "x-amzn-trace-id": f"Root=1-6745495c-{hashlib.sha1(request_id.encode()).hexdigest()[:24]}",
        "x-forwarded-for": "3.120.181.24",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **(headers or {}),
    }
    if text is not None:
        all_headers["content-type"] = "application/json"
        all_headers["content-length"] = str(len(text.encode()))
    template_path = route.split(" ", 1)[1]
    names = [part[1:-1] for part in template_path.split("/") if part.startswith("{")]
    values = [part for tpl, part in zip(template_path.split("/"), path.split("/"), strict=True) if tpl.startswith("{")]
    event.update(
        routeKey=route,
        rawPath=path,
        rawQueryString="&".join(f"{k}={v}" for k, v in (query or {}).items()),
        headers=dict(sorted(all_headers.items())),
        isBase64Encoded=False,
    )
    for key in ("cookies", "stageVariables", "queryStringParameters", "pathParameters", "body"):
        event.pop(key, None)
    if query:
        event["queryStringParameters"] = query
    if names:
        event["pathParameters"] = dict(zip(names, values, strict=True))
    if text is not None:
        event["body"] = text
    context = event["requestContext"]
    for key in ("authentication", "authorizer"):
        context.pop(key, None)
    context.update(
        apiId=API_ID,
        domainName=DOMAIN,
        domainPrefix=API_ID,
        requestId=request_id,
        routeKey=route,
        time="25/Nov/2026:10:00:00 +0000",
        timeEpoch=EPOCH_MS,
    )
    context["http"].update(method=method, path=path, sourceIp="3.120.181.24", userAgent=all_headers["user-agent"])
    return event


def sqs_event(queue: str, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    event = generate("sqs", "receive-message", "--region", REGION, "--account-id", ACCOUNT_ID, "--queue-name", queue)
    template = event["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        record = json.loads(json.dumps(template))
        record.update(
            messageId=f"2f9c6a3e-5b1d-4c8e-9a7f-0d4e1b2c3a{index:02d}",
            receiptHandle=f"AQEB{body.get('event_id') or hashlib.md5(text.encode()).hexdigest()}",
            body=text,
            md5OfBody=hashlib.md5(text.encode()).hexdigest(),  # what SQS itself sends
        )
        record["attributes"].update(SentTimestamp=str(EPOCH_MS), ApproximateFirstReceiveTimestamp=str(EPOCH_MS + 12))
        records.append(record)
    return {"Records": records}


def s3_put_event(key: str, size: int) -> dict[str, Any]:
    event = generate("s3", "put", "--region", REGION, "--bucket", BUCKET, "--key", key)
    record = event["Records"][0]
    record["eventTime"] = "2026-11-25T10:00:00.000Z"
    record["s3"]["configurationId"] = "KbIngestFunctionKbUpload"
    record["s3"]["object"].update(
        size=size, eTag="9b2cf535f27731c974343645a3985328", versionId="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    )
    return event


MANYCHAT_BASE: dict[str, Any] = {
    "key": "user:1515862162",
    "id": "1515862162",
    "page_id": "210878508779055",
    "user_refs": [],
    "status": "active",
    "gender": None,
    "profile_pic": None,
    "locale": None,
    "language": None,
    "timezone": "UTC+02",
    "live_chat_url": "https://app.manychat.com/fb1001816/chat/1515862162",
    "optin_phone": False,
    "phone": None,
    "optin_email": False,
    "email": None,
    "subscribed": "2026-11-20T09:12:44+02:00",
    "last_interaction": "2026-11-25T11:59:58+02:00",
    "ig_last_interaction": None,
    "last_seen": "2026-11-25T11:59:58+02:00",
    "ig_last_seen": None,
    "is_followup_enabled": True,
    "ig_username": None,
    "ig_id": None,
    "whatsapp_phone": None,
    "optin_whatsapp": False,
    "tt_user_id": None,
    "tt_username": None,
    "phone_country_code": None,
    "last_growth_tool": None,
    "custom_fields": {"faqbot_status": None, "faqbot_reply": None},
}


def bearer(secret: str = DEMO_SECRET) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def manychat_event(request_id: str, *, query: dict[str, str] | None = None, **contact: Any) -> dict[str, Any]:
    """The demo bot's ManyChat External Request: a Full Contact Data object (`MANYCHAT_BASE` with `contact`)."""
    return http_event(
        "POST",
        "POST /bots/{bot_id}/manychat",
        "/bots/demo/manychat",
        headers=bearer(),
        query=query,
        request_id=request_id,
        body={**MANYCHAT_BASE, **contact},
    )


def api_events() -> dict[str, dict[str, Any]]:
    return {
        "manychat_instagram.json": manychat_event(
            "bT4xQjZMFiAEMbQ=",
            first_name="Олена",
            last_name="Коваль",
            name="Олена Коваль",
            ig_id="17841400123456789",
            ig_username="olena_k",
            ig_last_interaction="2026-11-25T11:59:58+02:00",
            ig_last_seen="2026-11-25T11:59:58+02:00",
            last_interaction=None,
            last_seen=None,
            last_input_text="Скільки коштує доставка по Україні?",
        ),
        # The WhatsApp sample of integration-facts §1.1 (a real Full Contact Data object).
        "manychat_whatsapp.json": manychat_event(
            "bT4xRh0JFiAEMcA=",
            first_name="Hans",
            last_name="",
            name="Hans",
            timezone="UTC±00",
            subscribed="2026-05-04T10:54:33-06:00",
            last_interaction=None,
            last_seen=None,
            is_followup_enabled=True,
            whatsapp_phone="+50688217229",
            optin_whatsapp=True,
            last_input_text="Hola, busco villa para 10 personas",
            custom_fields={"Respuesta Chatbot": None},
        ),
        # ManyChat fills no Telegram-specific field we know of: the flow adds ?channel=telegram.
        "manychat_telegram.json": manychat_event(
            "bT4xSgyLFiAEMdQ=",
            query={"channel": "telegram"},
            key="user:7310562201",
            id="7310562201",
            live_chat_url="https://app.manychat.com/fb1001816/chat/7310562201",
            first_name="Дмитрий",
            last_name="",
            name="Дмитрий",
            last_input_text="Какие у вас часы работы?",
        ),
        "manychat_messenger.json": manychat_event(
            "bT4xTmNzFiAEMeg=",
            key="user:25117423651234567",
            id="25117423651234567",  # beyond 2^53: must stay a string
            live_chat_url="https://app.manychat.com/fb1001816/chat/25117423651234567",
            first_name="Iryna",
            last_name="Melnyk",
            name="Iryna Melnyk",
            locale="uk_UA",
            language="Ukrainian",
            profile_pic="https://scontent.xx.fbcdn.net/v/t1.0-1/p200x200/12345.jpg",
            last_input_text="Чи можна повернути товар?",
        ),
        "smartsender_message.json": http_event(
            "POST",
            "POST /bots/{bot_id}/smartsender",
            "/bots/demo/smartsender",
            headers={**bearer(), "user-agent": "Smart Sender"},
            request_id="bT4xUq1tFiAEMfw=",
            body={
                "contact_id": "48213377",
                "name": "Андрій Шевченко",
                "text": "Добрий день! Чи є доставка у Львів?",
                "channel": "telegram",
                "phone": "+380671234567",
            },
        ),
        "health.json": http_event(
            "GET", "GET /health", "/health", headers={"user-agent": "curl/8.5.0"}, request_id="bT4xVnHbFiAEMgQ="
        ),
        "bot_health.json": http_event(
            "GET",
            "GET /bots/{bot_id}/health",
            "/bots/demo/health",
            headers={**bearer(), "user-agent": "curl/8.5.0"},
            request_id="bT4xWm0YFiAEMhA=",
        ),
        "history_page.json": http_event(
            "GET",
            "GET /history/{token}",
            "/history/ZGVtbzoxNTE1ODYyMTYyOjE3OTYyMDU2MDA.c2lnbmF0dXJlLW5vdC12YWxpZA",
            headers={
                "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "accept-language": "uk-UA,uk;q=0.9,en;q=0.8",
                "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            },
            request_id="bT4xXkQjFiAEMiQ=",
        ),
    }


def queue_events() -> dict[str, dict[str, Any]]:
    escalation = {
        "type": "escalation",
        "event_id": "0c5f9e2a7b3d4e1f8a6b2c9d0e7f1a3b",
        "bot_id": "demo",
        "contact_id": "1515862162",
        "platform": "manychat",
        "channel": "instagram",
        "occurred_at": "2026-11-25T10:00:00Z",
        "name": "Olena",
        "username": "olena_k",
        "phone": None,
        "email": None,
        "question": "Чи можна оплатити частинами через Monobank?",
        "reason": "no_answer",
        "chat_url": "https://app.manychat.com/fb1001816/chat/1515862162",
        "language": "uk",
    }
    lead = {
        "type": "lead.ready",
        "event_id": "5d1e8b7c2a9f4c3e9b0a6d2f1e8c7b4a",
        "bot_id": "demo",
        "contact_id": "1515862162",
        "platform": "manychat",
        "channel": "instagram",
        "occurred_at": "2026-11-25T10:02:00Z",
        "name": "Olena",
        "username": "olena_k",
        "phone": "+380671234567",
        "email": None,
        "chat_url": "https://app.manychat.com/fb1001816/chat/1515862162",
    }
    return {
        "sqs_escalation.json": sqs_event("EscalationsQueue", [escalation]),
        "sqs_lead_ready.json": sqs_event("CrmQueue", [lead]),
    }


def transcript_events() -> dict[str, dict[str, Any]]:
    """TranscriptQueue's batch: S3's notifications of two calls dropped under transcripts/demo/ (FAQ mining)."""
    notifications = []
    for key, size in (("transcripts/demo/2026-11/call01.txt", 1184), ("transcripts/demo/2026-11/call 02.json", 5230)):
        notification = s3_put_event(key, size)
        record = notification["Records"][0]
        record["s3"]["configurationId"] = "TranscriptUpload"
        record["s3"]["object"]["key"] = key.replace(" ", "+")  # S3 URL-encodes the key in its notifications
        notifications.append(notification)
    return {"sqs_transcripts.json": sqs_event("TranscriptQueue", notifications)}


def main() -> None:
    events = {
        **api_events(),
        **queue_events(),
        **transcript_events(),
        "s3_kb_put.json": s3_put_event("kb/demo/faq.csv", 4817),
    }
    for name, event in events.items():
        (HERE / name).write_text(json.dumps(event, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"events/{name}")


if __name__ == "__main__":
    main()
