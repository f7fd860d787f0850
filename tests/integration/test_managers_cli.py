"""`faqbot notify test|set-webhook` and `faqbot crm test` on the emulator, with fake Telegram / Kommo / CRM servers."""

from __future__ import annotations

from collections.abc import Iterator

import faqbot.cli.managers  # noqa: F401 - registers the commands on `cli`
import pytest
from click.testing import CliRunner, Result
from faqbot.bots.registry import BotRegistry
from faqbot.cli import cli
from faqbot.config import BotConfig, CrmSettings, GenericWebhookSettings, KommoSettings, TelegramSettings
from faqbot.secrets import SecretStore
from support.fake_crm_webhook import FakeCrmWebhook
from support.fake_kommo import FakeKommo, Pipeline
from support.fake_telegram import FakeTelegram
from support.local_aws import LocalAws

pytestmark = pytest.mark.integration

TG_TOKEN = "123456:cli-test-token"
CHAT = -1001234567890
KOMMO_TOKEN = "kommo-cli-token"
HOOK_SECRET = "hook-cli-secret"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TG_TOKEN, chats=(CHAT,)) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def kommo() -> Iterator[FakeKommo]:
    pipelines = [Pipeline(10, "Sales", {101: "Incoming", 102: "Нужна помощь менеджера"}, is_main=True)]
    with FakeKommo(KOMMO_TOKEN, pipelines=pipelines) as fake:
        yield fake  # type: ignore[misc]


def store(emulator: LocalAws) -> SecretStore:
    return SecretStore(emulator.client("ssm"), emulator.client("secretsmanager"))


def add_bot(emulator: LocalAws, config: BotConfig, secrets: dict[str, str]) -> None:
    for name, value in secrets.items():
        store(emulator).put(name, value)
    BotRegistry(emulator.table("KbTable")).put(config)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def telegram_bot(telegram: FakeTelegram, **settings: object) -> BotConfig:
    values: dict[str, object] = {
        "chat_id": CHAT,
        "bot_token_param": "/faqbot/dev/bots/acme/telegram-token",
        "api_base_url": telegram.url,
        **settings,
    }
    return BotConfig(bot_id="acme", display_name="Acme <Nails>", telegram=TelegramSettings(**values))  # type: ignore[arg-type]


def kommo_bot(kommo: FakeKommo, **settings: object) -> BotConfig:
    values: dict[str, object] = {
        "base_url": kommo.url,
        "token_param": "/faqbot/dev/bots/acme/kommo-token",
        "pipeline_id": 10,
        "status_id": 101,
        "handoff_status_id": 102,
        **settings,
    }
    return BotConfig(bot_id="acme", crm=CrmSettings(kommo=KommoSettings(**values)))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- notify


def test_notify_test_checks_token_and_chat_and_posts_a_test_message(emulator: LocalAws, telegram: FakeTelegram) -> None:
    # given
    add_bot(emulator, telegram_bot(telegram, message_thread_id=7), {"/faqbot/dev/bots/acme/telegram-token": TG_TOKEN})

    # when
    result = run("notify", "test", "acme")

    # then
    assert result.exit_code == 0, result.output
    assert "✓ token: the bot is @faq_test_bot" in result.output
    assert f"✓ admin chat {CHAT}: Managers (supergroup), topic 7" in result.output
    [message] = telegram.messages_in(CHAT)
    assert "Customers the bot Acme <Nails> hands over will be announced here." in message.text
    assert [r.json()["message_thread_id"] for r in telegram.requests if r.path.endswith("/sendMessage")] == [7]


def test_notify_test_says_what_to_fix_when_the_bot_was_removed_from_the_chat(
    emulator: LocalAws, telegram: FakeTelegram
) -> None:
    # given
    add_bot(emulator, telegram_bot(telegram), {"/faqbot/dev/bots/acme/telegram-token": TG_TOKEN})
    telegram.kicked_from.add(CHAT)

    # when
    result = run("notify", "test", "acme")

    # then
    assert result.exit_code == 1
    assert "bot was kicked" in result.output and "add the bot to the admin chat again" in result.output
    assert telegram.messages_in(CHAT) == []


