"""ConversationService: decision → reply, clarify picks, handoff and pause, takeover/resume, leads, degradation."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from faqbot.channels.models import InboundMessage, ReplyStatus, Signal
from faqbot.config import BotConfig, Channel, CrmSettings, GenericWebhookSettings, Language, Platform
from faqbot.conversation.knowledge import MatcherCache
from faqbot.conversation.service import ConversationService, Lookahead
from faqbot.conversation.store import ConversationStore, EventKind, Role
from faqbot.events import Escalation, EscalationReason, LeadReady, TranscriptUpdated
from faqbot.kb.matcher import Decision
from moto import mock_aws
from support.tables import plain_client
from webhook_support import FakeKb, FakeMatcher, FakePublisher, create_conversations_table, entry

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
DELIVERY = entry("7", "Скільки коштує доставка?", "Доставка по Україні — 80 грн.")
PICKUP = entry("8", "Чи можна забрати самому?", "Так, самовивіз з вул. Січових Стрільців, 5.")
RETURNS = entry("9", "Як повернути товар?", "Повернення протягом 14 днів.")
CRM = CrmSettings(webhook=GenericWebhookSettings(url="https://crm.example/hook", secret_param="/x"))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class World:
    """The service with a real store (moto), a scripted matcher and a recording publisher."""

    def __init__(self, table: Any) -> None:
        self.clock = Clock()
        self.store = ConversationStore(plain_client(table), table.name, clock=self.clock)
        self.matcher = FakeMatcher(
            {
                "Скільки коштує доставка?": (Decision.ANSWER, [DELIVERY], None),
                "доставка": (Decision.CLARIFY, [DELIVERY, PICKUP], None),
                "привіт": (Decision.SMALLTALK, [], "greeting"),
                "дякую": (Decision.SMALLTALK, [], "thanks"),
                "покличте менеджера": (Decision.HUMAN, [], None),
                "Як повернути товар?": (Decision.ANSWER, [RETURNS], None),
            }
        )
        self.kb = FakeKb([DELIVERY, PICKUP, RETURNS])
        self.publisher = FakePublisher()
        self.service = ConversationService(
            store=self.store,
            matchers=MatcherCache(self.kb, factory=lambda entries, thresholds: self.matcher),
            publisher=self.publisher,  # type: ignore[arg-type]
            clock=self.clock,
        )
        self.bot = BotConfig(bot_id="shop", language=Language.UK, pause_timeout_minutes=60)

    def say(self, text: str, *, bot: BotConfig | None = None, **fields: Any) -> Any:
        values: dict[str, Any] = {
            "platform": Platform.MANYCHAT,
            "contact_id": "42",
            "channel": Channel.INSTAGRAM,
            "text": text,
            "name": "Олена",
            "chat_url": "https://app.manychat.com/fb1/chat/42",
        }
        values.update(fields)
        return self.service.handle(bot or self.bot, InboundMessage(**values))

    def transcript(self) -> list[tuple[str, str]]:
        return [(m.kind.value if m.kind else m.role.value, m.text) for m in self.store.messages("shop", "42")]


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World(create_conversations_table(boto3.resource("dynamodb", region_name="eu-central-1")))


def test_answer_replies_with_the_entry_and_records_both_sides(world: World) -> None:
    # when
    reply = world.say("Скільки коштує доставка?")
    # then
    assert reply.status is ReplyStatus.ANSWERED
    assert reply.texts == ("Доставка по Україні — 80 грн.",)
    assert reply.entry_id == "7" and not reply.degraded
    messages = world.store.messages("shop", "42")
    assert [(m.role, m.text) for m in messages] == [
        (Role.CUSTOMER, "Скільки коштує доставка?"),
        (Role.BOT, "Доставка по Україні — 80 грн."),
    ]
    assert messages[1].entry_id == "7" and messages[1].decision == "answer" and messages[1].score == pytest.approx(0.9)


def test_smalltalk_uses_the_bots_text_in_the_customers_language(world: World) -> None:
    reply = world.say("дякую")
    assert reply.status is ReplyStatus.SMALLTALK
    assert reply.texts == (world.bot.texts.get("thanks", Language.UK),)


def test_clarify_offers_choices_and_a_number_picks_one(world: World) -> None:
    # given
    offer = world.say("доставка")
    assert offer.status is ReplyStatus.CLARIFY
    assert [(c.number, c.entry_id) for c in offer.choices] == [(1, "7"), (2, "8")]
    # when
    pick = world.say("2")
    # then
    assert pick.status is ReplyStatus.ANSWERED and pick.entry_id == "8" and pick.decision == "clarify_pick"
    assert world.store.get_contact("shop", "42").pending_clarify is None  # type: ignore[union-attr]


def test_clarify_pick_by_typing_the_question(world: World) -> None:
    world.say("доставка")
    reply = world.say("Чи можна забрати самому?")
    assert reply.entry_id == "8"


def test_a_new_clear_question_after_clarify_is_answered(world: World) -> None:
    world.say("доставка")
    reply = world.say("Як повернути товар?")
    assert reply.status is ReplyStatus.ANSWERED and reply.entry_id == "9"


def test_a_failed_pick_hands_off_with_reason_clarify_failed(world: World) -> None:
    # given
    world.say("доставка")
    # when
    reply = world.say("щось зовсім інше")
    # then
    assert reply.status is ReplyStatus.HANDOFF and reply.handoff_reason is EscalationReason.CLARIFY_FAILED
    (escalation,) = world.publisher.escalations
    assert escalation.reason is EscalationReason.CLARIFY_FAILED
    assert escalation.question == "доставка\n— щось зовсім інше"


def test_an_expired_clarify_offer_no_longer_captures_the_reply(world: World) -> None:
    world.say("доставка")
    world.clock.now = T0 + timedelta(hours=1)
    reply = world.say("2")
    assert reply.status is ReplyStatus.HANDOFF and reply.handoff_reason is EscalationReason.NO_ANSWER


def test_no_answer_hands_off_pauses_and_escalates_once(world: World) -> None:
    # when
    reply = world.say("У вас є подарункові сертифікати?")
    # then: the handoff text, one escalation with the chat link, the contact paused for the timeout
    assert reply.status is ReplyStatus.HANDOFF and reply.handoff_reason is EscalationReason.NO_ANSWER
    assert reply.texts == (world.bot.texts.get("handoff", Language.UK),)
    (escalation,) = world.publisher.escalations
    assert isinstance(escalation, Escalation)
    assert (escalation.bot_id, escalation.contact_id, escalation.channel) == ("shop", "42", Channel.INSTAGRAM)
    assert escalation.chat_url == "https://app.manychat.com/fb1/chat/42" and escalation.name == "Олена"
    assert escalation.question == "У вас є подарункові сертифікати?"
    assert world.publisher.crm == []  # no CRM configured
    contact = world.store.get_contact("shop", "42")
    assert contact is not None and contact.paused_until == T0 + timedelta(minutes=60)
    assert [kind for kind, _ in world.transcript()] == ["customer", "bot", "handoff", "paused"]


def test_asking_for_a_human_uses_the_human_text_and_reason(world: World) -> None:
    reply = world.say("покличте менеджера")
    assert reply.texts[0] == world.bot.texts.get("human", Language.UK)
    assert world.publisher.escalations[0].reason is EscalationReason.ASKED_HUMAN


def test_paused_contact_gets_no_reply_until_the_timeout(world: World) -> None:
    # given
    world.say("покличте менеджера")
    # when
    world.clock.now = T0 + timedelta(minutes=30)
    during = world.say("Скільки коштує доставка?")
    world.clock.now = T0 + timedelta(minutes=61)
    after = world.say("Скільки коштує доставка?")
    # then
    assert during.status is ReplyStatus.PAUSED and during.silent
    assert after.status is ReplyStatus.ANSWERED
    assert len(world.publisher.escalations) == 1
    kinds = [kind for kind, _ in world.transcript()]
    assert kinds.count("resumed") == 1 and kinds.count("customer") == 3


def test_platform_takeover_pauses_and_the_resume_flag_resumes(world: World) -> None:
    # given: the flow marks that a manager took the chat
    takeover = Signal(kind="field", name="human_takeover")
    paused = world.say("Скільки коштує доставка?", takeover=takeover)
    still = world.say("Скільки коштує доставка?", takeover=takeover)
    # when: the flow hands the chat back
    resume = Signal(kind="tag", name="bot_resume")
    resumed = world.say("Скільки коштує доставка?", takeover=takeover, resume=resume)
    # then
    assert paused.status is ReplyStatus.PAUSED and still.status is ReplyStatus.PAUSED
    assert resumed.status is ReplyStatus.ANSWERED
    assert resumed.clear_signals == (resume, takeover)
    assert world.publisher.escalations == []  # a takeover is not an escalation
    kinds = [kind for kind, _ in world.transcript()]
    assert kinds.count("paused") == 1 and kinds.count("resumed") == 1


def test_disabled_bot_stays_silent_but_keeps_the_transcript(world: World) -> None:
    bot = world.bot.model_copy(update={"enabled": False})
    reply = world.say("Скільки коштує доставка?", bot=bot)
    assert reply.status is ReplyStatus.DISABLED and reply.silent
    assert world.transcript() == [("customer", "Скільки коштує доставка?")]


def test_empty_message_is_ignored(world: World) -> None:
    reply = world.say("   ")
    assert reply.status is ReplyStatus.IGNORED and reply.silent
    assert world.transcript() == []


def test_bot_without_a_knowledge_base_hands_off(world: World) -> None:
    world.kb.entries = None
    reply = world.say("Скільки коштує доставка?")
    assert reply.status is ReplyStatus.HANDOFF


def test_lead_ready_once_when_required_fields_become_known(world: World) -> None:
    # given: a bot with a CRM that needs name and phone
    bot = world.bot.model_copy(update={"crm": CRM})
    # when: the phone arrives in a message, then more messages follow
    world.say("Скільки коштує доставка?", bot=bot)
    world.say("мій номер 067-123-45-67", bot=bot)
    world.say("Як повернути товар?", bot=bot)
    # then
    leads = [event for event, _ in world.publisher.crm if isinstance(event, LeadReady)]
    assert len(leads) == 1
    assert (leads[0].name, leads[0].phone, leads[0].chat_url) == (
        "Олена",
        "+380671234567",
        "https://app.manychat.com/fb1/chat/42",
    )
    transcripts = [(event, delay) for event, delay in world.publisher.crm if isinstance(event, TranscriptUpdated)]
    assert len(transcripts) == 1 and transcripts[0][1] == 300  # one delayed note trigger for the burst


def test_handoff_with_a_crm_asks_for_contact_data_and_notifies_the_crm(world: World) -> None:
    bot = world.bot.model_copy(update={"crm": CRM})
    reply = world.say("У вас є подарункові сертифікати?", bot=bot)
    assert reply.texts[-1] == bot.texts.get("ask_contact", Language.UK)
    assert [type(event) for event, _ in world.publisher.crm] == [Escalation]


def test_a_crm_bots_escalation_goes_to_both_queues_at_once(world: World) -> None:
    # given: a thread pool like the webhook's, and queues that each wait until the other send has started
    both_sending = threading.Barrier(2, timeout=10)  # a deadlock guard: one send after the other breaks it
    publisher = _WaitingPublisher(both_sending)
    with ThreadPoolExecutor(max_workers=4) as executor:
        world.service = ConversationService(
            store=world.store,
            matchers=MatcherCache(world.kb, factory=lambda entries, thresholds: world.matcher),
            publisher=publisher,  # type: ignore[arg-type]
            clock=world.clock,
            executor=executor,
        )
        # when
        reply = world.say("покличте менеджера", bot=world.bot.model_copy(update={"crm": CRM}))
    # then: exactly one escalation on each queue, and nothing failed
    assert reply.status is ReplyStatus.HANDOFF and not reply.degraded
    assert len(publisher.escalations) == 1
    assert [type(event) for event, _ in publisher.crm] == [Escalation]


def test_the_crm_still_hears_of_a_handoff_when_the_managers_queue_is_down(world: World) -> None:
    def down(event: Escalation) -> None:
        raise ConnectionError("SQS unreachable")

    world.publisher.escalate = down  # type: ignore[method-assign]
    reply = world.say("покличте менеджера", bot=world.bot.model_copy(update={"crm": CRM}))
    assert reply.status is ReplyStatus.HANDOFF and reply.degraded
    assert [type(event) for event, _ in world.publisher.crm] == [Escalation]


class _WaitingPublisher(FakePublisher):
    """Each escalation send waits at `barrier` for the other one: both must be under way together."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__()
        self._barrier = barrier

    def escalate(self, event: Escalation) -> None:
        self._barrier.wait()
        super().escalate(event)

    def to_crm(self, event: Escalation | LeadReady | TranscriptUpdated, *, delay_seconds: int = 0) -> None:
        if isinstance(event, Escalation):
            self._barrier.wait()
        super().to_crm(event, delay_seconds=delay_seconds)


