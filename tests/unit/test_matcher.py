"""The matcher's decisions (answer / clarify / escalate / human / smalltalk) and the thresholds behind them."""

from __future__ import annotations

import pytest
from faqbot.config import Language, MatchThresholds
from faqbot.kb.matcher import Candidate, Decision, Matcher, Weights, decide
from faqbot.kb.models import KbEntry


def _entry(entry_id: str, question: str, answer: str, *alternatives: str) -> KbEntry:
    return KbEntry(id=entry_id, question=question, answer=answer, alternatives=alternatives)


SHOP = (
    _entry("1", "Сколько стоит доставка?", "Доставка по Украине Новой почтой стоит 70 грн.", "Цена доставки"),
    _entry("2", "Сколько времени идет доставка?", "Посылка идет 1-3 дня."),
    _entry("3", "Можно ли оплатить частями?", "Да, оплата частями через Монобанк до 4 платежей."),
    _entry("4", "Как вернуть товар?", "Вернуть товар можно в течение 14 дней, сохранив бирки."),
    _entry("5", "Какой у вас график работы?", "Мы работаем ежедневно с 9:00 до 20:00."),
)


@pytest.fixture(scope="module")
def shop() -> Matcher:
    return Matcher(SHOP)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Добрый день! Подскажите, а у вас можно оплатить частями?", "3"),
        ("можна оплатити частинами?", "3"),
        ("mozhno oplatit chastyami", "3"),
        ("скільки коштує доставка", "1"),
        ("як повернути товар", "4"),
        ("график работы какой", "5"),
    ],
)
def test_a_clear_question_in_any_language_or_spelling_is_answered(shop: Matcher, message: str, expected: str) -> None:
    # when
    result = shop.match(message)

    # then
    assert result.decision is Decision.ANSWER
    assert result.entry is not None and result.entry.id == expected


def test_a_message_between_two_entries_gets_them_as_choices(shop: Matcher) -> None:
    # when: cost or time of delivery?
    result = shop.match("доставка")

    # then
    assert result.decision is Decision.CLARIFY
    assert {entry.id for entry in result.choices} == {"1", "2"}
    assert result.entry is None


def test_a_message_the_kb_does_not_cover_is_escalated(shop: Matcher) -> None:
    # when
    result = shop.match("вы продаете велосипеды оптом?")

    # then
    assert result.decision is Decision.ESCALATE
    assert result.choices == ()


def test_a_request_for_a_person_wins_over_a_kb_match(shop: Matcher) -> None:
    # when
    result = shop.match("позовите менеджера, хочу узнать про доставку")

    # then
    assert result.decision is Decision.HUMAN
    assert result.choices == ()


@pytest.mark.parametrize(("message", "kind"), [("Привет!", "greeting"), ("дякую 🙏", "thanks"), ("до свидания", "bye")])
def test_bare_courtesy_is_small_talk(shop: Matcher, message: str, kind: str) -> None:
    # when
    result = shop.match(message)

    # then
    assert result.decision is Decision.SMALLTALK
    assert result.smalltalk == kind
    assert result.choices == ()


def test_the_customers_language_is_reported(shop: Matcher) -> None:
    # when / then
    assert shop.match("скільки коштує доставка").language is Language.UK
    assert shop.match("сколько стоит доставка").language is Language.RU


def test_ranking_is_best_first_with_scores_in_unit_range(shop: Matcher) -> None:
    # when
    ranked = shop.rank("сколько стоит доставка")

    # then
    assert ranked[0].entry.id == "1"
    scores = [candidate.score for candidate in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)


def test_the_answer_text_is_evidence_too() -> None:
    # given: only the answer says which entry is about Monobank
    matcher = Matcher([_entry("1", "Как оплатить?", "Картой или через Монобанк."), _entry("2", "Где вы?", "Киев.")])

    # when
    ranked = matcher.rank("монобанк")

    # then
    assert ranked and ranked[0].entry.id == "1"


