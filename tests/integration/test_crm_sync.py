"""crm_sync through the local stack: CRM events on the real SQS queue → the real handler → a fake Kommo / CRM.

The stack's poller delivers `CrmQueue` to CrmSyncFunction as Lambda does (partial batch failures,
failed records come back, `maxReceiveCount` receives → DLQ). The fake Kommo on 127.0.0.1 speaks
the v4 format (hal+json, 204 on empty searches, problem+json errors, 7 requests/s enforced) and
can fail a seeded share of calls; the fake CRM receiver verifies the generic webhook's signature.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faqbot.config import BotConfig, Channel, CrmSettings, GenericWebhookSettings, KommoSettings, Language, Platform
from faqbot.conversation.store import ConversationStore, Role, StoredMessage
from faqbot.events import Escalation, EscalationReason, LeadReady, TranscriptUpdated
from faqbot.local.stack import LocalStack
from support.fake_crm_webhook import FakeCrmWebhook
from support.fake_kommo import FakeKommo, Pipeline
from support.managers import drain_dead_letters, enqueue, put_bot, queue_empty, wait_until

pytestmark = pytest.mark.integration

TOKEN = "kommo-long-lived-token"
WEBHOOK_SECRET = "crm-webhook-signing-secret"
QUEUE, DLQ = "CrmQueue", "CrmDlq"
PIPELINE, NEW_STAGE, HANDOFF_STAGE, OTHER_PIPELINE = 7001, 70011, 70012, 7002
MANAGER = 111
_numbers = itertools.count(1)
_phone_numbers = itertools.count(1)
SEED = int(os.environ.get("FAQBOT_TEST_SEED", "20240605"))


@pytest.fixture(scope="module")
def kommo() -> Iterator[FakeKommo]:
    pipelines = [
        Pipeline(OTHER_PIPELINE, "Wholesale", {70021: "Incoming"}, is_main=True),
        Pipeline(PIPELINE, "Chatbot", {NEW_STAGE: "New from the bot", HANDOFF_STAGE: "Нужна помощь менеджера"}),
    ]
    with FakeKommo(TOKEN, pipelines=pipelines) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture(scope="module")
def receiver() -> Iterator[FakeCrmWebhook]:
    with FakeCrmWebhook(WEBHOOK_SECRET) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture(autouse=True)
def no_failures_left(kommo: FakeKommo, receiver: FakeCrmWebhook) -> Iterator[None]:
    yield
    kommo.fail_randomly(0.0, seed=0)
    receiver.fail_randomly(0.0, seed=0)


class CrmBot:
    """One bot with its CRM settings pointed at a fake server, and its contacts' store."""

    def __init__(self, stack: LocalStack, crm: CrmSettings, secrets: dict[str, str], *, prefix: str = "crm") -> None:
        self.bot_id = f"{prefix}{next(_numbers)}"
        self.stack = stack
        self.config = put_bot(
            stack,
            BotConfig(bot_id=self.bot_id, display_name="Salon", language=Language.EN, timezone="UTC", crm=crm),
            secrets,
        )
        self.store = ConversationStore(stack.emulator.client("dynamodb"), "ConversationsTable")
        self._phones: dict[str, str] = {}

    def phone_of(self, contact_id: str) -> str:
        """A phone of this contact's own (the fake Kommo account is shared by the module's tests)."""
        if contact_id not in self._phones:
            self._phones[contact_id] = f"+38063{next(_phone_numbers):07d}"
        return self._phones[contact_id]

    @classmethod
    def kommo(cls, stack: LocalStack, kommo: FakeKommo, *, token: str = TOKEN, **settings: Any) -> CrmBot:
        number = next(_numbers)
        param = f"/faqbot/local/bots/kommo{number}/kommo-token"
        values: dict[str, Any] = {
            "base_url": kommo.url,
            "token_param": param,
            "pipeline_id": PIPELINE,
            "status_id": NEW_STAGE,
            "handoff_status_id": HANDOFF_STAGE,
            "responsible_user_id": MANAGER,
            "task_due_minutes": 45,
            **settings,
        }
        return cls(stack, CrmSettings(kommo=KommoSettings(**values)), {param: token})

    @classmethod
    def webhook(cls, stack: LocalStack, receiver: FakeCrmWebhook, *, secret: str = WEBHOOK_SECRET) -> CrmBot:
        param = f"/faqbot/local/bots/hook{next(_numbers)}/crm-webhook-secret"
        settings = GenericWebhookSettings(url=receiver.hook_url, secret_param=param)
        return cls(stack, CrmSettings(webhook=settings), {param: secret}, prefix="hook")

    def customer(self, contact_id: str, *lines: tuple[Role, str], **facts: Any) -> None:
        """A contact who said `lines` (in order, a second apart) to the bot."""
        self.store.update_contact(self.bot_id, contact_id, platform=Platform.MANYCHAT, **facts)
        start = datetime.now(UTC) - timedelta(minutes=5)
        self.store.append_messages(
            self.bot_id,
            contact_id,
            [
                StoredMessage(at=start + timedelta(seconds=n), role=role, text=text)
                for n, (role, text) in enumerate(lines)
            ],
        )

    def lead_ready(self, contact_id: str, **fields: Any) -> LeadReady:
        values: dict[str, Any] = {
            "bot_id": self.bot_id,
            "contact_id": contact_id,
            "platform": Platform.MANYCHAT,
            "channel": Channel.INSTAGRAM,
            "name": "Ann Lee",
            "phone": self.phone_of(contact_id),
            "chat_url": f"https://app.manychat.com/fb1/chat/{contact_id}",
            **fields,
        }
        return LeadReady(**values)

    def escalation(self, contact_id: str, **fields: Any) -> Escalation:
        values: dict[str, Any] = {
            "bot_id": self.bot_id,
            "contact_id": contact_id,
            "platform": Platform.MANYCHAT,
            "channel": Channel.INSTAGRAM,
            "name": "Ann Lee",
            "phone": self.phone_of(contact_id),
            "question": "Can I pay by card?",
            "reason": EscalationReason.ASKED_HUMAN,
            "chat_url": f"https://app.manychat.com/fb1/chat/{contact_id}",
            **fields,
        }
        return Escalation(**values)

    def transcript_updated(self, contact_id: str) -> TranscriptUpdated:
        return TranscriptUpdated(bot_id=self.bot_id, contact_id=contact_id, platform=Platform.MANYCHAT)

    def lead_id(self, contact_id: str) -> int | None:
        contact = self.store.get_contact(self.bot_id, contact_id)
        return int(contact.crm_lead_id) if contact and contact.crm_lead_id else None

    def with_lead(self, contact_id: str, *lines: tuple[Role, str]) -> int:
        """A contact who said `lines`, whose lead.ready has been through crm_sync: its lead id."""
        self.customer(contact_id, *lines)
        send(self.stack, self.lead_ready(contact_id))
        drain(self.stack)
        lead_id = self.lead_id(contact_id)
        assert lead_id is not None
        return lead_id


