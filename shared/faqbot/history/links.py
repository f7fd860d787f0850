"""Signed, expiring tokens for the pages the history_page app serves (`/history/<token>`, later `/try/<token>`).

A token is `base64url(payload JSON) "." base64url(HMAC-SHA256(key, first part))`, unpadded, so it
fits in a URL path segment. The payload names the purpose, the bot, the contact (history only) and
the expiry (epoch seconds); the purpose is signed, so a history token never opens a playground.

The signing key is one secret per deployment, in SSM (SecureString; or Secrets Manager with the
`secretsmanager:` prefix) under the name in `HISTORY_SIGNING_KEY_PARAM`. Its value is either a plain
string (the current key only) or, during a key rotation, JSON:

    {"current": "<new key>", "previous": "<old key>", "previous_valid_until": "2025-07-01T00:00:00Z"}

Tokens are always signed with `current`; `previous` still verifies until `previous_valid_until`,
so links already sent to managers keep working through the grace period (see docs/history.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from faqbot.secrets import SecretStore

MAX_TOKEN_CHARS = 1024  # anything longer is not ours; refuse before decoding
MIN_KEY_CHARS = 16
_PAYLOAD_VERSION = 1
_B64URL = re.compile(r"[A-Za-z0-9_-]+")  # unpadded base64url: the only characters a token part may hold


class TokenPurpose(StrEnum):
    HISTORY = "history"
    PLAYGROUND = "playground"


# The path each purpose's page is served under (`/history/<token>`, `/try/<token>`).
ROUTE_PREFIX: dict[TokenPurpose, str] = {TokenPurpose.HISTORY: "history", TokenPurpose.PLAYGROUND: "try"}


class InvalidToken(ValueError):
    """Malformed, tampered, signed with an unknown key, or made for another purpose or bot."""


class BadSignature(InvalidToken):
    """Not signed by any key we accept now (perhaps signed by a key this container has not read yet)."""


class ExpiredToken(InvalidToken):
    """A genuine token past its expiry: the person should ask for a fresh link."""


class BadSigningKey(ValueError):
    """The signing-key parameter's value is not in the documented format."""


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says."""

    purpose: TokenPurpose
    bot_id: str
    contact_id: str | None
    expires_at: datetime


@dataclass(frozen=True)
class SigningKeys:
    """The current signing key, and the previous one while its rotation grace period lasts."""

    current: str
    previous: str | None = None
    previous_valid_until: datetime | None = None

    def __post_init__(self) -> None:
        for key in (self.current, self.previous):
            if key is not None and len(key) < MIN_KEY_CHARS:
                raise BadSigningKey(f"a signing key must be at least {MIN_KEY_CHARS} characters")
        if self.previous is not None and self.previous_valid_until is None:
            raise BadSigningKey("'previous' needs 'previous_valid_until' (the end of its grace period)")

    @classmethod
    def parse(cls, value: str) -> SigningKeys:
        """Read the parameter value: a plain key, or JSON `{"current", "previous", "previous_valid_until"}`."""
        text = value.strip()
        if not text.startswith("{"):
            return cls(current=text)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadSigningKey(f"signing key JSON is invalid: {exc.msg}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("current"), str):
            raise BadSigningKey("signing key JSON needs a string 'current'")
        unknown = set(data) - {"current", "previous", "previous_valid_until"}
        if unknown:
            raise BadSigningKey(f"signing key JSON has unknown fields: {', '.join(sorted(unknown))}")
        previous = data.get("previous") or None
        until = data.get("previous_valid_until") or None
        if previous is not None and not isinstance(previous, str):
            raise BadSigningKey("'previous' must be a string")
        return cls(current=data["current"], previous=previous, previous_valid_until=_parse_until(until))

    def to_parameter_value(self) -> str:
        """The inverse of `parse`: what to store in SSM."""
        if self.previous is None or self.previous_valid_until is None:
            return self.current
        until = self.previous_valid_until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps({"current": self.current, "previous": self.previous, "previous_valid_until": until})

    @staticmethod
    def generate_key() -> str:
        """A fresh random key (256 bits, URL-safe text)."""
        return secrets.token_urlsafe(32)

    def rotated(self, new_key: str, *, grace: timedelta, now: datetime) -> SigningKeys:
        """Sign with `new_key` from now on; the current key keeps verifying for `grace`."""
        return SigningKeys(current=new_key, previous=self.current, previous_valid_until=now + grace)

    def verifying_keys(self, now: datetime) -> list[str]:
        """Keys a token may be signed with at `now`: the current one, and the previous one within its grace."""
        keys = [self.current]
        if self.previous is not None and self.previous_valid_until is not None and now < self.previous_valid_until:
            keys.append(self.previous)
        return keys


def signing_key_param_name(stage: str) -> str:
    """The SSM parameter `infra/template.yaml` names for a stage (HISTORY_SIGNING_KEY_PARAM)."""
    return f"/faqbot/{stage}/history-signing-key"


def load_signing_keys(name: str, store: SecretStore | None = None, *, max_age: int | None = None) -> SigningKeys:
    """Read the deployment's signing keys from SSM / Secrets Manager (`SecretNotFound` if missing)."""
    if not name:
        raise BadSigningKey("HISTORY_SIGNING_KEY_PARAM is not set")
    store = store or SecretStore()
    value = store.get(name) if max_age is None else store.get(name, max_age=max_age)
    return SigningKeys.parse(value)


