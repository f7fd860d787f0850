"""`faqbot history link` and `faqbot history rotate-key`, against moto in-process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import boto3
import faqbot.cli.history  # noqa: F401 - registers the commands on `cli`
import pytest
from click.testing import CliRunner
from faqbot import aws, settings
from faqbot.bots.registry import BotRegistry
from faqbot.cli import cli
from faqbot.config import BotConfig
from faqbot.conversation.store import ConversationStore
from faqbot.history.links import ExpiredToken, InvalidToken, SigningKeys, TokenPurpose, verify_token
from moto import mock_aws
from support.tables import create_pk_sk_table, plain_client

pytestmark = pytest.mark.integration

REGION = "eu-central-1"
KEY_PARAM = "/faqbot/test/history-signing-key"
BASE_URL = "https://api.example.com"
KEYS = SigningKeys("cli-history-key-0123456789abcdef")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    """The demo bot with one contact, and the signing key in SSM under the stage's name."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "KB_TABLE_NAME": "KbTable",
        "CONVERSATIONS_TABLE_NAME": "ConversationsTable",
        "STAGE": "test",
        "PUBLIC_BASE_URL": BASE_URL,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "HISTORY_SIGNING_KEY_PARAM"):
        monkeypatch.delenv(name, raising=False)
    aws.reset()
    settings.reset()
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        BotRegistry(create_pk_sk_table(dynamodb, "KbTable")).put(BotConfig(bot_id="demo"))
        conversations = create_pk_sk_table(dynamodb, "ConversationsTable")
        ConversationStore(plain_client(conversations), conversations.name).update_contact("demo", "ig-42", name="Olena")
        ssm = boto3.client("ssm", region_name=REGION)
        yield SimpleNamespace(ssm=ssm)
    aws.reset()
    settings.reset()


def run(*args: str) -> SimpleNamespace:
    result = CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)
    return SimpleNamespace(code=result.exit_code, out=result.stdout, err=result.stderr)


def put_key(world: SimpleNamespace, value: str) -> None:
    world.ssm.put_parameter(Name=KEY_PARAM, Value=value, Type="SecureString", Overwrite=True)


def stored_keys(world: SimpleNamespace) -> SigningKeys:
    return SigningKeys.parse(world.ssm.get_parameter(Name=KEY_PARAM, WithDecryption=True)["Parameter"]["Value"])


def token_of(link: str) -> str:
    assert link.startswith(f"{BASE_URL}/history/"), link
    return link.rsplit("/", 1)[1]


def test_link_prints_a_signed_link_valid_for_the_ttl(world: SimpleNamespace) -> None:
    # given
    put_key(world, KEYS.to_parameter_value())

    # when
    before = datetime.now(UTC)
    result = run("history", "link", "demo", "ig-42", "--ttl", "90m")

    # then
    assert result.code == 0, result.err
    claims = verify_token(KEYS, token_of(result.out.strip()), TokenPurpose.HISTORY, datetime.now(UTC))
    assert (claims.bot_id, claims.contact_id) == ("demo", "ig-42")
    expected = before + timedelta(minutes=90)
    assert expected - timedelta(seconds=5) <= claims.expires_at <= expected + timedelta(seconds=5)
    with pytest.raises(ExpiredToken):
        verify_token(KEYS, token_of(result.out.strip()), TokenPurpose.HISTORY, expected + timedelta(seconds=5))
    assert result.err == ""


def test_link_lasts_seven_days_by_default_and_takes_base_url_and_key_param(world: SimpleNamespace) -> None:
    # given: the key under another name, given with --key-param
    world.ssm.put_parameter(Name="/custom/key", Value=KEYS.to_parameter_value(), Type="SecureString")

    # when
    result = run("history", "link", "demo", "ig-42", "--key-param", "/custom/key", "--base-url", "https://x.test/")

    # then
    assert result.code == 0, result.err
    link = result.out.strip()
    assert link.startswith("https://x.test/history/")
    claims = verify_token(KEYS, link.rsplit("/", 1)[1], TokenPurpose.HISTORY, datetime.now(UTC))
    assert timedelta(days=7) - timedelta(seconds=10) <= claims.expires_at - datetime.now(UTC) <= timedelta(days=7)