def send(stack: LocalStack, *events: Escalation | LeadReady | TranscriptUpdated) -> None:
    for event in events:
        enqueue(stack, QUEUE, event)


def drain(stack: LocalStack, *, timeout: float = 60) -> None:
    wait_until(lambda: queue_empty(stack, QUEUE), timeout=timeout, interval=0.2, what="the CRM queue to drain")


def assert_kommo_was_respected(kommo: FakeKommo) -> None:
    assert kommo.rate_violations == [], "more than 7 requests/s reached Kommo"
    assert kommo.errors == []


# ---------------------------------------------------------------------------------------------------- Kommo


def test_a_lead_ready_yields_one_lead_with_its_contact_and_a_transcript_note(
    stack: LocalStack, kommo: FakeKommo
) -> None:
    # given: a customer who talked to the bot and left a phone and an e-mail
    bot = CrmBot.kommo(stack, kommo)
    bot.customer(
        "ig-100",
        (Role.CUSTOMER, "Do you have <b>gel</b> nails & pedicure?"),
        (Role.BOT, "Yes, gel nails cost 600 UAH."),
        (Role.CUSTOMER, "My number is +380 67 123 45 67"),
        channel=Channel.INSTAGRAM,
    )
    event = bot.lead_ready("ig-100", phone="+380671234567", email="Ann@Example.com")

    # when: SQS delivers the record twice
    send(stack, event, event)
    drain(stack)

    # then: one lead, in the configured pipeline and stage, with one new contact
    lead_id = bot.lead_id("ig-100")
    assert lead_id is not None
    lead = kommo.leads[lead_id]
    assert [lead.id for lead in kommo.leads.values() if lead.request_id == f"{bot.bot_id}:ig-100"] == [lead_id]
    assert (lead.pipeline_id, lead.status_id, lead.responsible_user_id) == (PIPELINE, NEW_STAGE, MANAGER)
    assert lead.name == "Ann Lee · Instagram"
    assert lead.tags == ["faqbot", "instagram"]
    [contact] = [kommo.contacts[cid] for cid in lead.contact_ids]
    assert contact.name == "Ann Lee"
    assert contact.values("PHONE") == ["+380671234567"] and contact.values("EMAIL") == ["Ann@Example.com"]
    assert kommo.contacts_with_phone("+380671234567") == [contact]
    # and the conversation so far as one common note, with the transcript link
    [note] = kommo.notes_on(lead_id)
    assert note.note_type == "common"
    lines = note.text.splitlines()
    assert lines[1].endswith("Customer: Do you have <b>gel</b> nails & pedicure?")
    assert lines[2].endswith("Bot: Yes, gel nails cost 600 UAH.")
    assert lines[3].endswith("Customer: My number is +380 67 123 45 67")
    assert lines[-2].startswith(f"Full transcript: {stack.api_url}/history/")
    assert re.fullmatch(r"faqbot #[0-9a-f]{12}", lines[-1])  # the chunk's reference, how a retry finds it
    assert_kommo_was_respected(kommo)