def test_stricter_thresholds_turn_an_answer_into_a_clarification() -> None:
    # given
    message = "сколько стоит доставка"
    default = Matcher(SHOP)
    strict = Matcher(SHOP, MatchThresholds(answer_min_margin=1.0))

    # when / then
    assert default.match(message).decision is Decision.ANSWER
    assert strict.match(message).decision is Decision.CLARIFY


def test_a_choice_is_resolved_by_number_ordinal_or_wording(shop: Matcher) -> None:
    # when / then
    assert (shop.resolve_choice("2", ["1", "2"]) or SHOP[0]).id == "2"
    assert (shop.resolve_choice("перший", ["1", "2"]) or SHOP[1]).id == "1"
    assert (shop.resolve_choice("сколько идет по времени", ["1", "2"]) or SHOP[0]).id == "2"
    assert shop.resolve_choice("5", ["1", "2"]) is None


def test_near_duplicates_name_entries_the_matcher_cannot_tell_apart() -> None:
    # given
    entries = [*SHOP, _entry("6", "Сколько стоит доставка по Украине?", "70 грн.")]

    # when
    pairs = Matcher(entries).near_duplicates(min_similarity=0.9)

    # then
    assert [(first, second) for first, second, _ in pairs] == [("1", "6")]
    assert 0.9 <= pairs[0][2] <= 1.0


# --- `decide`, on hand-made rankings ------------------------------------------------------------

THRESHOLDS = MatchThresholds(
    answer_min_score=0.4,
    answer_min_margin=0.1,
    answer_contested_margin=0.1,
    answer_spelling_lead=0.1,
    answer_min_coverage=0.5,
    clarify_min_score=0.2,
    clarify_window=0.15,
    clarify_max_choices=3,
)


def _ranked(*scores: float, coverage: float = 1.0, spellings: tuple[float, ...] = ()) -> list[Candidate]:
    spellings = spellings or tuple(1.0 - 0.2 * i for i in range(len(scores)))  # the wording backs the order
    pairs = zip(scores, spellings, strict=True)
    return [Candidate(SHOP[i], score, coverage, spelling) for i, (score, spelling) in enumerate(pairs)]


def test_decide_answers_a_leader_above_score_margin_and_coverage() -> None:
    # when
    decision, choices = decide(_ranked(0.7, 0.5), THRESHOLDS)

    # then
    assert decision is Decision.ANSWER
    assert [entry.id for entry in choices] == ["1"]


def test_decide_clarifies_when_the_lead_is_too_small() -> None:
    # when
    decision, choices = decide(_ranked(0.7, 0.65, 0.6, 0.2), THRESHOLDS)

    # then: the candidates within the window, at most three
    assert decision is Decision.CLARIFY
    assert [entry.id for entry in choices] == ["1", "2", "3"]


def test_decide_clarifies_when_the_message_is_mostly_unexplained() -> None:
    # when
    decision, _ = decide(_ranked(0.7, 0.3, coverage=0.3), THRESHOLDS)

    # then
    assert decision is Decision.CLARIFY


def test_decide_needs_a_larger_lead_when_the_wording_favours_the_runner_up() -> None:
    # given: a lead of 0.15, enough alone (0.1) but not when contested (0.1 + 0.1)
    agreed = _ranked(0.7, 0.55, spellings=(0.8, 0.3))
    contested = _ranked(0.7, 0.55, spellings=(0.3, 0.8))

    # when / then
    assert decide(agreed, THRESHOLDS)[0] is Decision.ANSWER
    assert decide(contested, THRESHOLDS)[0] is Decision.CLARIFY


def test_decide_needs_the_larger_lead_too_when_the_wording_cannot_tell_the_two_apart() -> None:
    # given: the same lead of 0.15; the leader's wording only 0.05 closer (less than the 0.1 required)
    near_tie = _ranked(0.7, 0.55, spellings=(0.45, 0.4))
    outright = MatchThresholds(**{**THRESHOLDS.model_dump(), "answer_spelling_lead": 0.0})

    # when / then: a near tie is contested; with no lead required only an outright disagreement is
    assert decide(near_tie, THRESHOLDS)[0] is Decision.CLARIFY
    assert decide(near_tie, outright)[0] is Decision.ANSWER