def test_link_for_an_unknown_contact_warns_but_prints_the_link(world: SimpleNamespace) -> None:
    # given
    put_key(world, KEYS.to_parameter_value())

    # when
    result = run("history", "link", "demo", "nobody")

    # then
    assert result.code == 0
    assert "no stored conversation" in result.err
    assert verify_token(KEYS, token_of(result.out.strip()), TokenPurpose.HISTORY, datetime.now(UTC))


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["demo", "ig-42", "--ttl", "soon"], 2, "not a duration"),
        (["demo", "ig-42", "--ttl", "0d"], 2, "not a duration"),
        (["ghost", "ig-42"], 1, "no bot 'ghost'"),
    ],
)
def test_link_refuses_what_it_cannot_do(world: SimpleNamespace, args: list[str], code: int, message: str) -> None:
    # given
    put_key(world, KEYS.to_parameter_value())

    # when
    result = run("history", "link", *args)

    # then
    assert (result.code, result.out) == (code, "")
    assert message in result.err


def test_link_without_a_signing_key_says_how_to_create_it(world: SimpleNamespace) -> None:
    # when
    result = run("history", "link", "demo", "ig-42")

    # then
    assert result.code == 1 and result.out == ""
    assert KEY_PARAM in result.err and "faqbot history rotate-key" in result.err


def test_link_with_a_broken_signing_key_says_so(world: SimpleNamespace) -> None:
    # given
    put_key(world, "short")

    # when
    result = run("history", "link", "demo", "ig-42")

    # then
    assert result.code == 1 and "not valid" in result.err


def test_link_without_a_base_url_is_a_usage_error(world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    put_key(world, KEYS.to_parameter_value())
    monkeypatch.delenv("PUBLIC_BASE_URL")

    # when
    result = run("history", "link", "demo", "ig-42")

    # then
    assert result.code == 2 and "PUBLIC_BASE_URL" in result.err


def test_rotate_key_creates_then_rotates_keeping_old_links_open_for_the_grace(world: SimpleNamespace) -> None:
    # given: no key yet
    created = run("history", "rotate-key")
    first = stored_keys(world)
    old_link = run("history", "link", "demo", "ig-42", "--ttl", "30d").out.strip()

    # when
    rotated = run("history", "rotate-key", "--grace", "2d")

    # then
    assert created.code == 0 and "created" in created.out
    assert first.previous is None and len(first.current) >= 32
    assert rotated.code == 0 and "rotated" in rotated.out
    keys = stored_keys(world)
    assert keys.current != first.current and keys.previous == first.current
    assert keys.previous_valid_until is not None
    now = datetime.now(UTC)
    assert timedelta(days=2) - timedelta(seconds=30) <= keys.previous_valid_until - now <= timedelta(days=2)
    assert verify_token(keys, token_of(old_link), TokenPurpose.HISTORY, now).contact_id == "ig-42"
    with pytest.raises(InvalidToken):
        verify_token(keys, token_of(old_link), TokenPurpose.HISTORY, now + timedelta(days=2, minutes=1))
    new_link = run("history", "link", "demo", "ig-42").out.strip()
    assert verify_token(SigningKeys(keys.current), token_of(new_link), TokenPurpose.HISTORY, now)


def test_rotate_key_refuses_a_parameter_it_cannot_read(world: SimpleNamespace) -> None:
    # given
    put_key(world, '{"current": 1}')

    # when
    result = run("history", "rotate-key")

    # then
    assert result.code == 1 and "fix or delete it first" in result.err
    assert world.ssm.get_parameter(Name=KEY_PARAM, WithDecryption=True)["Parameter"]["Value"] == '{"current": 1}'