def test_a_second_lead_for_the_same_phone_reuses_the_contact_and_its_open_lead(
    stack: LocalStack, kommo: FakeKommo
) -> None:
    # given: the customer's lead from Instagram is already in Kommo
    bot = CrmBot.kommo(stack, kommo)
    phone = "+380501112233"
    bot.customer("ig-200", (Role.CUSTOMER, "Hi from Instagram"))
    send(stack, bot.lead_ready("ig-200", phone=phone))
    drain(stack)
    first_lead = bot.lead_id("ig-200")
    leads_before, contacts_before = len(kommo.leads), len(kommo.contacts)

    # when: the same person writes on WhatsApp (another contact of the bot) and leaves the same phone
    bot.customer("wa-200", (Role.CUSTOMER, "Hi from WhatsApp"))
    send(stack, bot.lead_ready("wa-200", phone=phone, channel=Channel.WHATSAPP))
    drain(stack)

    # then: no new lead or contact; the WhatsApp conversation is a note on the same lead
    assert first_lead is not None and bot.lead_id("wa-200") == first_lead
    assert (len(kommo.leads), len(kommo.contacts)) == (leads_before, contacts_before)
    assert len(kommo.contacts_with_phone(phone)) == 1
    assert [note.text.splitlines()[1].split("] ")[1] for note in kommo.notes_on(first_lead)] == [
        "Customer: Hi from Instagram",
        "Customer: Hi from WhatsApp",
    ]
    assert_kommo_was_respected(kommo)


