"""How good a mining run is, judged against a labelled corpus (`tests/data/transcripts/ground_truth.json`).

The acceptance of FAQ mining (issue 8) reads: the draft's top 10 groups are the 10 most frequent
questions, each group holds phrasings of one question only, and every count is right within ±1.
`corpus_quality` measures exactly that, plus the overall purity, so the test that guards it and
`faqbot bench --section mining` report the same figures.

The ground truth lists, per call, the questions the customer asks, each with a "quote": words that
all occur in the customer's phrasing. A mined phrasing takes the label of the first question of its
call whose quote words it contains ("?" when none does: a phrasing the labels do not know). The label
"misc" marks the questions that are no FAQ (one-offs, the agent's questions where speakers are
unknown): they are not one question, so they never count among the most asked ones.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from faqbot.kb.normalize import clean
from faqbot.mining.grouping import QuestionGroup
from faqbot.mining.questions import Question

UNLABELLED = "?"
MISC = "misc"  # questions that are no FAQ
TOP = 10
TOLERANCE = 1  # calls a group's count may be off by

Truth = Mapping[str, Sequence[Mapping[str, str]]]  # call → [{"question": label, "quote": words}]


def load_ground_truth(path: Path) -> Truth:
    """The `calls` part of a ground-truth file."""
    calls: Truth = json.loads(path.read_text(encoding="utf-8"))["calls"]
    return calls


def label_of(question: Question, truth: Truth) -> str:
    """The labelled question this phrasing is, or "?"."""
    said = clean(f"{question.quote} {question.text}")
    for asked in truth.get(question.call, ()):
        if all(word in said for word in clean(asked["quote"]).split()):
            return asked["question"]
    return UNLABELLED


def calls_per_question(truth: Truth) -> Counter[str]:
    """In how many calls each labelled question is asked (repeats within a call count once)."""
    return Counter(label for asked in truth.values() for label in {a["question"] for a in asked} - {MISC})


@dataclass(frozen=True)
class GroupCheck:
    """One of the draft's top groups: the question most of its phrasings are, and how it was counted."""

    question: str  # the group's typical phrasing
    label: str  # the label most of its members carry
    calls: int  # as the draft counts them
    expected: int  # calls that really ask `label`
    foreign: int  # members that are another question

    @property
    def error(self) -> int:
        return self.calls - self.expected


@dataclass(frozen=True)
class CorpusQuality:
    groups: int
    questions: int
    purity: float  # share of all phrasings that sit in a group of their own question
    top: tuple[GroupCheck, ...]  # the draft's first TOP groups
    most_asked: tuple[str, ...]  # the TOP questions asked in the most calls

    @property
    def missing(self) -> tuple[str, ...]:
        """Most-asked questions without a group among the top ones."""
        found = {check.label for check in self.top}
        return tuple(label for label in self.most_asked if label not in found)

    @property
    def split(self) -> tuple[str, ...]:
        """Questions that take more than one of the top places."""
        counts = Counter(check.label for check in self.top)
        return tuple(label for label, count in counts.items() if count > 1)

    @property
    def impure(self) -> tuple[GroupCheck, ...]:
        return tuple(check for check in self.top if check.foreign)

    @property
    def miscounted(self) -> tuple[GroupCheck, ...]:
        return tuple(check for check in self.top if abs(check.error) > TOLERANCE)

    @property
    def meets_acceptance(self) -> bool:
        return not (self.missing or self.split or self.impure or self.miscounted)

    def summary(self) -> str:
        hits = len(self.most_asked) - len(self.missing)
        errors = ", ".join(f"{check.label} {check.error:+d}" for check in self.top)
        return (
            f"{self.groups} groups, purity {self.purity:.1%}; top {len(self.top)}: {hits}/{len(self.most_asked)}"
            f" most asked questions, {len(self.impure)} mixed, split: {', '.join(self.split) or 'none'};"
            f" counts off by: {errors}; acceptance {'met' if self.meets_acceptance else 'NOT met'}"
        )


def corpus_quality(groups: Sequence[QuestionGroup], truth: Truth, top: int = TOP) -> CorpusQuality:
    """The acceptance figures of ranked `groups` mined from the labelled corpus."""
    asked_in = calls_per_question(truth)
    majority = 0
    members = 0
    checks: list[GroupCheck] = []
    for rank, group in enumerate(groups):
        labels = Counter(label_of(member, truth) for member in group.members)
        label, count = labels.most_common(1)[0]
        majority += count
        members += len(group.members)
        if rank < top:
            checks.append(GroupCheck(group.question, label, group.calls, asked_in[label], len(group.members) - count))
    return CorpusQuality(
        groups=len(groups),
        questions=members,
        purity=majority / members if members else 0.0,
        top=tuple(checks),
        most_asked=tuple(label for label, _ in asked_in.most_common(top)),
    )