def test_decide_leaves_the_wording_out_when_it_was_not_measured() -> None:
    # given: candidates with no character view (the semantic tier's combined scores), a lead of 0.15
    unmeasured = [Candidate(SHOP[0], 0.7), Candidate(SHOP[1], 0.55)]

    # when / then: the lead alone (0.1) does
    assert decide(unmeasured, THRESHOLDS)[0] is Decision.ANSWER


def test_decide_escalates_below_the_clarify_score_or_without_candidates() -> None:
    # when / then
    assert decide(_ranked(0.15, 0.1), THRESHOLDS) == (Decision.ESCALATE, ())
    assert decide([], THRESHOLDS) == (Decision.ESCALATE, ())


def test_decide_offers_two_choices_even_when_only_the_leader_is_in_the_window() -> None:
    # given: below the answer score, the runner-up far behind
    decision, choices = decide(_ranked(0.35, 0.1), THRESHOLDS)

    # then
    assert decision is Decision.CLARIFY
    assert [entry.id for entry in choices] == ["1", "2"]


def test_a_lone_candidate_below_the_answer_bar_is_escalated() -> None:
    # when / then
    assert decide(_ranked(0.35), THRESHOLDS) == (Decision.ESCALATE, ())


def test_a_typo_finds_its_word_but_a_different_word_of_similar_letters_does_not() -> None:
    # given
    matcher = Matcher(
        [
            _entry("1", "Сколько стоит имплант?", "Имплант стоит от 15 000 грн."),
            _entry("2", "Как узнать о поступлении?", "Нажмите «Повідомити про надходження»."),
        ]
    )

    # when
    typo = matcher.rank("имлпант")
    other_word = matcher.rank("подойдет")

    # then: "имлпант" is two edits from "имплант"; "подойти" is not a misspelt "повідомити"
    assert [candidate.entry.id for candidate in typo] == ["1"]
    assert other_word == []


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("хочу пересмотреть урок", "1"),  # "пере-смотреть" ~ "по-смотреть"
        ("можна поміряти сукню?", "2"),  # "по-міряти" ~ "при-міряти"
    ],
)
def test_the_same_root_under_another_verbal_prefix_is_evidence(message: str, expected: str) -> None:
    # given
    matcher = Matcher(
        [
            _entry("1", "Можно ли посмотреть запись урока?", "Да, запись приходит в чат."),
            _entry("2", "Чи можна приміряти речі в шоурумі?", "Так, у шоурумі на Подолі."),
            _entry("3", "Как записаться на пробный урок?", "Напишите удобное время."),
        ]
    )

    # when
    ranked = matcher.rank(message)
    without = Matcher(matcher.entries, weights=Weights(prefix_match=0.0)).rank(message)

    # then: the root match puts the entry first; without it the message finds it less or not at all
    assert ranked[0].entry.id == expected
    assert not without or without[0].entry.id != expected or without[0].score < ranked[0].score


def test_a_shared_prefix_alone_is_not_a_shared_root() -> None:
    # given: "перевязать" and "переплутали" share only the prefix
    matcher = Matcher([_entry("1", "Що робити, якщо переплутали товар?", "Напишіть нам, обміняємо.")])

    # then
    assert matcher.rank("перевязать") == []


def test_a_russian_message_finds_the_ukrainian_entry_through_a_translation_not_a_cognate() -> None:
    # given: a Ukrainian KB; "прививки" shares no letters with "щеплення"
    matcher = Matcher(
        [
            _entry("1", "Чи потрібні щеплення?", "Так, щеплення від сказу обов'язкове."),
            _entry("2", "Скільки коштує стрижка?", "Від 600 грн."),
            _entry("3", "Де ви знаходитесь?", "Київ, вул. Січових Стрільців, 10."),
        ]
    )

    # when
    ranked = matcher.rank("а прививки нужны?")
    without = Matcher(matcher.entries, weights=Weights(translation_match=0.0)).rank("а прививки нужны?")

    # then
    assert ranked[0].entry.id == "1"
    assert not without or without[0].score < ranked[0].score