def test_a_known_contact_whose_leads_are_closed_gets_a_new_lead_on_the_same_contact(
    stack: LocalStack, kommo: FakeKommo
) -> None:
    # given: a manager's own contact (phone typed by hand) with a won deal, and an open one in another pipeline
    bot = CrmBot.kommo(stack, kommo)
    existing = kommo.add_contact("Olha (regular)", phone="+38 (093) 555-44-33")
    kommo.add_lead("Spring order", contact=existing, pipeline_id=PIPELINE, status_id=142)
    kommo.add_lead("Wholesale", contact=existing, pipeline_id=OTHER_PIPELINE, status_id=70021)
    contacts_before = len(kommo.contacts)
    bot.customer("ig-300", (Role.CUSTOMER, "I'd like to book again"))

    # when
    send(stack, bot.lead_ready("ig-300", name="Olha", phone="+380935554433"))
    drain(stack)

    # then: a new lead in the bot's pipeline, linked to the existing contact (no duplicate contact)
    lead_id = bot.lead_id("ig-300")
    assert lead_id is not None
    lead = kommo.leads[lead_id]
    assert lead.contact_ids == [existing.id] and lead.pipeline_id == PIPELINE and lead.status_id == NEW_STAGE
    assert len(kommo.contacts) == contacts_before
    assert len(kommo.leads_of(existing.id)) == 3
    assert_kommo_was_respected(kommo)


def test_later_messages_are_appended_as_new_notes_never_repeated(stack: LocalStack, kommo: FakeKommo) -> None:
    # given: a lead with the first part of the conversation as its note
    bot = CrmBot.kommo(stack, kommo)
    lead_id = bot.with_lead("ig-400", (Role.CUSTOMER, "First question"), (Role.BOT, "First answer"))

    # when: the conversation grows, and the transcript event is delivered twice; then once more with nothing new
    bot.store.append_messages(
        bot.bot_id,
        "ig-400",
        [
            StoredMessage(at=datetime.now(UTC), role=Role.CUSTOMER, text="Second question"),
            StoredMessage(at=datetime.now(UTC) + timedelta(seconds=1), role=Role.BOT, text="Second answer"),
        ],
    )
    updated = bot.transcript_updated("ig-400")
    send(stack, updated, updated, bot.transcript_updated("ig-400"))
    drain(stack)

    # then: exactly two notes, each message in exactly one of them
    notes = [note.text for note in kommo.notes_on(lead_id)]
    assert len(notes) == 2
    assert "First question" in notes[0] and "Second question" not in notes[0]
    assert "Second question" in notes[1] and "Second answer" in notes[1] and "First" not in notes[1]
    assert_kommo_was_respected(kommo)


def test_a_note_kommo_wrote_before_answering_500_is_found_on_the_retry_not_written_twice(
    stack: LocalStack, kommo: FakeKommo
) -> None:
    # given: a lead with its first note, and a new message
    bot = CrmBot.kommo(stack, kommo)
    lead_id = bot.with_lead("ig-410", (Role.CUSTOMER, "First question"))
    bot.store.append_messages(
        bot.bot_id, "ig-410", [StoredMessage(at=datetime.now(UTC), role=Role.CUSTOMER, text="Second question")]
    )
    # and: Kommo will write the next note, then answer 500 (a server failing after its commit)
    kommo.fail_after_acting[f"POST /api/v4/leads/{lead_id}/notes"] = 1

    # when
    send(stack, bot.transcript_updated("ig-410"))
    drain(stack)

    # then: the retry read the lead's notes back, found the one Kommo kept, and posted nothing more
    assert kommo.fail_after_acting[f"POST /api/v4/leads/{lead_id}/notes"] == 0
    notes = [note.text for note in kommo.notes_on(lead_id)]
    assert len(notes) == 2 and "Second question" in notes[1] and "First question" not in notes[1]
    refs = [note.splitlines()[-1] for note in notes]
    assert all(ref.startswith("faqbot #") for ref in refs) and refs[0] != refs[1]
    assert kommo.calls("GET", f"/api/v4/leads/{lead_id}/notes") == 1
    assert_kommo_was_respected(kommo)