class SigningKeySource:
    """The keys for a warm container, with a rate-limited re-read for a token signed by a just-rotated key.

    Secret reads are cached for minutes; right after a rotation, a link signed with the new key may
    reach a container that still holds the old value. `reload()` re-reads once per `reload_interval`.
    """

    def __init__(
        self,
        loader: Callable[[bool], SigningKeys],
        *,
        reload_interval: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._reload_interval = reload_interval
        self._monotonic = monotonic
        self._last_reload: float | None = None

    @classmethod
    def from_parameter(cls, name: str, store: SecretStore | None = None) -> SigningKeySource:
        secret_store = store or SecretStore()
        return cls(lambda fresh: load_signing_keys(name, secret_store, max_age=0 if fresh else None))

    @classmethod
    def fixed(cls, keys: SigningKeys) -> SigningKeySource:
        return cls(lambda fresh: keys)

    def get(self) -> SigningKeys:
        return self._loader(False)

    def reload(self) -> SigningKeys | None:
        """Fresh keys, or None when re-read too recently (a stream of forged tokens must not hammer SSM)."""
        now = self._monotonic()
        if self._last_reload is not None and now - self._last_reload < self._reload_interval:
            return None
        self._last_reload = now
        return self._loader(True)


def make_token(
    keys: SigningKeys,
    purpose: TokenPurpose | str,
    bot_id: str,
    contact_id: str | None,
    expires_at: datetime,
) -> str:
    """A signed token for `purpose` on `bot_id` (and `contact_id` for history), valid until `expires_at`."""
    purpose = TokenPurpose(purpose)
    if purpose is TokenPurpose.HISTORY and not contact_id:
        raise ValueError("a history token needs a contact id")
    payload: dict[str, Any] = {"v": _PAYLOAD_VERSION, "p": purpose.value, "b": bot_id, "e": int(expires_at.timestamp())}
    if contact_id is not None:
        payload["c"] = contact_id
    body = _b64encode(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{body}.{_b64encode(_sign(keys.current, body))}"


def verify_token(
    keys: SigningKeys,
    token: str,
    purpose: TokenPurpose | str,
    now: datetime,
    *,
    bot_id: str | None = None,
) -> TokenClaims:
    """The claims of a genuine, unexpired token for `purpose` (and `bot_id`, when given).

    Raises `InvalidToken` (malformed, bad signature, other purpose or bot) or `ExpiredToken`. The
    signature is checked first, in constant time, so nothing about a forged token is revealed.
    """
    purpose = TokenPurpose(purpose)
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise InvalidToken("malformed token")
    body, signature_text = token.split(".")
    if not _B64URL.fullmatch(body):  # checked before signing it: any text may arrive in the URL path
        raise InvalidToken("malformed token")
    signature = _b64decode(signature_text)
    if not any(hmac.compare_digest(_sign(key, body), signature) for key in keys.verifying_keys(now)):
        raise BadSignature("bad signature")
    claims = _claims(_b64decode(body))
    if claims.purpose is not purpose:
        raise InvalidToken(f"token is for {claims.purpose.value}, not {purpose.value}")
    if bot_id is not None and claims.bot_id != bot_id:
        raise InvalidToken("token is for another bot")
    if now >= claims.expires_at:
        raise ExpiredToken(f"token expired at {claims.expires_at.isoformat()}")
    return claims


def signed_link(
    base_url: str,
    keys: SigningKeys,
    purpose: TokenPurpose,
    bot_id: str,
    contact_id: str | None,
    ttl: timedelta,
    *,
    now: datetime | None = None,
) -> str:
    """`<base_url>/<route>/<token>` for `purpose` (`/history/...` or `/try/...`), valid for `ttl`."""
    if not base_url:
        raise ValueError("no public base URL to build the link on (PUBLIC_BASE_URL)")
    expires_at = (now or datetime.now(UTC)) + ttl
    token = make_token(keys, purpose, bot_id, contact_id, expires_at)
    return f"{base_url.rstrip('/')}/{ROUTE_PREFIX[purpose]}/{token}"


def history_link(
    base_url: str,
    keys: SigningKeys,
    bot_id: str,
    contact_id: str,
    ttl: timedelta,
    *,
    now: datetime | None = None,
) -> str:
    """The link a manager opens to read this contact's transcript: `<base_url>/history/<token>`."""
    return signed_link(base_url, keys, TokenPurpose.HISTORY, bot_id, contact_id, ttl, now=now)


def playground_link(
    base_url: str, keys: SigningKeys, bot_id: str, ttl: timedelta, *, now: datetime | None = None
) -> str:
    """The link a bot's owner opens to try the bot: `<base_url>/try/<token>`."""
    return signed_link(base_url, keys, TokenPurpose.PLAYGROUND, bot_id, None, ttl, now=now)


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """`90m`, `12h`, `7d`, `2w` (or plain seconds) → timedelta; the CLI's `--ttl`."""
    value = text.strip().lower()
    number, unit = (value[:-1], value[-1]) if value[-1:] in _DURATION_UNITS else (value, "s")
    if not number.isdigit() or int(number) <= 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90m, 12h, 7d, 2w)")
    return timedelta(seconds=int(number) * _DURATION_UNITS[unit])


def _sign(key: str, body: str) -> bytes:
    return hmac.new(key.encode(), body.encode("ascii"), hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise InvalidToken("malformed token")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("malformed token") from exc


def _claims(raw: bytes) -> TokenClaims:
    """Decode a payload whose signature already checked out (so its shape is ours, but stay strict)."""
    try:
        data = json.loads(raw)
        if data.get("v") != _PAYLOAD_VERSION:
            raise InvalidToken("unknown token version")
        contact = data.get("c")
        return TokenClaims(
            purpose=TokenPurpose(data["p"]),
            bot_id=str(data["b"]),
            contact_id=str(contact) if contact is not None else None,
            expires_at=datetime.fromtimestamp(int(data["e"]), UTC),
        )
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        if isinstance(exc, InvalidToken):
            raise
        raise InvalidToken("malformed token payload") from exc


def _parse_until(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadSigningKey("'previous_valid_until' must be an ISO date-time string")
    try:
        until = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadSigningKey(f"'previous_valid_until' is not an ISO date-time: {value!r}") from exc
    return until if until.tzinfo else until.replace(tzinfo=UTC)
