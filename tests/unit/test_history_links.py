"""Signed history/playground tokens: what opens a page and what is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from faqbot.history.links import (
    BadSigningKey,
    ExpiredToken,
    InvalidToken,
    SigningKeys,
    SigningKeySource,
    TokenPurpose,
    history_link,
    load_signing_keys,
    make_token,
    parse_duration,
    playground_link,
    verify_token,
)
from faqbot.secrets import SecretNotFound, SecretStore
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
KEY = "k" * 32
OTHER_KEY = "o" * 32
KEYS = SigningKeys(KEY)


def _token(keys: SigningKeys = KEYS, **overrides: object) -> str:
    args: dict[str, object] = {
        "purpose": TokenPurpose.HISTORY,
        "bot_id": "demo",
        "contact_id": "c-1",
        "expires_at": NOW + timedelta(hours=1),
    }
    args.update(overrides)
    return make_token(keys, **args)  # type: ignore[arg-type]


def _reencode(payload: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


def test_valid_token_round_trips_its_claims() -> None:
    # given
    token = _token()

    # when
    claims = verify_token(SigningKeys(KEY), token, TokenPurpose.HISTORY, NOW)

    # then
    assert (claims.purpose, claims.bot_id, claims.contact_id) == (TokenPurpose.HISTORY, "demo", "c-1")
    assert claims.expires_at == NOW + timedelta(hours=1)


def test_token_is_url_safe_and_compact() -> None:
    # given / when
    token = _token(contact_id="ig:1234567890")

    # then
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert len(token) < 160


def test_tampered_signature_is_refused() -> None:
    # given
    body, signature = _token().split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    # when / then
    with pytest.raises(InvalidToken):
        verify_token(SigningKeys(KEY), f"{body}.{flipped}", TokenPurpose.HISTORY, NOW)


def test_payload_swapped_to_another_bot_is_refused() -> None:
    # given: a genuine token whose payload is rewritten to name another bot, signature kept
    body, signature = _token().split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["b"] = "other-bot"

    # when / then
    with pytest.raises(InvalidToken):
        verify_token(SigningKeys(KEY), f"{_reencode(payload)}.{signature}", TokenPurpose.HISTORY, NOW)


def test_token_for_another_bot_is_refused_when_the_bot_is_expected() -> None:
    # given
    token = _token(bot_id="demo")

    # when / then
    with pytest.raises(InvalidToken, match="another bot"):
        verify_token(SigningKeys(KEY), token, TokenPurpose.HISTORY, NOW, bot_id="shop")


def test_extended_expiry_is_refused() -> None:
    # given: an expired token whose payload is edited to expire later
    body, signature = _token(expires_at=NOW - timedelta(minutes=1)).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["e"] = int((NOW + timedelta(days=30)).timestamp())

    # when / then
    with pytest.raises(InvalidToken) as raised:
        verify_token(SigningKeys(KEY), f"{_reencode(payload)}.{signature}", TokenPurpose.HISTORY, NOW)
    assert not isinstance(raised.value, ExpiredToken)


def test_token_signed_with_another_key_is_refused() -> None:
    # given
    token = _token(SigningKeys(OTHER_KEY))

    # when / then
    with pytest.raises(InvalidToken):
        verify_token(SigningKeys(KEY), token, TokenPurpose.HISTORY, NOW)


@pytest.mark.parametrize(
    ("made_for", "opened_as"),
    [(TokenPurpose.HISTORY, TokenPurpose.PLAYGROUND), (TokenPurpose.PLAYGROUND, TokenPurpose.HISTORY)],
)
def test_token_for_one_purpose_never_opens_the_other(made_for: TokenPurpose, opened_as: TokenPurpose) -> None:
    # given
    token = _token(purpose=made_for)

    # when / then
    with pytest.raises(InvalidToken, match="not"):
        verify_token(SigningKeys(KEY), token, opened_as, NOW)


def test_expired_token_says_so() -> None:
    # given
    token = _token(expires_at=NOW)

    # when / then
    with pytest.raises(ExpiredToken):
        verify_token(SigningKeys(KEY), token, TokenPurpose.HISTORY, NOW)


def test_expired_token_with_bad_signature_is_invalid_not_expired() -> None:
    # given: nothing about a forged token (not even that it would have expired) is revealed
    token = _token(SigningKeys(OTHER_KEY), expires_at=NOW - timedelta(days=1))

    # when / then
    with pytest.raises(InvalidToken) as raised:
        verify_token(SigningKeys(KEY), token, TokenPurpose.HISTORY, NOW)
    assert not isinstance(raised.value, ExpiredToken)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b.c",
        ".",
        "abc.",
        ".abc",
        "!!!.???",
        "é.é",
        "é.AAAA",  # a non-ASCII payload with a well-formed signature part
        "e30\n.AAAA",
        "e30 .AAAA",
        "e30.AAAA=",
        "x" * 2000 + ".y",
        "e30.AAAA",
    ],
)
def test_malformed_tokens_are_invalid(token: str) -> None:
    # when / then
    with pytest.raises(InvalidToken):
        verify_token(SigningKeys(KEY), token, TokenPurpose.HISTORY, NOW)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.builds(lambda a, b: f"{a}.{b}", st.text(max_size=80), st.text(max_size=80)),
        st.builds(
            lambda a, b: f"{a}.{b}",
            st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=120),
            st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=60),
        ),
    )
)
def test_any_text_is_refused_with_invalid_token_and_nothing_else(text: str) -> None:
    # when / then: whatever arrives in the URL, verifying fails cleanly (the page turns it into a 403)
    with pytest.raises(InvalidToken):
        verify_token(KEYS, text, TokenPurpose.HISTORY, NOW)


def test_previous_key_is_accepted_during_grace_and_refused_after() -> None:
    # given: a link signed before rotation, and keys rotated with a one-day grace period
    old = SigningKeys(KEY)
    token = _token(old, expires_at=NOW + timedelta(days=7))
    rotated = old.rotated(OTHER_KEY, grace=timedelta(days=1), now=NOW)

    # when
    during = verify_token(rotated, token, TokenPurpose.HISTORY, NOW + timedelta(hours=23))

    # then
    assert during.contact_id == "c-1"
    with pytest.raises(InvalidToken):
        verify_token(rotated, token, TokenPurpose.HISTORY, NOW + timedelta(days=1))


def test_new_tokens_are_signed_with_the_current_key_after_rotation() -> None:
    # given
    rotated = SigningKeys(KEY).rotated(OTHER_KEY, grace=timedelta(days=1), now=NOW)

    # when
    token = _token(rotated)

    # then: only the new key verifies it
    assert verify_token(SigningKeys(OTHER_KEY), token, TokenPurpose.HISTORY, NOW).bot_id == "demo"
    with pytest.raises(InvalidToken):
        verify_token(SigningKeys(KEY), token, TokenPurpose.HISTORY, NOW)


def test_parameter_value_formats() -> None:
    # given
    plain = SigningKeys.parse(f"  {KEY}\n")
    rotating = SigningKeys.parse(
        json.dumps({"current": OTHER_KEY, "previous": KEY, "previous_valid_until": "2025-06-02T00:00:00Z"})
    )

    # then
    assert plain == SigningKeys(KEY)
    assert rotating.current == OTHER_KEY
    assert rotating.verifying_keys(NOW) == [OTHER_KEY, KEY]
    assert rotating.verifying_keys(datetime(2025, 6, 2, tzinfo=UTC)) == [OTHER_KEY]
    assert SigningKeys.parse(rotating.to_parameter_value()) == rotating
    assert SigningKeys.parse(plain.to_parameter_value()) == plain


@pytest.mark.parametrize(
    "value",
    [
        "short",
        "{not json",
        json.dumps({"previous": KEY}),
        json.dumps({"current": KEY, "previous": OTHER_KEY}),
        json.dumps({"current": KEY, "previous": OTHER_KEY, "previous_valid_until": "someday"}),
        json.dumps({"current": KEY, "next": OTHER_KEY}),
    ],
)
def test_bad_parameter_values_are_reported(value: str) -> None:
    # when / then
    with pytest.raises(BadSigningKey):
        SigningKeys.parse(value)


def test_links_carry_the_route_and_a_verifiable_token() -> None:
    # given
    keys = SigningKeys(KEY)

    # when
    history = history_link("https://api.example.com/", keys, "demo", "c-1", timedelta(days=7), now=NOW)
    playground = playground_link("https://api.example.com", keys, "demo", timedelta(days=7), now=NOW)

    # then
    assert history.startswith("https://api.example.com/history/")
    assert playground.startswith("https://api.example.com/try/")
    claims = verify_token(keys, history.rsplit("/", 1)[1], TokenPurpose.HISTORY, NOW + timedelta(days=6))
    assert (claims.bot_id, claims.contact_id) == ("demo", "c-1")
    assert verify_token(keys, playground.rsplit("/", 1)[1], "playground", NOW).contact_id is None


def test_history_link_without_base_url_is_an_error() -> None:
    # when / then
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        history_link("", SigningKeys(KEY), "demo", "c-1", timedelta(days=1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        ("45", timedelta(seconds=45)),
        ("30s", timedelta(seconds=30)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "d", "0d", "-1d", "7x", "1.5h"])
def test_parse_duration_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@mock_aws
def test_keys_load_from_ssm(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    ssm = boto3.client("ssm", region_name="eu-central-1")
    rotating = SigningKeys(OTHER_KEY, KEY, NOW + timedelta(days=1))
    ssm.put_parameter(Name="/faqbot/test/history-key", Value=rotating.to_parameter_value(), Type="SecureString")
    store = SecretStore(ssm_client=ssm, secrets_client=boto3.client("secretsmanager", region_name="eu-central-1"))

    # when
    keys = load_signing_keys("/faqbot/test/history-key", store)

    # then
    assert keys == rotating
    with pytest.raises(SecretNotFound):
        load_signing_keys("/faqbot/test/missing", store)


def test_key_source_reloads_at_most_once_per_interval() -> None:
    # given
    loads: list[bool] = []
    clock = [100.0]

    def loader(fresh: bool) -> SigningKeys:
        loads.append(fresh)
        return SigningKeys(KEY)

    source = SigningKeySource(loader, reload_interval=60, monotonic=lambda: clock[0])

    # when
    first = source.reload()
    second = source.reload()
    clock[0] += 61
    third = source.reload()

    # then
    assert first == SigningKeys(KEY) and third == SigningKeys(KEY)
    assert second is None
    assert loads == [True, True]
