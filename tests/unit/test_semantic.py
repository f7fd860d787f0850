"""The semantic tier (issue 7) against a fake bedrock-runtime that speaks the real InvokeModel / Converse shapes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from faqbot.config import BotConfig, MatchThresholds, SemanticSettings
from faqbot.kb.matcher import Decision, Matcher
from faqbot.kb.models import KbEntry
from faqbot.semantic.bedrock import BedrockClient, BedrockUnavailable, FailureReason
from faqbot.semantic.budget import UnlimitedBudget
from faqbot.semantic.ingest import SemanticIngest
from faqbot.semantic.judge import judge_prompt, parse_verdict
from faqbot.semantic.metrics import RecordingMetrics
from faqbot.semantic.scorer import combine, cosine, rescaled
from faqbot.semantic.tier import SemanticMatcher, SemanticTier
from faqbot.semantic.vectors import InMemoryVectorStore, entry_text, pack, text_hash, unpack
from pydantic import ValidationError
from support.fake_bedrock import FakeBedrockRuntime

ENTRIES = [
    KbEntry(
        id="implant",
        question="Гарантия на имплант",
        alternatives=("Какая гарантия на импланты?",),
        answer="На импланты даём гарантию 10 лет.",
    ),
    KbEntry(id="cleaning", question="Сколько стоит чистка зубов?", answer="Профессиональная чистка — 1500 грн."),
    KbEntry(id="booking", question="Как записаться на приём?", answer="Запишитесь по телефону или в Instagram."),
    KbEntry(id="filling", question="Гарантия на пломбу", answer="На пломбы гарантия 1 год."),
    KbEntry(id="hours", question="Часы работы клиники", answer="Мы работаем ежедневно с 9 до 20."),
]
MEANINGS = {
    "прижив": "implant",
    "имплант": "implant",
    "гарант": "warranty",
    "пломб": "filling",
    "записат": "booking",
    "приём": "booking",
    "работ": "hours",
    "откры": "hours",
    "чистк": "cleaning",
}
PARAPHRASE = "а если он не приживётся?"  # shares no word with "Гарантия на имплант"
CONFIDENT = "Какая гарантия на имплант?"
CLOSE = "что по гарантии?"  # the matcher offers implant / filling
JUDGE_ALWAYS = {"thresholds": MatchThresholds(answer_min_score=0.99, clarify_min_score=0.2), "judge_window": 1.0}


class Setup:
    def __init__(self, fake: FakeBedrockRuntime, settings: SemanticSettings, *, budget: object | None = None) -> None:
        self.fake = fake
        self.metrics = RecordingMetrics()
        self.vectors = InMemoryVectorStore()
        client = BedrockClient(fake)
        self.bot = BotConfig(bot_id="dental", semantic=settings)
        self.ingest = SemanticIngest(bedrock=lambda: client, vectors=self.vectors, metrics=self.metrics)
        self.tier = SemanticTier(
            bedrock=lambda: client,
            vectors=self.vectors,
            budget=budget or UnlimitedBudget(),  # type: ignore[arg-type]
            metrics=self.metrics,
        )
        self.lexical = Matcher(ENTRIES)

    def matcher(self, *, embed_kb: bool = True) -> SemanticMatcher:
        if embed_kb:
            self.ingest.prepare(self.bot, ENTRIES)
        self.fake.calls.clear()
        self.metrics.points.clear()
        matcher = self.tier.wrap(self.bot, self.lexical, ENTRIES)
        assert isinstance(matcher, SemanticMatcher)
        return matcher


def setup(judge: str | Callable[[str, str], str] = '{"choice": "none"}', **settings: object) -> Setup:
    fake = FakeBedrockRuntime(meanings=MEANINGS, judge=judge)
    return Setup(fake, SemanticSettings(enabled=True, **settings))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ Bedrock wire shapes


def test_titan_embedding_request_and_response_shapes() -> None:
    # given
    fake = FakeBedrockRuntime(meanings=MEANINGS)

    # when
    embedding = BedrockClient(fake).embed(
        "Гарантия на имплант",
        model_id="amazon.titan-embed-text-v2:0",
        dimensions=256,
        purpose="query",
        timeout_seconds=1,
    )

    # then
    name, request = fake.calls[0]
    assert name == "invoke_model"
    assert request["modelId"] == "amazon.titan-embed-text-v2:0"
    assert json.loads(request["body"]) == {"inputText": "Гарантия на имплант", "dimensions": 256, "normalize": True}
    assert len(embedding.vector) == 256
    assert abs(sum(v * v for v in embedding.vector) - 1) < 1e-9
    assert embedding.input_tokens == FakeBedrockRuntime.tokens("Гарантия на имплант")


def test_cohere_embedding_uses_its_own_body_and_is_normalised() -> None:
    # given
    fake = FakeBedrockRuntime(meanings=MEANINGS)

    # when
    embedding = BedrockClient(fake).embed(
        "Гарантия", model_id="cohere.embed-multilingual-v3", dimensions=1024, purpose="document", timeout_seconds=1
    )

    # then
    body = json.loads(fake.calls[0][1]["body"])
    assert body == {"texts": ["Гарантия"], "input_type": "search_document", "truncate": "END"}
    assert abs(sum(v * v for v in embedding.vector) - 1) < 1e-9
    assert embedding.input_tokens == 7  # Cohere has no count in the body: the response header's


def test_converse_request_and_response_shapes() -> None:
    # given
    fake = FakeBedrockRuntime(judge='{"choice": "x"}')

    # when
    reply = BedrockClient(fake).converse(
        model_id="amazon.nova-micro-v1:0", system="rules", user_text="question", max_tokens=24, timeout_seconds=1
    )

    # then
    name, request = fake.calls[0]
    assert name == "converse"
    assert request["system"] == [{"text": "rules"}]
    assert request["messages"] == [{"role": "user", "content": [{"text": "question"}]}]
    assert request["inferenceConfig"] == {"maxTokens": 24, "temperature": 0.0}
    assert reply.text == '{"choice": "x"}'
    assert reply.input_tokens > 0 and reply.output_tokens > 0


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("throttle", FailureReason.THROTTLED),
        ("timeout", FailureReason.TIMEOUT),
        ("denied", FailureReason.DENIED),
    ],
)
def test_bedrock_failures_become_one_exception_with_a_reason(fault: str, reason: FailureReason) -> None:
    # given
    fake = FakeBedrockRuntime()
    fake.fail["embed"] = fault

    # when
    with pytest.raises(BedrockUnavailable) as raised:
        BedrockClient(fake).embed(
            "x", model_id="amazon.titan-embed-text-v2:0", dimensions=256, purpose="query", timeout_seconds=1
        )

    # then
    assert raised.value.reason is reason


def test_a_hung_call_is_abandoned_at_its_timeout() -> None:
    # given: a model that takes 2 s
    fake = FakeBedrockRuntime(slow_seconds=2.0)
    fake.fail["judge"] = "slow"
    started = time.perf_counter()

    # when
    with pytest.raises(BedrockUnavailable) as raised:
        BedrockClient(fake).converse(model_id="m", system="s", user_text="u", max_tokens=5, timeout_seconds=0.2)

    # then
    assert raised.value.reason is FailureReason.TIMEOUT
    assert time.perf_counter() - started < 1.0


# ------------------------------------------------------------------------------------------ vectors, scores, judge


def test_vectors_survive_packing_as_float32() -> None:
    vector = (0.125, -0.5, 0.3333333)
    assert unpack(pack(vector)) == pytest.approx(vector, abs=1e-7)


def test_the_hash_changes_with_the_text_the_model_and_the_size() -> None:
    # given
    settings = SemanticSettings(enabled=True)
    text = entry_text(ENTRIES[0], settings.answer_prefix_chars)

    # then
    assert text == "Гарантия на имплант\nКакая гарантия на импланты?\nНа импланты даём гарантию 10 лет."
    assert text_hash(text, settings) == text_hash(text, settings.model_copy())
    assert text_hash(text, settings) != text_hash(text + "!", settings)
    assert text_hash(text, settings) != text_hash(text, settings.model_copy(update={"embedding_dimensions": 256}))


def test_similarity_is_rescaled_and_combined_with_the_lexical_score() -> None:
    # given
    settings = SemanticSettings(enabled=True, similarity_floor=0.2, similarity_ceiling=0.7)

    # when
    ranked = combine(ENTRIES[:2], [], {"implant": 0.7, "cleaning": 0.1}, settings)

    # then
    assert rescaled(0.45, settings) == pytest.approx(0.5)
    assert [(c.entry.id, c.score, c.coverage) for c in ranked] == [("implant", 0.5, 1.0), ("cleaning", 0.0, 0.0)]
    assert cosine((1.0, 0.0), (0.0, 1.0)) == 0.0


@pytest.mark.parametrize(
    ("reply", "choice", "valid"),
    [
        ('{"choice": "implant"}', "implant", True),
        (' {"choice": "human"}\n', "human", True),
        ('{"choice": "none"}', "none", True),
        ('{"choice": "booking"}', "none", False),  # a real KB id, but not one of the offered candidates
        ('{"choice": "implant", "reply": "Гарантия 10 лет"}', "none", False),
        ('```json\n{"choice": "implant"}\n```', "none", False),
        ("implant", "none", False),
        ('{"choice": 1}', "none", False),
        ("", "none", False),
    ],
)
def test_the_judge_reply_must_follow_the_schema_exactly(reply: str, choice: str, valid: bool) -> None:
    # when
    verdict = parse_verdict(reply, [ENTRIES[0], ENTRIES[3]])

    # then
    assert (verdict.choice, verdict.valid) == (choice, valid)


def test_the_judge_sees_questions_and_ids_never_answers() -> None:
    # when
    prompt = judge_prompt("что по гарантии?", [ENTRIES[0], ENTRIES[3]])

    # then
    assert '- id "implant": Гарантия на имплант (also asked as: Какая гарантия на импланты?)' in prompt
    assert 'Allowed values: "implant", "filling", "none", "human".' in prompt
    assert "10 лет" not in prompt


def test_settings_refuse_sizes_titan_does_not_have() -> None:
    with pytest.raises(ValidationError):
        SemanticSettings(embedding_dimensions=300)
    assert BotConfig(bot_id="x").semantic.enabled is False


# ------------------------------------------------------------------------------------------ the tier's decisions


def test_a_confident_lexical_answer_makes_no_bedrock_call() -> None:
    # given
    s = setup()
    matcher = s.matcher()

    # when
    result = matcher.match(CONFIDENT)

    # then
    assert (result.decision, result.entry) == (Decision.ANSWER, ENTRIES[0])
    assert s.fake.calls == []


def test_a_paraphrase_the_matcher_escalates_is_answered_from_the_kb() -> None:
    # given
    s = setup()
    matcher = s.matcher()
    assert s.lexical.match(PARAPHRASE).decision is Decision.ESCALATE

    # when
    result = matcher.match(PARAPHRASE)

    # then
    assert result.decision is Decision.ANSWER
    assert result.entry == ENTRIES[0]
    assert s.fake.embedded_texts() == [PARAPHRASE]
    assert s.metrics.total("SemanticCalls", kind="embed") == 1
    assert s.metrics.total("SemanticEstimatedCost", kind="embed") == pytest.approx(
        FakeBedrockRuntime.tokens(PARAPHRASE) / 1000 * 0.00002
    )
    assert s.metrics.total("SemanticUpgraded", outcome="answer") == 1


def test_close_candidates_go_to_the_judge_and_its_pick_is_answered() -> None:
    # given
    prompts: list[str] = []

    def judge(system: str, user: str) -> str:
        prompts.append(user)
        return '{"choice": "filling"}'

    s = setup(judge=judge)
    matcher = s.matcher()
    assert s.lexical.match(CLOSE).decision is Decision.CLARIFY

    # when
    result = matcher.match(CLOSE)

    # then
    assert (result.decision, result.entry) == (Decision.ANSWER, ENTRIES[3])
    assert result.candidates[0].entry == ENTRIES[3]
    assert s.fake.count("invoke_model") == 1 and s.fake.count("converse") == 1
    assert '"implant"' in prompts[0] and '"filling"' in prompts[0]
    assert s.metrics.total("SemanticCalls", kind="judge") == 1
    assert s.metrics.total("SemanticEstimatedCost", kind="judge") > 0


def test_the_judge_saying_human_hands_off() -> None:
    # given
    s = setup(judge='{"choice": "human"}')
    matcher = s.matcher()

    # when
    result = matcher.match(CLOSE)

    # then
    assert result.decision is Decision.ESCALATE
    assert result.choices == ()


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ('{"choice": "booking"}', "judge_invalid"),  # outside the offered candidates
        ('{"choice": "hours", "answer": "Мы работаем с 9"}', "judge_invalid"),
        ("Конечно! Гарантия на имплант 10 лет.", "judge_invalid"),  # malformed: prose instead of JSON
        ('{"choice": "none"}', "judge_none"),
    ],
)
def test_a_judge_answer_outside_the_schema_keeps_the_matchers_decision(reply: str, reason: str) -> None:
    # given
    s = setup(judge=reply)
    matcher = s.matcher()
    lexical = s.lexical.match(CLOSE)

    # when
    result = matcher.match(CLOSE)

    # then
    assert result == lexical
    assert s.fake.count("converse") == 1
    assert s.metrics.total("SemanticFallback", reason=reason) == 1


@pytest.mark.parametrize(
    ("operation", "fault", "reason"),
    [
        ("embed", "throttle", "throttled"),
        ("embed", "timeout", "timeout"),
        ("embed", "denied", "denied"),
        ("judge", "throttle", "throttled"),
        ("judge", "timeout", "timeout"),
    ],
)
def test_throttling_timeouts_and_errors_fall_back_to_the_lexical_decision(
    operation: str, fault: str, reason: str
) -> None:
    # given
    s = setup(judge='{"choice": "filling"}')
    matcher = s.matcher()
    s.fake.fail[operation] = fault
    lexical = s.lexical.match(CLOSE)

    # when
    result = matcher.match(CLOSE)

    # then
    assert result == lexical
    assert s.metrics.total("SemanticFallback", reason=reason) == 1


def test_a_slow_judge_is_cut_off_and_the_lexical_decision_is_sent_in_time() -> None:
    # given: each call may take 0.3 s; the judge hangs for 2 s
    s = setup(judge='{"choice": "filling"}', timeout_seconds=0.3, total_timeout_seconds=1.0)
    matcher = s.matcher()
    s.fake.slow_seconds = 2.0
    s.fake.fail["judge"] = "slow"
    started = time.perf_counter()

    # when
    result = matcher.match(CLOSE)

    # then
    assert result == s.lexical.match(CLOSE)
    assert time.perf_counter() - started < 1.0
    assert s.metrics.total("SemanticFallback", reason="timeout") == 1


def test_no_judge_when_it_is_switched_off_the_close_choices_are_offered() -> None:
    # given
    s = setup(judge_enabled=False, **JUDGE_ALWAYS)
    matcher = s.matcher()

    # when
    result = matcher.match(CLOSE)

    # then
    assert result.decision is Decision.CLARIFY
    assert {entry.id for entry in result.choices} == {"implant", "filling"}
    assert s.fake.count("converse") == 0


def test_an_exhausted_budget_means_no_call_and_the_lexical_decision() -> None:
    # given
    class Spent:
        def try_spend(self, bot_id: str, limit: int, calls: int = 1) -> bool:
            return False

    fake = FakeBedrockRuntime(meanings=MEANINGS)
    s = Setup(fake, SemanticSettings(enabled=True), budget=Spent())
    matcher = s.matcher()

    # when
    result = matcher.match(PARAPHRASE)

    # then
    assert result == s.lexical.match(PARAPHRASE)
    assert fake.calls == []
    assert s.metrics.total("SemanticFallback", reason="budget") == 1


def test_without_stored_vectors_there_is_no_call_until_they_appear() -> None:
    # given: the KB was never embedded
    s = setup()
    clock = [100.0]
    s.tier.clock = lambda: clock[0]
    matcher = s.matcher(embed_kb=False)

    # when
    first = matcher.match(PARAPHRASE)

    # then
    assert first.decision is Decision.ESCALATE
    assert s.fake.calls == []
    assert s.metrics.total("SemanticFallback", reason="no_vectors") == 1

    # when: the vectors are stored and the retry interval has passed
    s.ingest.prepare(s.bot, ENTRIES)
    s.fake.calls.clear()
    clock[0] += s.tier.retry_seconds + 1
    second = matcher.match(PARAPHRASE)

    # then
    assert (second.decision, second.entry) == (Decision.ANSWER, ENTRIES[0])


def test_the_tier_switched_off_returns_the_plain_matcher() -> None:
    # given
    fake = FakeBedrockRuntime(meanings=MEANINGS)
    s = Setup(fake, SemanticSettings(enabled=False))

    # when
    matcher = s.tier.wrap(s.bot, s.lexical, ENTRIES)
    matcher.match(PARAPHRASE)
    summary = s.ingest.prepare(s.bot, ENTRIES)

    # then
    assert matcher is s.lexical
    assert summary is None
    assert fake.calls == []


def test_choices_the_matcher_resolves_stay_lexical() -> None:
    # given
    s = setup()
    matcher = s.matcher()

    # when
    picked = matcher.resolve_choice("2", ["implant", "filling"])

    # then
    assert picked == ENTRIES[3]
    assert s.fake.calls == []


def test_ingest_stops_embedding_when_its_time_is_spent() -> None:
    # given: no time left for Bedrock in this upload
    s = setup()
    s.ingest.deadline_seconds = 0.0

    # when
    summary = s.ingest.prepare(s.bot, ENTRIES)

    # then: nothing stored, no call made, and the reason is reported (the KB still goes live)
    assert summary is not None and summary.embedded == 0
    assert summary.error is not None and "ingest spent" in summary.error
    assert s.fake.calls == []
    assert s.vectors.hashes("dental") == set()