def test_an_escalation_creates_one_task_and_moves_the_lead_to_the_handoff_stage(
    stack: LocalStack, kommo: FakeKommo
) -> None:
    # given: a customer with a lead in the first stage
    bot = CrmBot.kommo(stack, kommo)
    lead_id = bot.with_lead("ig-500", (Role.CUSTOMER, "Can I pay by card?"))
    assert kommo.leads[lead_id].status_id == NEW_STAGE
    escalation = bot.escalation("ig-500", question="Can I pay <by> card & cash?")
    before = time.time()

    # when: the escalation is delivered twice
    send(stack, escalation, escalation)
    drain(stack)

    # then: one follow-up task for the responsible manager, due in 45 minutes, with both links
    [task] = kommo.tasks_on(lead_id)
    assert (task.task_type_id, task.responsible_user_id) == (1, MANAGER)
    assert before + 45 * 60 - 5 <= task.complete_till <= time.time() + 45 * 60 + 5
    lines = task.text.splitlines()
    assert lines[0] == "Manager needed: the customer asked for a person"
    assert lines[1] == "«Can I pay <by> card & cash?»"
    assert lines[2] == "Open chat: https://app.manychat.com/fb1/chat/ig-500"
    assert lines[3].startswith(f"Transcript: {stack.api_url}/history/")
    # and the lead is in the handoff stage of the bot's pipeline
    assert (kommo.leads[lead_id].pipeline_id, kommo.leads[lead_id].status_id) == (PIPELINE, HANDOFF_STAGE)
    assert_kommo_was_respected(kommo)


def test_an_escalation_before_any_lead_creates_the_lead_first(stack: LocalStack, kommo: FakeKommo) -> None:
    # given: a customer who asked for a person before leaving all the lead fields; the bot only moves stages
    bot = CrmBot.kommo(stack, kommo, create_task_on_handoff=False)
    bot.customer("ig-600", (Role.CUSTOMER, "Call me"))

    # when
    send(stack, bot.escalation("ig-600", phone="+380661230000", name=None, username="ann_ig"))
    drain(stack)

    # then: one lead (named after the username), straight in the handoff stage, no task
    lead_id = bot.lead_id("ig-600")
    assert lead_id is not None
    assert kommo.leads[lead_id].name == "@ann_ig · Instagram"
    assert kommo.leads[lead_id].status_id == HANDOFF_STAGE
    assert kommo.tasks_on(lead_id) == []
    assert len(kommo.notes_on(lead_id)) == 1
    assert_kommo_was_respected(kommo)


def test_with_30_percent_of_calls_failing_nothing_is_lost_or_duplicated(stack: LocalStack, kommo: FakeKommo) -> None:
    # given: 12 customers, each with a lead.ready; 6 of them also escalate; 4 records delivered twice;
    # 30% of Kommo calls fail (429 or 5xx) before Kommo acts on them
    bot = CrmBot.kommo(stack, kommo)
    drain_dead_letters(stack, DLQ)
    contacts = [f"load-{n}" for n in range(12)]
    phones = {contact: f"+38067000{n:04d}" for n, contact in enumerate(contacts)}
    for contact in contacts:
        bot.customer(contact, (Role.CUSTOMER, f"question from {contact}"), (Role.BOT, "an answer"))
    leads = [bot.lead_ready(c, name=f"Customer {c}", phone=phones[c]) for c in contacts]
    escalations = [bot.escalation(c, phone=phones[c], question=f"help {c}") for c in contacts[:6]]
    calls_before = len(kommo.requests)
    kommo.fail_randomly(0.3, seed=SEED)

    # when
    send(stack, *leads, *escalations, *leads[:2], *escalations[:2])
    drain(stack, timeout=180)
    failures = kommo.failure_plan.failures
    kommo.fail_randomly(0.0, seed=0)

    # then: every customer has exactly one lead and one contact, each escalation one task, each message one note
    lead_ids = {contact: bot.lead_id(contact) for contact in contacts}
    assert all(lead_ids.values())
    mine = [lead for lead in kommo.leads.values() if lead.request_id and lead.request_id.startswith(f"{bot.bot_id}:")]
    assert sorted(lead.id for lead in mine) == sorted(lead_id for lead_id in lead_ids.values() if lead_id)
    for contact in contacts:
        assert len(kommo.contacts_with_phone(phones[contact])) == 1, contact
        lead_id = lead_ids[contact]
        assert lead_id is not None
        assert len(kommo.tasks_on(lead_id)) == (1 if contact in contacts[:6] else 0), contact
        expected_stage = HANDOFF_STAGE if contact in contacts[:6] else NEW_STAGE
        assert kommo.leads[lead_id].status_id == expected_stage, contact
        noted = "\n".join(note.text for note in kommo.notes_on(lead_id))
        assert noted.count(f"question from {contact}") == 1 and noted.count("an answer") == 1, contact
    assert drain_dead_letters(stack, DLQ) == []
    calls = len(kommo.requests) - calls_before
    print(f"30% failure run: {len(leads) + len(escalations) + 4} records, {calls} Kommo calls, {failures} failed")
    assert failures >= 5
    assert_kommo_was_respected(kommo)