def test_lead_is_retried_when_the_queue_was_down(world: World) -> None:
    bot = world.bot.model_copy(update={"crm": CRM})
    world.publisher.fail = True
    first = world.say("мій номер 0671234567", bot=bot)
    world.publisher.fail = False
    world.say("дякую", bot=bot)
    assert first.degraded
    assert len([e for e, _ in world.publisher.crm if isinstance(e, LeadReady)]) == 1


def test_queue_down_the_customer_still_gets_the_handoff_text(world: World) -> None:
    world.publisher.fail = True
    reply = world.say("У вас є подарункові сертифікати?")
    assert reply.status is ReplyStatus.HANDOFF and reply.texts and reply.degraded


def test_storage_down_the_customer_still_gets_the_answer() -> None:
    # given: no DynamoDB table at all
    with mock_aws():
        world = World(boto3.resource("dynamodb", region_name="eu-central-1").Table("Missing"))
        # when
        reply = world.say("Скільки коштує доставка?")
    # then
    assert reply.status is ReplyStatus.ANSWERED and reply.entry_id == "7" and reply.degraded


def test_kb_table_down_answers_from_the_cached_matcher(world: World) -> None:
    # given: a warm container that built the matcher
    world.say("Скільки коштує доставка?")
    world.kb.fail = True
    world.clock.now = T0 + timedelta(minutes=5)
    cache = world.service._matchers  # the recheck interval is in monotonic time
    cache._recheck_seconds = 0
    # when
    reply = world.say("Як повернути товар?")
    # then
    assert reply.status is ReplyStatus.ANSWERED and reply.entry_id == "9" and reply.degraded