def test_notify_test_names_the_missing_token_parameter(emulator: LocalAws, telegram: FakeTelegram) -> None:
    # given: the config names a token parameter nobody stored
    add_bot(emulator, telegram_bot(telegram), {})

    # when
    result = run("notify", "test", "acme")

    # then
    assert result.exit_code == 1
    assert "the Telegram bot token is not stored" in result.output
    assert "--name /faqbot/dev/bots/acme/telegram-token" in result.output


def test_set_webhook_registers_the_url_with_a_stored_secret_token(emulator: LocalAws, telegram: FakeTelegram) -> None:
    # given: a bot whose config names no webhook secret yet
    add_bot(emulator, telegram_bot(telegram), {"/faqbot/dev/bots/acme/telegram-token": TG_TOKEN})

    # when
    result = run("notify", "set-webhook", "acme", "--api-url", "https://bot.example.com/")

    # then: the secret Telegram will send is the one the webhook function checks
    assert result.exit_code == 0, result.output
    param = BotRegistry(emulator.table("KbTable"), cache_seconds=0).get("acme").telegram.webhook_secret_param
    assert param == "/faqbot/dev/bots/acme/telegram-webhook-secret"
    assert telegram.webhook == {
        "url": "https://bot.example.com/telegram/acme",
        "secret_token": store(emulator).get(param, max_age=0),
        "allowed_updates": ["callback_query", "message"],
    }
    assert "✓ Telegram sends button presses to https://bot.example.com/telegram/acme" in result.output


# ---------------------------------------------------------------------------------------------- crm


def test_crm_test_checks_the_kommo_token_and_ids(emulator: LocalAws, kommo: FakeKommo) -> None:
    # given
    add_bot(emulator, kommo_bot(kommo), {"/faqbot/dev/bots/acme/kommo-token": KOMMO_TOKEN})

    # when
    result = run("crm", "test", "acme")

    # then
    assert result.exit_code == 0, result.output
    assert "→ pipeline 10 'Sales' (main): 101 'Incoming', 102 'Нужна помощь менеджера'" in result.output
    assert "✓ ids: pipeline 10, new leads in stage 101, handoff stage 102" in result.output
    assert kommo.leads == {} and kommo.contacts == {}


def test_crm_test_names_the_wrong_stage(emulator: LocalAws, kommo: FakeKommo) -> None:
    # given
    add_bot(emulator, kommo_bot(kommo, handoff_status_id=999), {"/faqbot/dev/bots/acme/kommo-token": KOMMO_TOKEN})

    # when
    result = run("crm", "test", "acme")

    # then
    assert result.exit_code == 1
    assert "handoff_status_id 999 is not a stage of pipeline 10" in result.output


def test_crm_test_reports_a_refused_token_in_kommos_words(emulator: LocalAws, kommo: FakeKommo) -> None:
    # given
    add_bot(emulator, kommo_bot(kommo), {"/faqbot/dev/bots/acme/kommo-token": "expired"})

    # when
    result = run("crm", "test", "acme")

    # then
    assert result.exit_code == 1
    assert "Kommo 401 on /api/v4/leads/pipelines: Unauthorized; Account not found or token is invalid" in result.output


def test_crm_test_sends_a_signed_ping_to_the_webhook(emulator: LocalAws) -> None:
    with FakeCrmWebhook(HOOK_SECRET) as receiver:
        # given
        hook = GenericWebhookSettings(url=receiver.hook_url, secret_param="/faqbot/dev/bots/acme/crm-secret")
        add_bot(emulator, BotConfig(bot_id="acme", crm=CrmSettings(webhook=hook)), {hook.secret_param: HOOK_SECRET})

        # when
        ok = run("crm", "test", "acme")
        store(emulator).put(hook.secret_param, "a-different-secret")
        refused = run("crm", "test", "acme")

    # then
    assert ok.exit_code == 0, ok.output
    assert [event["type"] for event in receiver.events] == ["ping"]
    assert refused.exit_code == 1 and "refused the event (401)" in refused.output
