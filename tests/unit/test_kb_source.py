"""Connected KB sources: Sheets links as clients paste them, and fetching them without crashing or leaking."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator

import pytest
from faqbot.config import Language
from faqbot.kb.source import (
    AddressPolicy,
    BlockedAddress,
    SourceError,
    SourceLink,
    fetch_source,
    guarded_client,
    is_public_address,
    parse_source_link,
)
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SHEET_ID = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
PUBLISHED_ID = "2PACX-1vQw3kdm3bXPqRv4L3Pp2OPyQl0mFqY6jMbVfPzW1WBrcbAqkXKJr_2y7rJ2u7tTGkC2lm6bRfHqZzZK"
DRIVE_ID = "1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVw"
EXPORT = f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/export"
CSV = "id,Питання,Відповідь\n1,Де ви?,Львів\n".encode()
LOCAL = AddressPolicy.allowing(["127.0.0.1"])


# ---- links ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "fetch_url", "gid"),
    [
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=0", f"{EXPORT}?format=csv&gid=0", "0"),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit?usp=sharing", f"{EXPORT}?format=csv", None),
        (
            f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit?gid=1386834576#gid=1386834576",
            f"{EXPORT}?format=csv&gid=1386834576",
            "1386834576",
        ),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/view#gid=42", f"{EXPORT}?format=csv&gid=42", "42"),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/htmlview?gid=7", f"{EXPORT}?format=csv&gid=7", "7"),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/preview", f"{EXPORT}?format=csv", None),
        (
            f"https://docs.google.com/spreadsheets/u/1/d/{SHEET_ID}/edit?usp=drive_link#gid=5&range=A1:C3",
            f"{EXPORT}?format=csv&gid=5",
            "5",
        ),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}", f"{EXPORT}?format=csv", None),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/", f"{EXPORT}?format=csv", None),
        (f"docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=3", f"{EXPORT}?format=csv&gid=3", "3"),
        (f"http://docs.google.com/spreadsheets/d/{SHEET_ID}/edit", f"{EXPORT}?format=csv", None),
        (f"{EXPORT}?format=csv&gid=9", f"{EXPORT}?format=csv&gid=9", "9"),
        (f"  https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=0\n", f"{EXPORT}?format=csv&gid=0", "0"),
    ],
)
def test_sheets_sharing_links_become_the_csv_export_of_the_same_sheet_and_tab(
    link: str, fetch_url: str, gid: str | None
) -> None:
    # when
    source = parse_source_link(link)

    # then
    assert source.fetch_url == fetch_url
    assert source.kind == "google_sheet" and source.format == "csv"
    assert source.sheet_id == SHEET_ID
    assert source.gid == gid


def test_an_xlsx_export_link_keeps_the_whole_workbook() -> None:
    # when
    source = parse_source_link(f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/export?format=xlsx")

    # then
    assert source.fetch_url == f"{EXPORT}?format=xlsx"
    assert source.format == "xlsx"


@pytest.mark.parametrize(
    ("link", "fetch_url", "fmt"),
    [
        (
            f"https://docs.google.com/spreadsheets/d/e/{PUBLISHED_ID}/pubhtml",
            f"https://docs.google.com/spreadsheets/d/e/{PUBLISHED_ID}/pub?output=csv",
            "csv",
        ),
        (
            f"https://docs.google.com/spreadsheets/d/e/{PUBLISHED_ID}/pubhtml?gid=123&single=true",
            f"https://docs.google.com/spreadsheets/d/e/{PUBLISHED_ID}/pub?gid=123&single=true&output=csv",
            "csv",
        ),
        (
            f"https://docs.google.com/spreadsheets/d/e/{PUBLISHED_ID}/pub?gid=0&single=true&output=csv",
            f"https://docs.google.com/spreadsheets/d/e/{PUBLISHED_ID}/pub?gid=0&single=true&output=csv",
            "csv",
        ),
        (
            f"https://docs.google.com/spreadsheets/d/e/{PUBLISHED_ID}/pub?output=xlsx",
            f"https://docs.google.com/spreadsheets/d/e/{PUBLISHED_ID}/pub?output=xlsx",
            "xlsx",
        ),
    ],
)
def test_published_to_the_web_links_download_the_published_data(link: str, fetch_url: str, fmt: str) -> None:
    # when
    source = parse_source_link(link)

    # then
    assert source.kind == "google_published"
    assert source.fetch_url == fetch_url
    assert source.format == fmt
    assert source.sheet_id == PUBLISHED_ID


@pytest.mark.parametrize(
    "link",
    [
        f"https://drive.google.com/file/d/{DRIVE_ID}/view?usp=sharing",
        f"https://drive.google.com/file/u/0/d/{DRIVE_ID}/view",
        f"https://drive.google.com/open?id={DRIVE_ID}",
    ],
)
def test_drive_file_links_download_the_file(link: str) -> None:
    # when
    source = parse_source_link(link)

    # then
    assert source.kind == "google_drive"
    assert source.fetch_url == f"https://drive.google.com/uc?export=download&id={DRIVE_ID}"
    assert source.format is None  # csv or xlsx: decided by what comes back


def test_an_xlsx_opened_in_sheets_office_mode_is_downloaded_from_drive() -> None:
    # given: what the address bar shows for an .xlsx kept in Drive and opened in Sheets
    link = f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit?usp=sharing&ouid=1049&rtpof=true&sd=true"

    # when
    source = parse_source_link(link)

    # then
    assert source.fetch_url == f"https://drive.google.com/uc?export=download&id={SHEET_ID}"
    assert source.format == "xlsx"


@pytest.mark.parametrize(
    ("link", "fmt"),
    [("https://example.com/files/faq.csv", "csv"), ("https://cdn.example.com/kb/FAQ.XLSX?v=3", "xlsx"),
     ("https://example.com/export?id=5", None)],
)  # fmt: skip
def test_other_https_urls_are_fetched_as_they_are(link: str, fmt: str | None) -> None:
    # when
    source = parse_source_link(link)

    # then
    assert source.kind == "url" and source.fetch_url == link and source.format == fmt


@pytest.mark.parametrize(
    "link",
    [
        "not a link",
        "ftp://example.com/faq.csv",
        "https://docs.google.com/document/d/1abcdefghijklmnopqrstuvwxyz/edit",
        "https://docs.google.com/spreadsheets/d/short/edit",
        "https://drive.google.com/drive/folders/1abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_text_that_is_no_sheet_link_is_refused_with_a_reason(link: str) -> None:
    # when
    with pytest.raises(SourceError) as caught:
        parse_source_link(link)

    # then
    assert caught.value.reason == "invalid_link"
    assert "Google" in caught.value.message(Language.UK)


@pytest.mark.parametrize("language", list(Language))
def test_every_reason_reads_in_every_language(language: Language) -> None:
    # given
    params = {"url": "x", "host": "h", "status": 500, "seconds": 15, "detail": "d", "limit": 5}

    # when
    from faqbot.kb.source import _REASONS

    messages = [SourceError(reason, **params).message(language) for reason in _REASONS]

    # then
    assert all(message and "{" not in message for message in messages)


# ---- the address guard -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.0.0.7", False),
        ("172.16.3.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # instance metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_only_public_addresses_are_public(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_a_host_with_any_private_address_is_refused_and_allowed_hosts_pass_as_named() -> None:
    # given
    dns = {"sheets.example": ["93.184.216.34"], "rebind.example": ["93.184.216.34", "10.0.0.1"]}
    policy = AddressPolicy.allowing(["127.0.0.1"], resolver=lambda host, port: dns[host])

    # then
    assert policy.address_for("sheets.example", 443) == "93.184.216.34"
    assert policy.address_for("127.0.0.1", 8080) == "127.0.0.1"
    with pytest.raises(BlockedAddress):
        policy.address_for("rebind.example", 443)


# ---- fetching ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_server() -> Iterator[HTTPServer]:
    """A plain-HTTP server on 127.0.0.1 (the address the local stack and tests allow explicitly)."""
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()
    yield httpserver
    httpserver.stop()


@pytest.fixture
def server(module_server: HTTPServer) -> Iterator[HTTPServer]:
    module_server.clear()
    yield module_server
    module_server.clear()


def _link(url: str, kind: str = "url", fmt: str | None = None) -> SourceLink:
    return SourceLink(url=url, fetch_url=url, kind=kind, format=fmt)  # type: ignore[arg-type]


def _fetch(link: SourceLink, *, policy: AddressPolicy = LOCAL, max_bytes: int = 1024 * 1024, timeout: float = 5.0):
    with guarded_client(policy, read_timeout=timeout) as http:
        return fetch_source(link, http=http, policy=policy, max_bytes=max_bytes)


def _reason(link: SourceLink, **kwargs: object) -> str:
    with pytest.raises(SourceError) as caught:
        _fetch(link, **kwargs)  # type: ignore[arg-type]
    return caught.value.reason


def test_a_csv_is_fetched_following_redirects(server: HTTPServer) -> None:
    # given: Google's export answers with a redirect to the file's real host
    server.expect_request("/export").respond_with_response(
        Response(status=307, headers={"Location": server.url_for("/file")})
    )
    server.expect_request("/file").respond_with_data(CSV, content_type="text/csv")

    # when
    fetched = _fetch(_link(server.url_for("/export"), "google_sheet", "csv"))

    # then
    assert fetched.content == CSV and fetched.format == "csv"
    assert fetched.final_url == server.url_for("/file")


def test_an_xlsx_is_recognised_by_its_content(server: HTTPServer) -> None:
    # given
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    server.expect_request("/download").respond_with_data(buffer.getvalue(), content_type="application/octet-stream")

    # when
    fetched = _fetch(_link(server.url_for("/download")))

    # then
    assert fetched.format == "xlsx"


@pytest.mark.parametrize(
    ("respond", "kind", "reason"),
    [
        (Response(status=302, headers={"Location": "https://accounts.google.com/ServiceLogin?continue=x"}),
         "google_sheet", "not_shared"),
        (Response("<html>Sign in</html>", status=200, content_type="text/html"), "google_sheet", "not_shared"),
        (Response(status=401), "google_drive", "not_shared"),
        (Response(status=404), "google_published", "not_published"),
        (Response(status=404), "google_sheet", "not_found"),
        (Response(status=403), "url", "access_denied"),
        (Response(status=503), "url", "http_error"),
        (Response("<!DOCTYPE html><p>Welcome</p>", status=200, content_type="text/html"), "url", "not_a_spreadsheet"),
    ],
)  # fmt: skip
def test_answers_that_are_no_spreadsheet_give_a_reason_to_act_on(
    server: HTTPServer, respond: Response, kind: str, reason: str
) -> None:
    # given
    server.expect_request("/sheet").respond_with_response(respond)

    # when / then
    assert _reason(_link(server.url_for("/sheet"), kind)) == reason


def test_a_private_sheet_says_how_to_share_it() -> None:
    # given
    error = SourceError("not_shared")

    # then
    assert "Усі, хто має посилання" in error.message(Language.UK)
    assert "Все, у кого есть ссылка" in error.message(Language.RU)
    assert "Anyone with the link" in error.message(Language.EN)


def test_a_file_over_the_limit_is_refused_whether_or_not_it_says_its_size(server: HTTPServer) -> None:
    # given
    server.expect_request("/declared").respond_with_data(b"x" * 5000, content_type="text/csv")

    def chunked(request: Request) -> Response:
        return Response((b"y" * 1000 for _ in range(5)), content_type="text/csv", direct_passthrough=True)

    server.expect_request("/streamed").respond_with_handler(chunked)

    # then
    assert _reason(_link(server.url_for("/declared")), max_bytes=4000) == "too_large"
    assert _reason(_link(server.url_for("/streamed")), max_bytes=4000) == "too_large"


def test_a_slow_server_times_out(server: HTTPServer) -> None:
    # given
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response(CSV, content_type="text/csv")

    server.expect_request("/slow").respond_with_handler(slow)

    # then
    assert _reason(_link(server.url_for("/slow")), timeout=0.3) == "timeout"


def test_endless_redirects_stop(server: HTTPServer) -> None:
    # given
    server.expect_request("/loop").respond_with_response(Response(status=302, headers={"Location": "/loop"}))

    # then
    assert _reason(_link(server.url_for("/loop"))) == "too_many_redirects"


def test_plain_http_and_private_targets_are_refused_unless_allowed(server: HTTPServer) -> None:
    # given
    server.expect_request("/sheet").respond_with_data(CSV, content_type="text/csv")
    production = AddressPolicy()
    https_loopback = server.url_for("/sheet").replace("http://", "https://")

    # then
    assert _reason(_link(server.url_for("/sheet")), policy=production) == "not_https"
    assert _reason(_link(https_loopback), policy=production) == "blocked_address"
    assert server.log == []  # nothing reached the server


def test_a_redirect_into_a_private_network_is_refused(server: HTTPServer) -> None:
    # given: an allowed host redirects to a name that resolves to a private address
    policy = AddressPolicy.allowing(["127.0.0.1"], resolver=lambda host, port: ["10.0.0.9"])
    server.expect_request("/sheet").respond_with_response(
        Response(status=302, headers={"Location": "https://intranet.example/secret.csv"})
    )

    # then
    assert _reason(_link(server.url_for("/sheet")), policy=policy) == "blocked_address"


def test_a_host_that_does_not_resolve_is_unreachable() -> None:
    # given
    def nxdomain(host: str, port: int) -> list[str]:
        import socket

        raise socket.gaierror(-2, "Name or service not known")

    policy = AddressPolicy(resolver=nxdomain)

    # then
    assert _reason(_link("https://no-such-host.invalid/faq.csv"), policy=policy) == "unreachable"