def test_a_match_worked_out_ahead_is_used_not_repeated(world: World) -> None:
    # given: the webhook matched the text while the contact was read
    message = InboundMessage(platform=Platform.MANYCHAT, contact_id="42", text="Скільки коштує доставка?")
    ahead = world.service.look_ahead(world.bot, message)
    # when
    reply = world.service.start(world.bot, message, ahead=lambda: ahead).finish()
    # then
    assert reply.status is ReplyStatus.ANSWERED and reply.entry_id == "7"
    assert world.matcher.calls == ["Скільки коштує доставка?"]


def test_a_paused_contact_needs_no_match_so_a_failed_one_costs_nothing(world: World) -> None:
    # given: a paused contact, and a look-ahead that failed (KB table down, nothing cached)
    world.say("У вас є подарункові сертифікати?")  # handoff: paused for an hour
    message = InboundMessage(platform=Platform.MANYCHAT, contact_id="42", text="алло?")

    def failed() -> Lookahead:
        raise RuntimeError("KB table unreachable")

    # when
    reply = world.service.start(world.bot, message, ahead=failed).finish()
    # then
    assert reply.status is ReplyStatus.PAUSED and not reply.degraded


def test_a_failing_matcher_hands_off_and_tells_the_managers(world: World) -> None:
    # given: a bug in the matcher
    def broken(text: str) -> Any:
        raise ValueError("bug")

    world.matcher.match = broken  # type: ignore[method-assign]
    # when
    reply = world.say("Скільки коштує доставка?")
    # then: the handoff text, degraded, and a manager is told (the contact is paused like any handoff)
    assert reply.status is ReplyStatus.HANDOFF and reply.degraded
    assert [event.reason for event in world.publisher.escalations] == [EscalationReason.NO_ANSWER]
    assert [kind for kind, _ in world.transcript()] == ["customer", "bot", "handoff", "paused"]