def test_a_lead_kommo_created_before_answering_500_is_found_on_the_retry_not_created_twice(
    stack: LocalStack, kommo: FakeKommo
) -> None:
    # given: Kommo will create the next lead and then answer 500 (as a server failing after its commit does)
    bot = CrmBot.kommo(stack, kommo)
    bot.customer("ig-650", (Role.CUSTOMER, "Book me in"))
    event = bot.lead_ready("ig-650")
    kommo.fail_after_acting["POST /api/v4/leads/complex"] = 1

    # when
    send(stack, event)
    drain(stack)

    # then: the retry found the new contact's open lead; one lead, one contact, one note
    assert kommo.fail_after_acting["POST /api/v4/leads/complex"] == 0
    [contact] = kommo.contacts_with_phone(bot.phone_of("ig-650"))
    [lead] = kommo.leads_of(contact.id)
    assert bot.lead_id("ig-650") == lead.id
    assert len(kommo.notes_on(lead.id)) == 1
    assert_kommo_was_respected(kommo)


def test_a_refused_token_ends_in_the_dead_letter_queue_with_kommos_reason_logged(
    stack: LocalStack, kommo: FakeKommo, caplog: pytest.LogCaptureFixture
) -> None:
    # given: a bot whose long-lived token was revoked
    bot = CrmBot.kommo(stack, kommo, token="revoked-token")
    drain_dead_letters(stack, DLQ)
    bot.customer("ig-700", (Role.CUSTOMER, "hello"))
    event = bot.lead_ready("ig-700")
    calls_before = len(kommo.requests)

    # when
    send(stack, event)
    [dead] = wait_until(lambda: drain_dead_letters(stack, DLQ), what="the record in the DLQ")

    # then: tried once (not maxReceiveCount times), parked with Kommo's own words and what to do
    drain(stack)
    assert json.loads(dead["Body"])["event_id"] == event.event_id
    reason = dead["MessageAttributes"]["faqbot_failure_reason"]["StringValue"]
    assert "Kommo 401 on /api/v4/contacts: Unauthorized; Account not found or token is invalid" in reason
    assert "generate a new one" in reason
    assert len(kommo.requests) - calls_before == 1
    assert bot.lead_id("ig-700") is None
    [logged] = [
        r
        for r in caplog.records
        if r.getMessage() == "permanent failure; record goes to the dead-letter queue" and bot.bot_id in r.reason
    ]
    assert logged.levelname == "ERROR" and logged.reason == reason


