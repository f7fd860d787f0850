"""The matcher on businesses the benchmark does not have: a Russian pet groomer and a Ukrainian car service.

The files in tests/data/unseen/ were written before the vocabulary audit and are never tuned against:
they stand in for "a client we have not seen", so the bars are modest and fixed in advance.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faqbot.kb.evaluation import evaluate, load_queries
from faqbot.kb.spreadsheet import load_kb_file

pytestmark = pytest.mark.integration

UNSEEN = Path(__file__).parents[1] / "data" / "unseen"


@pytest.mark.parametrize("name", ["pet_groomer_ru", "car_service_uk"])
def test_matcher_holds_up_on_a_business_it_was_never_tuned_on(name: str) -> None:
    # given: a client's sheet and its customers' messages (greetings, typos, translit, off-topic, @human)
    entries = load_kb_file(UNSEEN / f"{name}.csv")
    queries = load_queries(UNSEEN / f"{name}.queries.csv")

    # when: matched with the shipped default thresholds
    figures, _ = evaluate(entries, queries)

    # then: rarely wrong, never keeps a customer from a person, and resolves most in-scope questions
    assert figures.wrong_rate <= 0.1, figures.as_dict()
    assert figures.human_recall == 1.0, figures.as_dict()
    assert figures.resolved >= 0.6, figures.as_dict()