def test_language_of_a_bare_number_follows_the_conversation(world: World) -> None:
    world.matcher.language = Language.RU
    world.say("доставка")  # detected language stored on the contact
    contact = world.store.get_contact("shop", "42")
    assert contact is not None and contact.language == "uk"
    reply = world.say("1")
    assert reply.language is Language.UK


def test_matcher_cache_rechecks_the_live_version_at_most_every_interval(world: World) -> None:
    # given
    world.say("Скільки коштує доставка?")
    calls = world.kb.active_calls
    # when
    for _ in range(5):
        world.say("Скільки коштує доставка?")
    # then
    assert world.kb.active_calls == calls
    assert world.store.get_contact("shop", "42").message_count == 6  # type: ignore[union-attr]


def test_events_record_kinds_in_the_transcript(world: World) -> None:
    world.say("покличте менеджера")
    assert EventKind.HANDOFF in [m.kind for m in world.store.messages("shop", "42")]


def test_a_website_visitor_is_asked_for_contact_data_on_handoff_even_without_a_crm(world: World) -> None:
    # given: an anonymous website visitor (no CRM configured), then one who left a phone
    web = {"platform": Platform.WEB, "channel": Channel.WEB, "name": None, "chat_url": None}
    # when
    asked = world.say("покличте менеджера", contact_id="web-visitor-1", **web)
    known = world.say("покличте менеджера, мій номер 067 123 45 67", contact_id="web-visitor-2", **web)
    # then
    assert asked.texts[-1] == world.bot.texts.get("ask_contact", Language.UK)
    assert world.bot.texts.get("ask_contact", Language.UK) not in known.texts
    assert [e.platform for e in world.publisher.escalations] == [Platform.WEB, Platform.WEB]


def test_warm_up_loads_the_phone_library_before_any_phone_arrives() -> None:
    # A fresh interpreter: this one may have imported phonenumbers already.
    script = (
        "import sys\n"
        "from faqbot.conversation import leads\n"
        "assert 'phonenumbers' not in sys.modules\n"
        "leads.warm_up()\n"
        "assert 'phonenumbers.data.region_UA' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
