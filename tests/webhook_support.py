"""Test helpers for the conversation webhook: ManyChat's Dynamic Block rules, small fakes, request builders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from faqbot.config import Channel, Language
from faqbot.events import Escalation, LeadReady, TranscriptUpdated
from faqbot.kb.matcher import Candidate, Decision, MatchResult
from faqbot.kb.models import KbEntry
from support.tables import create_pk_sk_table

# ManyChat Dynamic Block v2 (manychat.github.io/dynamic_block_docs): limits for the whole response, and
# per channel: `content.type` and which message features exist. Text lengths: Instagram 1000, Messenger 2000.
DYNAMIC_BLOCK_TYPES = {
    Channel.INSTAGRAM: "instagram",
    Channel.WHATSAPP: "whatsapp",
    Channel.TELEGRAM: "telegram",
    Channel.MESSENGER: None,
}
TEXT_LIMITS = {Channel.INSTAGRAM: 1000, Channel.MESSENGER: 2000, Channel.WHATSAPP: 4096, Channel.TELEGRAM: 4096}
ACTION_KEYS = {
    "add_tag": {"action", "tag_name"},
    "remove_tag": {"action", "tag_name"},
    "set_field_value": {"action", "field_name", "value"},
    "unset_field_value": {"action", "field_name"},
}


def assert_valid_dynamic_block(block: Any, channel: Channel) -> None:
    """Fails with the first rule of ManyChat's Dynamic Block v2 that `block` breaks for `channel`."""
    assert isinstance(block, dict) and set(block) == {"version", "content"}, block
    assert block["version"] == "v2"
    content = block["content"]
    expected_type = DYNAMIC_BLOCK_TYPES[channel]
    if expected_type is None:
        assert "type" not in content, "Messenger blocks omit content.type"
    else:
        assert content.get("type") == expected_type
    messages = content["messages"]
    assert isinstance(messages, list) and len(messages) <= 10
    for message in messages:
        assert message["type"] == "text" and isinstance(message["text"], str) and message["text"].strip()
        assert len(message["text"]) <= TEXT_LIMITS[channel], len(message["text"])
    actions = content.get("actions", [])
    assert len(actions) <= 5
    for action in actions:
        assert set(action) == ACTION_KEYS[action["action"]], action
    quick_replies = content.get("quick_replies", [])
    assert len(quick_replies) <= 11
    if channel in (Channel.WHATSAPP, Channel.TELEGRAM):
        assert quick_replies == [], "no quick replies on WhatsApp / Telegram"
    for reply in quick_replies:
        assert reply["type"] in ("node", "flow") and reply["caption"] and reply["target"]
    json.dumps(block)  # serialisable as is


def status_of(block: dict[str, Any]) -> str | None:
    """The `faqbot_status` value a Dynamic Block sets."""
    for action in block["content"].get("actions", []):
        if action["action"] == "set_field_value" and action["field_name"] == "faqbot_status":
            return str(action["value"])
    return None


def texts_of(block: dict[str, Any]) -> list[str]:
    return [message["text"] for message in block["content"]["messages"]]


def entry(entry_id: str, question: str | None = None, answer: str | None = None) -> KbEntry:
    return KbEntry(id=entry_id, question=question or f"question {entry_id}?", answer=answer or f"answer {entry_id}.")


class FakeMatcher:
    """A matcher whose results the test scripts: text → (decision, entries, smalltalk kind)."""

    def __init__(self, script: dict[str, tuple[Decision, Sequence[KbEntry], str | None]] | None = None) -> None:
        self.script = dict(script or {})
        self.language = Language.UK
        self.calls: list[str] = []

    def match(self, text: str) -> MatchResult:
        self.calls.append(text)
        decision, entries, smalltalk = self.script.get(text, (Decision.ESCALATE, (), None))
        candidates = tuple(Candidate(e, round(0.9 - 0.05 * i, 4)) for i, e in enumerate(entries))
        choices = tuple(entries) if decision in (Decision.ANSWER, Decision.CLARIFY) else ()
        return MatchResult(decision, candidates, choices, self.language, smalltalk)

    def resolve_choice(self, text: str, offered: Sequence[str]) -> KbEntry | None:
        for entries in (e for _, e, _ in self.script.values()):
            for candidate in entries:
                if candidate.id in offered and text.strip().lower() == candidate.question.lower():
                    return candidate
        return None


class FakeKb:
    """A KB source with one live version (or none)."""

    def __init__(self, entries: Sequence[KbEntry] | None, version: int = 1) -> None:
        self.entries = list(entries) if entries is not None else None
        self.version = version
        self.fail = False
        self.active_calls = 0

    def active(self, bot_id: str) -> Any:
        self.active_calls += 1
        if self.fail:
            raise ConnectionError("DynamoDB unreachable")
        if self.entries is None:
            return None
        return type("Active", (), {"version": self.version, "entry_count": len(self.entries)})()

    def load_entries(self, bot_id: str, version: int) -> list[KbEntry]:
        if self.fail:
            raise ConnectionError("DynamoDB unreachable")
        return list(self.entries or [])


class FakePublisher:
    """Records what would go to the queues; `fail` makes every send raise (SQS down)."""

    def __init__(self) -> None:
        self.escalations: list[Escalation] = []
        self.crm: list[tuple[Escalation | LeadReady | TranscriptUpdated, int]] = []
        self.fail = False

    def escalate(self, event: Escalation) -> None:
        if self.fail:
            raise ConnectionError("SQS unreachable")
        self.escalations.append(event)

    def to_crm(self, event: Escalation | LeadReady | TranscriptUpdated, *, delay_seconds: int = 0) -> None:
        if self.fail:
            raise ConnectionError("SQS unreachable")
        self.crm.append((event, delay_seconds))


def create_conversations_table(dynamodb: Any, name: str = "ConversationsTable") -> Any:
    """The conversations table as the template declares it (pk/sk, TTL `expires_at`)."""
    table = create_pk_sk_table(dynamodb, name)
    dynamodb.meta.client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    return table


def manychat_contact(text: str = "Скільки коштує доставка?", **fields: Any) -> dict[str, Any]:
    """A ManyChat Full Contact Data object (Instagram by default), as the External Request sends it."""
    contact: dict[str, Any] = {
        "key": "user:1515862162",
        "id": "1515862162",
        "page_id": "210878508779055",
        "status": "active",
        "first_name": "Олена",
        "last_name": "Коваль",
        "name": "Олена Коваль",
        "live_chat_url": "https://app.manychat.com/fb1001816/chat/1515862162",
        "last_input_text": text,
        "phone": None,
        "email": None,
        "ig_username": "olena_k",
        "ig_id": "17841400123456789",
        "whatsapp_phone": None,
        "custom_fields": {"faqbot_status": None},
    }
    contact.update(fields)
    return contact
