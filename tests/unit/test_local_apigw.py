"""The local HTTP API: API Gateway's route choice, its payload 2.0 event, and the response mapping."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from faqbot.local.apigw import LocalApiGateway, Router, build_event, http_result
from faqbot.local.resources import HttpRoute

ROUTES = [
    HttpRoute("Webhook", "POST", "/bots/{bot_id}/manychat"),
    HttpRoute("Webhook", "GET", "/bots/{bot_id}/health"),
    HttpRoute("Webhook", "GET", "/health"),
    HttpRoute("History", "GET", "/try/{token}"),
    HttpRoute("History", "ANY", "/try/{proxy+}"),
    HttpRoute("Exact", "GET", "/try/about"),
]


@pytest.mark.parametrize(
    ("method", "path", "function", "route_key", "parameters"),
    [
        ("POST", "/bots/demo/manychat", "Webhook", "POST /bots/{bot_id}/manychat", {"bot_id": "demo"}),
        ("GET", "/health", "Webhook", "GET /health", {}),
        ("GET", "/try/about", "Exact", "GET /try/about", {}),  # exact path beats a parameter
        ("GET", "/try/abc", "History", "GET /try/{token}", {"token": "abc"}),  # a parameter beats greedy
        ("POST", "/try/abc", "History", "ANY /try/{proxy+}", {"proxy": "abc"}),  # method falls to ANY
        ("GET", "/try/a/b/c", "History", "ANY /try/{proxy+}", {"proxy": "a/b/c"}),
        ("GET", "/bots/%D0%B4%D0%B5%D0%BC%D0%BE/health", "Webhook", "GET /bots/{bot_id}/health", {"bot_id": "демо"}),
    ],
)
def test_router_picks_the_route_api_gateway_would(
    method: str, path: str, function: str, route_key: str, parameters: dict[str, str]
) -> None:
    match = Router(ROUTES).match(method, path)

    assert match is not None
    assert (match.route.function, match.route.route_key, match.path_parameters) == (function, route_key, parameters)


@pytest.mark.parametrize(("method", "path"), [("GET", "/bots/demo/manychat"), ("GET", "/nope"), ("GET", "/health/x")])
def test_router_has_no_match_for_unknown_routes_or_methods(method: str, path: str) -> None:
    assert Router(ROUTES).match(method, path) is None


def test_event_has_the_payload_2_0_shape() -> None:
    # given
    match = Router(ROUTES).match("POST", "/bots/demo/manychat")
    assert match is not None
    headers = [
        ("Host", "127.0.0.1:3000"),
        ("Content-Type", "application/json"),
        ("User-Agent", "ManyChat"),
        ("X-Multi", "a"),
        ("x-multi", "b"),
        ("Cookie", "a=1; b=2"),
    ]

    # when
    event = build_event(
        method="POST",
        target="/bots/demo/manychat?channel=instagram&x=1&x=2",
        headers=headers,
        body='{"text": "Привіт"}'.encode(),
        match=match,
        source_ip="127.0.0.1",
        now=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    )

    # then
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /bots/{bot_id}/manychat"
    assert event["rawPath"] == "/bots/demo/manychat"
    assert event["rawQueryString"] == "channel=instagram&x=1&x=2"
    assert event["queryStringParameters"] == {"channel": "instagram", "x": "1,2"}
    assert event["pathParameters"] == {"bot_id": "demo"}
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-multi"] == "a,b"
    assert "cookie" not in event["headers"] and event["cookies"] == ["a=1", "b=2"]
    assert event["body"] == '{"text": "Привіт"}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/bots/demo/manychat",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "ManyChat",
    }
    assert context["routeKey"] == event["routeKey"] and context["stage"] == "$default"
    assert context["timeEpoch"] == 1795600800000 and context["time"] == "25/Nov/2026:10:00:00 +0000"
    assert context["requestId"]


def test_binary_bodies_are_base64_encoded_and_absent_parts_are_left_out() -> None:
    match = Router(ROUTES).match("GET", "/health")
    assert match is not None

    binary = build_event(
        method="GET",
        target="/health",
        headers=[("Content-Type", "application/octet-stream")],
        body=b"\x00\xff",
        match=match,
        source_ip="127.0.0.1",
    )
    empty = build_event(method="GET", target="/health", headers=[], body=b"", match=match, source_ip="127.0.0.1")

    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x00\xff"
    for absent in ("body", "cookies", "queryStringParameters", "pathParameters"):
        assert absent not in empty


def test_a_full_response_keeps_status_headers_cookies_and_body() -> None:
    result = http_result(
        {
            "statusCode": 401,
            "headers": {"Content-Type": "application/json"},
            "cookies": ["a=1; Path=/"],
            "body": '{"message": "wrong token"}',
        }
    )

    assert result.status == 401
    assert ("Content-Type", "application/json") in result.headers and ("set-cookie", "a=1; Path=/") in result.headers
    assert json.loads(result.body) == {"message": "wrong token"}


def test_base64_bodies_are_decoded() -> None:
    result = http_result({"statusCode": 200, "body": base64.b64encode(b"%PDF").decode(), "isBase64Encoded": True})

    assert result.body == b"%PDF"


@pytest.mark.parametrize("response", [{"status": "ok"}, ["a", 1], "hello"])
def test_a_response_without_status_code_is_a_200_json_body(response: Any) -> None:
    result = http_result(response)

    assert result.status == 200
    assert ("content-type", "application/json") in result.headers
    assert json.loads(result.body) == response


@pytest.fixture
def gateway() -> Iterator[tuple[LocalApiGateway, list[tuple[str, dict[str, Any]]]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    def invoke(function: str, event: dict[str, Any]) -> Any:
        calls.append((function, event))
        if event["rawPath"] == "/health":
            return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"status":"ok"}'}
        raise RuntimeError("handler bug")

    api = LocalApiGateway(ROUTES, invoke, port=0, echo=lambda line: None).start()
    yield api, calls
    api.stop()


def test_the_gateway_serves_http_through_the_handler(
    gateway: tuple[LocalApiGateway, list[tuple[str, dict[str, Any]]]],
) -> None:
    api, calls = gateway

    ok = httpx.get(f"{api.url}/health")
    unknown = httpx.post(f"{api.url}/nowhere", json={})
    crash = httpx.post(f"{api.url}/bots/demo/manychat", json={"a": 1})

    assert (ok.status_code, ok.json()) == (200, {"status": "ok"})
    assert (unknown.status_code, unknown.json()) == (404, {"message": "Not Found"})
    assert (crash.status_code, crash.json()) == (500, {"message": "Internal Server Error"})
    assert [function for function, _ in calls] == ["Webhook", "Webhook"]
    assert json.loads(calls[1][1]["body"]) == {"a": 1}