def test_a_validation_error_ends_in_the_dead_letter_queue_with_the_field_named(
    stack: LocalStack, kommo: FakeKommo
) -> None:
    # given: a bot configured with a stage that is not in its pipeline
    bot = CrmBot.kommo(stack, kommo, status_id=99999)
    drain_dead_letters(stack, DLQ)
    bot.customer("ig-800", (Role.CUSTOMER, "hello"))

    # when
    send(stack, bot.lead_ready("ig-800", phone="+380671118800"))
    [dead] = wait_until(lambda: drain_dead_letters(stack, DLQ), what="the record in the DLQ")

    # then
    reason = dead["MessageAttributes"]["faqbot_failure_reason"]["StringValue"]
    assert "Kommo 400 on /api/v4/leads/complex" in reason
    assert "status_id: The value you selected is not a valid choice." in reason
    assert kommo.contacts_with_phone("+380671118800") == []


# ---------------------------------------------------------------------------------------------------- webhook


def test_the_generic_webhook_posts_signed_events_once_each(stack: LocalStack, receiver: FakeCrmWebhook) -> None:
    # given: a bot with a generic CRM webhook; the receiver fails 30% of calls with 503
    bot = CrmBot.webhook(stack, receiver)
    bot.customer("mc-1", (Role.CUSTOMER, "Price of a haircut?"), (Role.BOT, "400 UAH"))
    lead = bot.lead_ready("mc-1", email="ann@example.com")
    escalation = bot.escalation("mc-1", question="Can I come at 9?", reason=EscalationReason.NO_ANSWER)
    receiver.fail_randomly(0.3, seed=SEED)

    # when: both events, each delivered twice
    send(stack, lead, lead)
    drain(stack)
    send(stack, escalation, escalation)
    drain(stack)

    # then: every event accepted once, with a valid signature (the receiver checks it)
    events = receiver.events_of(bot.bot_id)
    assert [e["type"] for e in events] == ["lead.ready", "transcript.updated", "escalation"]
    assert len({e["event_id"] for e in events}) == 3
    assert events[0]["event_id"] == lead.event_id and events[2]["event_id"] == escalation.event_id
    contact = events[0]["contact"]
    assert (contact["id"], contact["name"], contact["phone"], contact["email"]) == (
        "mc-1",
        "Ann Lee",
        bot.phone_of("mc-1"),
        "ann@example.com",
    )
    assert events[0]["links"]["chat"] == "https://app.manychat.com/fb1/chat/mc-1"
    assert events[0]["links"]["transcript"].startswith(f"{stack.api_url}/history/")
    assert [(m["role"], m["text"]) for m in events[1]["messages"]] == [
        ("customer", "Price of a haircut?"),
        ("bot", "400 UAH"),
    ]
    # the CRM's lead id came back and is stored on the contact, then sent with later events
    assert bot.store.get_contact(bot.bot_id, "mc-1").crm_lead_id == events[2]["contact"]["crm_lead_id"]  # type: ignore[union-attr]
    assert events[2]["contact"]["crm_lead_id"].startswith("crm-")
    assert events[2]["escalation"] == {"reason": "no_answer", "question": "Can I come at 9?"}


def test_a_receiver_that_rejects_the_signature_parks_the_event_in_the_dead_letter_queue(
    stack: LocalStack, receiver: FakeCrmWebhook
) -> None:
    # given: the bot signs with a secret the receiver does not know
    bot = CrmBot.webhook(stack, receiver, secret="not-the-receivers-secret")
    drain_dead_letters(stack, DLQ)
    rejected_before = len(receiver.rejected)

    # when
    send(stack, bot.lead_ready("mc-2"))
    [dead] = wait_until(lambda: drain_dead_letters(stack, DLQ), what="the record in the DLQ")

    # then
    reason = dead["MessageAttributes"]["faqbot_failure_reason"]["StringValue"]
    assert "refused the event (401)" in reason and "bad signature" in reason
    assert len(receiver.rejected) - rejected_before == 1
    assert receiver.events_of(bot.bot_id) == []
