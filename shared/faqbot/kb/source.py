"""A bot's KB that lives in a Google Sheet (or any HTTPS CSV/XLSX): the link, and fetching it safely.

Clients paste whatever their browser shows — `…/edit#gid=123`, `…/edit?usp=sharing`, a published
`…/d/e/2PACX…/pubhtml`, a Drive file link — so `parse_source_link` turns each shape into the URL
that downloads the data, keeping the sheet id and the tab (`gid`).

`fetch_source` downloads it with httpx and never crashes on the client's mistakes: every problem is a
`SourceError` whose `reason` says what to do ("the sheet is not shared: set 'anyone with the link
can view'"), in the report's language. It is also an outbound request made on a client's say-so, so:
HTTPS only, a size limit, timeouts, redirects followed by hand (each hop checked), and every TCP
connection goes through `GuardedBackend`, which resolves the host itself and refuses private,
loopback, link-local and other non-public addresses (no DNS-rebinding window: the checked address
is the one connected to). Hosts in `allow_hosts` (the local stack and tests: `127.0.0.1`) skip the
address check and may use plain HTTP.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpcore
import httpx

from faqbot.config import Language

SourceKind = Literal["google_sheet", "google_published", "google_drive", "url"]
SourceFormat = Literal["csv", "xlsx"]

USER_AGENT = "faqbot-kb-sync/1 (+https://github.com/faqbot)"
MAX_REDIRECTS = 5
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 15.0
TOTAL_TIMEOUT_SECONDS = 30.0

_GOOGLE_DOCS_HOSTS = {"docs.google.com", "spreadsheets.google.com"}
_GOOGLE_DRIVE_HOSTS = {"drive.google.com", "drive.usercontent.google.com"}
_SHEET_PATH = re.compile(r"^/spreadsheets(?:/u/\d+)?/d/(?P<id>[A-Za-z0-9_-]{20,})(?:/(?P<action>[^/?#]*))?")
_PUBLISHED_PATH = re.compile(r"^/spreadsheets(?:/u/\d+)?/d/e/(?P<id>[A-Za-z0-9_-]{20,})(?:/(?P<action>[^/?#]*))?")
_DRIVE_FILE_PATH = re.compile(r"^/file(?:/u/\d+)?/d/(?P<id>[A-Za-z0-9_-]{20,})")
_XLSX_CONTENT_TYPES = ("spreadsheetml", "application/vnd.ms-excel", "application/zip", "application/octet-stream")
_ZIP_MAGIC = b"PK\x03\x04"


# ---- what can go wrong, in words a client can act on ---------------------------------------------------------


_REASONS: dict[str, dict[Language, str]] = {
    "invalid_link": {
        Language.UK: "це не посилання на таблицю: «{url}». Вставте посилання з адресного рядка Google Таблиць "
        "або пряме https-посилання на файл .csv / .xlsx",
        Language.RU: "это не ссылка на таблицу: «{url}». Вставьте ссылку из адресной строки Google Таблиц "
        "или прямую https-ссылку на файл .csv / .xlsx",
        Language.EN: "this is not a link to a sheet: '{url}'. Paste the link from the Google Sheets address bar "
        "or a direct https link to a .csv / .xlsx file",
    },
    "not_https": {
        Language.UK: "посилання має починатися з https:// (незахищені http-посилання не приймаємо)",
        Language.RU: "ссылка должна начинаться с https:// (незащищённые http-ссылки не принимаем)",
        Language.EN: "the link must start with https:// (plain http links are not accepted)",
    },
    "blocked_address": {
        Language.UK: "адреса {host} веде у внутрішню мережу, туди бот не ходить; дайте публічне посилання",
        Language.RU: "адрес {host} ведёт во внутреннюю сеть, туда бот не обращается; дайте публичную ссылку",
        Language.EN: "{host} points into a private network, which the bot does not access; give a public link",
    },
    "not_shared": {
        Language.UK: "таблиця не відкрита для перегляду: у Google Таблицях натисніть «Поділитися» → «Загальний "
        "доступ» → «Усі, хто має посилання» → «Читач»",
        Language.RU: "таблица не открыта для просмотра: в Google Таблицах нажмите «Настройки доступа» → "
        "«Общий доступ» → «Все, у кого есть ссылка» → «Читатель»",
        Language.EN: "the sheet is not shared: in Google Sheets click Share → General access → "
        "'Anyone with the link' → Viewer",
    },
    "not_published": {
        Language.UK: "таблицю більше не опубліковано в інтернеті: «Файл» → «Поділитися» → «Опублікувати в "
        "інтернеті», або дайте звичайне посилання з доступом «Усі, хто має посилання»",
        Language.RU: "таблица больше не опубликована в интернете: «Файл» → «Поделиться» → «Опубликовать в "
        "интернете», или дайте обычную ссылку с доступом «Все, у кого есть ссылка»",
        Language.EN: "the sheet is no longer published to the web: File → Share → Publish to web, or give the "
        "ordinary link with 'Anyone with the link' access",
    },
    "not_found": {
        Language.UK: "таблицю за посиланням не знайдено (HTTP {status}): можливо, її видалили або посилання "
        "скопійоване не повністю",
        Language.RU: "таблица по ссылке не найдена (HTTP {status}): возможно, её удалили или ссылка "
        "скопирована не полностью",
        Language.EN: "no sheet at this link (HTTP {status}): it may have been deleted, or the link is incomplete",
    },
    "access_denied": {
        Language.UK: "сервер не дає доступу до файлу (HTTP {status}): відкрийте доступ за посиланням без входу",
        Language.RU: "сервер не даёт доступа к файлу (HTTP {status}): откройте доступ по ссылке без входа",
        Language.EN: "the server refuses access to the file (HTTP {status}): make it downloadable without a login",
    },
    "http_error": {
        Language.UK: "сервер відповів помилкою HTTP {status}; спробуємо ще раз під час наступної перевірки",
        Language.RU: "сервер ответил ошибкой HTTP {status}; попробуем ещё раз при следующей проверке",
        Language.EN: "the server answered HTTP {status}; the next check will try again",
    },
    "timeout": {
        Language.UK: "сервер не відповів за {seconds} с; спробуємо ще раз під час наступної перевірки",
        Language.RU: "сервер не ответил за {seconds} с; попробуем ещё раз при следующей проверке",
        Language.EN: "the server did not answer within {seconds} s; the next check will try again",
    },
    "unreachable": {
        Language.UK: "не вдалося з'єднатися з {host}: {detail}",
        Language.RU: "не удалось соединиться с {host}: {detail}",
        Language.EN: "could not connect to {host}: {detail}",
    },
    "too_large": {
        Language.UK: "файл завеликий: понад {limit} байт",
        Language.RU: "файл слишком большой: больше {limit} байт",
        Language.EN: "the file is too large: over {limit} bytes",
    },
    "too_many_redirects": {
        Language.UK: "посилання переадресовує понад {limit} разів; дайте пряме посилання на файл",
        Language.RU: "ссылка перенаправляет больше {limit} раз; дайте прямую ссылку на файл",
        Language.EN: "the link redirects more than {limit} times; give a direct link to the file",
    },
    "not_a_spreadsheet": {
        Language.UK: "за посиланням вебсторінка, а не таблиця (.csv чи .xlsx); дайте посилання на сам файл",
        Language.RU: "по ссылке веб-страница, а не таблица (.csv или .xlsx); дайте ссылку на сам файл",
        Language.EN: "the link returns a web page, not a spreadsheet (.csv or .xlsx); link the file itself",
    },
}


class SourceError(Exception):
    """The KB source could not be read; `reason` picks the words, `params` fill them in."""

    def __init__(self, reason: str, **params: str | int | float) -> None:
        if reason not in _REASONS:
            raise ValueError(f"unknown source error reason {reason!r}")
        self.reason = reason
        self.params = params
        super().__init__(self.message(Language.EN))

    def message(self, language: Language = Language.UK) -> str:
        return _REASONS[self.reason][language].format(**self.params)


class BlockedAddress(Exception):
    """A connection to a non-public address was refused (raised inside httpx's connection pool)."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host = host
        self.address = address


# ---- the link ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLink:
    """Where a bot's KB comes from, and the URL that downloads it."""

    url: str  # as the client gave it
    fetch_url: str
    kind: SourceKind
    format: SourceFormat | None  # None: decided by the response (suffix, content type, content)
    sheet_id: str | None = None
    gid: str | None = None

    @property
    def is_google(self) -> bool:
        return self.kind != "url"


def parse_source_link(url: str) -> SourceLink:
    """The download URL for a Google Sheets / Drive link (any shape a browser shows), or the URL itself.

    Raises `SourceError("invalid_link")` for text that is not an http(s) URL; `not_https` for plain
    http to a host other than Google's (Google links are upgraded to https).
    """
    text = url.strip()
    if re.match(r"^(docs|drive)\.google\.com/", text):
        text = "https://" + text  # pasted without the scheme
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise SourceError("invalid_link", url=_preview(url))
    query = parse_qs(parts.query)
    fragment = parse_qs(parts.fragment)
    if host in _GOOGLE_DOCS_HOSTS:
        return _google_docs_link(text, parts.path, query, fragment)
    if host in _GOOGLE_DRIVE_HOSTS:
        return _google_drive_link(text, parts.path, query)
    return SourceLink(url=text, fetch_url=text, kind="url", format=suffix_format(parts.path))


def _google_docs_link(url: str, path: str, query: dict[str, list[str]], fragment: dict[str, list[str]]) -> SourceLink:
    gid = _first(fragment, "gid") or _first(query, "gid")
    published = _PUBLISHED_PATH.match(path)
    if published:
        doc_id, action = published["id"], published["action"] or ""
        fmt: SourceFormat = "xlsx" if _first(query, "output") == "xlsx" else "csv"
        params: dict[str, str] = {}
        if gid is not None:
            params["gid"] = gid
        if _first(query, "single") or gid is not None:
            params["single"] = "true"
        params["output"] = fmt
        base = f"https://docs.google.com/spreadsheets/d/e/{doc_id}/pub"
        if action not in ("pub", "pubhtml", ""):
            raise SourceError("invalid_link", url=_preview(url))
        return SourceLink(url, f"{base}?{urlencode(params)}", "google_published", fmt, doc_id, gid)
    sheet = _SHEET_PATH.match(path)
    if not sheet:
        raise SourceError("invalid_link", url=_preview(url))
    sheet_id = sheet["id"]
    if _first(query, "rtpof") == "true":
        # An .xlsx kept in Drive and opened in Sheets ("Office mode"): Sheets cannot export it, Drive downloads it.
        return SourceLink(url, _drive_download_url(sheet_id), "google_drive", "xlsx", sheet_id, gid)
    if sheet["action"] == "export" and _first(query, "format") == "xlsx":
        # The whole workbook: the KB tab is the one named FAQ / База, or the first that looks like a KB.
        fetch_url = f"https://docs.google.com/spreadsheets/d/{sheet_id}/export?format=xlsx"
        return SourceLink(url, fetch_url, "google_sheet", "xlsx", sheet_id, None)
    params = {"format": "csv"}
    if gid is not None:
        params["gid"] = gid
    fetch_url = f"https://docs.google.com/spreadsheets/d/{sheet_id}/export?{urlencode(params)}"
    return SourceLink(url, fetch_url, "google_sheet", "csv", sheet_id, gid)


def _google_drive_link(url: str, path: str, query: dict[str, list[str]]) -> SourceLink:
    match = _DRIVE_FILE_PATH.match(path)
    file_id = match["id"] if match else _first(query, "id")
    if not file_id or not re.fullmatch(r"[A-Za-z0-9_-]{20,}", file_id):
        raise SourceError("invalid_link", url=_preview(url))
    return SourceLink(url, _drive_download_url(file_id), "google_drive", None, file_id, None)


def _drive_download_url(file_id: str) -> str:
    return f"https://drive.google.com/uc?{urlencode({'export': 'download', 'id': file_id})}"


def _first(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values and values[0] else None


def _preview(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def suffix_format(path: str) -> SourceFormat | None:
    lowered = path.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith(".xlsx"):
        return "xlsx"
    return None


# ---- the address guard -----------------------------------------------------------------------------------

Resolver = Callable[[str, int], Sequence[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: str) -> bool:
    """False for private, loopback, link-local, multicast, reserved, shared (CGNAT) and unspecified addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class AddressPolicy:
    """Which hosts may be connected to: public addresses, plus `allow_hosts` exactly as named."""

    allow_hosts: frozenset[str] = frozenset()
    resolver: Resolver = resolve_host

    @classmethod
    def allowing(cls, hosts: Iterable[str], resolver: Resolver = resolve_host) -> AddressPolicy:
        return cls(frozenset(h.strip().lower() for h in hosts if h.strip()), resolver)

    def allowed_host(self, host: str) -> bool:
        return host.lower().strip("[]") in self.allow_hosts

    def address_for(self, host: str, port: int) -> str:
        """The address to connect to; `BlockedAddress` if any address of the host is not public."""
        if self.allowed_host(host):
            return host
        addresses = self.resolver(host.strip("[]"), port)
        if not addresses:
            raise BlockedAddress(host, "no address")
        for address in addresses:
            if not is_public_address(address):
                raise BlockedAddress(host, address)
        return addresses[0]


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, connecting only where the policy allows (to the address it checked)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            address = self._policy.address_for(host, port)
        except OSError as exc:  # the name does not resolve: an ordinary connection failure
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        # TLS still verifies the certificate against `host`: httpcore passes the name as server_hostname.
        return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise BlockedAddress(path, "unix socket")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_client(policy: AddressPolicy, *, read_timeout: float = READ_TIMEOUT_SECONDS) -> httpx.Client:
    """An httpx client whose every connection passes the address guard; no proxies from the environment."""
    transport = httpx.HTTPTransport()
    # httpx has no hook for the network backend; its pool is rebuilt with ours (httpx 0.28, pinned).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), network_backend=GuardedBackend(policy)
    )
    return httpx.Client(
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT_SECONDS),
        headers={"User-Agent": USER_AGENT},
    )


# ---- fetching ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedSource:
    link: SourceLink
    content: bytes
    format: SourceFormat
    final_url: str


def fetch_source(
    link: SourceLink,
    *,
    http: httpx.Client,
    policy: AddressPolicy,
    max_bytes: int,
    total_timeout: float = TOTAL_TIMEOUT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> FetchedSource:
    """Download the source (following redirects by hand); `SourceError` says what went wrong and what to do."""
    deadline = clock() + total_timeout
    url = link.fetch_url
    for _ in range(MAX_REDIRECTS + 1):
        _check_url(url, policy)
        try:
            with http.stream("GET", url, follow_redirects=False) as response:
                if response.is_redirect:
                    url = _redirect_target(link, response)
                    continue
                _check_status(link, response)
                content = _read_limited(response, max_bytes, deadline, clock)
                fmt = _format_of(link, response, content)
                return FetchedSource(link=link, content=content, format=fmt, final_url=str(response.url))
        except BlockedAddress as exc:
            raise SourceError("blocked_address", host=exc.host) from exc
        except httpx.TimeoutException as exc:
            raise SourceError("timeout", seconds=round(http.timeout.read or READ_TIMEOUT_SECONDS, 1)) from exc
        except httpx.TransportError as exc:
            host = urlsplit(url).hostname or url
            raise SourceError("unreachable", host=host, detail=_preview(str(exc) or type(exc).__name__, 120)) from exc
    raise SourceError("too_many_redirects", limit=MAX_REDIRECTS)


def _check_url(url: str, policy: AddressPolicy) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" or (parts.scheme == "http" and policy.allowed_host(host)):
        return
    if parts.scheme == "http":
        raise SourceError("not_https")
    raise SourceError("invalid_link", url=_preview(url))


def _is_login_page(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return host == "accounts.google.com" or "servicelogin" in parts.path.lower() or "/signin" in parts.path.lower()


def _redirect_target(link: SourceLink, response: httpx.Response) -> str:
    location = response.headers.get("location", "")
    if not location:
        raise SourceError("http_error", status=response.status_code)
    target = urljoin(str(response.url), location)
    if link.is_google and _is_login_page(target):
        raise SourceError("not_published" if link.kind == "google_published" else "not_shared")
    return target


def _check_status(link: SourceLink, response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        if link.is_google and "text/html" in response.headers.get("content-type", ""):
            # Google answers a private (or unpublished) sheet with its sign-in page.
            raise SourceError("not_published" if link.kind == "google_published" else "not_shared")
        return
    if link.is_google and status in (401, 403):
        raise SourceError("not_published" if link.kind == "google_published" else "not_shared")
    if link.kind == "google_published" and status == 404:
        raise SourceError("not_published")
    if status in (404, 410):
        raise SourceError("not_found", status=status)
    if status in (401, 403):
        raise SourceError("access_denied", status=status)
    raise SourceError("http_error", status=status)


def _read_limited(response: httpx.Response, max_bytes: int, deadline: float, clock: Callable[[], float]) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise SourceError("too_large", limit=max_bytes)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise SourceError("too_large", limit=max_bytes)
        if clock() > deadline:
            raise SourceError("timeout", seconds=int(TOTAL_TIMEOUT_SECONDS))
        chunks.append(chunk)
    return b"".join(chunks)


def _format_of(link: SourceLink, response: httpx.Response, content: bytes) -> SourceFormat:
    """xlsx or csv: the link says so, else the content (a zip is an xlsx), else the name or content type."""
    if content.startswith(_ZIP_MAGIC):
        return "xlsx"
    content_type = response.headers.get("content-type", "").lower()
    if "text/html" in content_type or content.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise SourceError("not_a_spreadsheet")
    if link.format is not None:
        return link.format
    named = suffix_format(urlsplit(str(response.url)).path) or _disposition_format(response)
    if named is not None:
        return named
    if any(kind in content_type for kind in _XLSX_CONTENT_TYPES):
        return "xlsx"
    return "csv"


def _disposition_format(response: httpx.Response) -> SourceFormat | None:
    match = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)', response.headers.get("content-disposition", ""))
    return suffix_format(match.group(1)) if match else None
