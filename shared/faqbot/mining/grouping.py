"""Questions grouped by meaning, with the matcher's own similarity, and ranked by how many calls ask them.

Every distinct phrasing becomes a one-phrasing KB entry and the `Matcher` scores each phrasing
against the others exactly as it would score a customer's message against a knowledge base (same
normalisation, cross-language concepts, lemmas, typo tolerance). The similarity of two phrasings is
the mean of the two directions, each relative to the phrasing's score against itself. Groups are then
formed in two steps: average-linkage agglomeration of near rewordings (two groups merge while the
average similarity between their phrasings stays high, which keeps a group to one question instead of
chaining "до скольки работаете в субботу" → "записаться на субботу" → "записаться на стрижку"); then
rounds in which every group is a KB entry with all its phrasings as alternatives, and two groups merge
when their phrasings, matched against that KB, find each other (the matcher judges a phrasing against
a many-phrasing entry far better than against a single other phrasing).
Purity is preferred to recall: a question split in two rows costs the client a copy-paste, two
questions in one row cost a wrong answer.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from faqbot.kb.matcher import Matcher
from faqbot.kb.models import KbEntry
from faqbot.kb.normalize import clean
from faqbot.mining.questions import Question

DEFAULT_THRESHOLD = 0.4  # average similarity two groups need to merge (see `tests/unit/test_mining_grouping.py`)
PHRASING_THRESHOLD = 0.5  # first pass: phrasings that are near rewordings of each other
MAX_ROUNDS = 8
REPRESENTATIVES = 12  # phrasings per group the merge rounds look at
NEIGHBOURS = 40  # phrasings scored against each phrasing; the rest count as unrelated
MAX_VARIANTS = 5


@dataclass
class QuestionGroup:
    """One question as the draft shows it: its typical phrasing, the other phrasings, and where they were asked."""

    question: str  # the most typical phrasing
    members: list[Question] = field(default_factory=list)  # every occurrence, most typical phrasing first

    @property
    def calls(self) -> int:
        """In how many calls (or conversations) the question was asked: repeats within one call count once."""
        return len({member.call for member in self.members})

    def variants(self, limit: int = MAX_VARIANTS) -> list[str]:
        """Other phrasings, most frequent first, each once (up to `limit`)."""
        seen = {clean(self.question)}
        out: list[str] = []
        for member in self.members:
            key = clean(member.text)
            if key not in seen:
                seen.add(key)
                out.append(member.text)
            if len(out) >= limit:
                break
        return out

    def examples(self, limit: int = 3) -> list[Question]:
        """Quotes from different calls, for the "Examples" column."""
        out: list[Question] = []
        calls: set[str] = set()
        for member in self.members:
            if member.call not in calls:
                calls.add(member.call)
                out.append(member)
            if len(out) >= limit:
                break
        return out


def group_questions(
    questions: Iterable[Question],
    threshold: float = DEFAULT_THRESHOLD,
    neighbours: int = NEIGHBOURS,
) -> list[QuestionGroup]:
    """The questions grouped by meaning, the most asked first (by calls, then by times asked)."""
    by_key: dict[str, list[Question]] = {}
    for question in questions:
        key = clean(question.text)
        if key:
            by_key.setdefault(key, []).append(question)
    phrasings = list(by_key.values())
    if not phrasings:
        return []
    weights = [float(len(occurrences)) for occurrences in phrasings]
    texts = [occurrences[0].text for occurrences in phrasings]
    similarity = _similarities(texts, neighbours)
    clusters = _average_linkage(weights, similarity, PHRASING_THRESHOLD)
    for _ in range(MAX_ROUNDS):
        merged = _merge_round(clusters, texts, weights, threshold, neighbours)
        if len(merged) == len(clusters):
            break
        clusters = merged
    groups = [_group(cluster, phrasings, weights, similarity) for cluster in clusters]
    groups.sort(key=lambda group: (-group.calls, -len(group.members), group.question))
    return groups


def _merge_round(
    clusters: list[list[int]], texts: Sequence[str], weights: Sequence[float], threshold: float, neighbours: int
) -> list[list[int]]:
    """Groups as KB entries (every phrasing an alternative): merge the pairs whose phrasings score each other."""
    # A group speaks through its most frequent phrasings: enough to judge it, and the matcher's spelling
    # comparison costs grow with every alternative an entry has.
    samples = [sorted(cluster, key=lambda index: -weights[index])[:REPRESENTATIVES] for cluster in clusters]
    entries = [
        KbEntry(
            id=str(number), question=texts[sample[0]], answer="", alternatives=tuple(texts[i] for i in sample[1:])
        )
        for number, sample in enumerate(samples)
    ]
    matcher = Matcher(entries)
    toward: dict[tuple[int, int], float] = {}  # (group, other) → Σ weight·relative score of its phrasings
    for number, sample in enumerate(samples):
        for index in sample:
            ranked = matcher.rank(texts[index], limit=neighbours)
            own = next((c.score for c in ranked if c.entry.id == str(number)), 0.0)
            if own <= 0:
                continue
            for candidate in ranked:
                other = int(candidate.entry.id)
                if other != number:
                    key = (number, other)
                    toward[key] = toward.get(key, 0.0) + weights[index] * min(candidate.score / own, 1.0)
    size = [sum(weights[i] for i in sample) for sample in samples]
    pairs = []
    for (a, b), total in toward.items():
        if a < b:
            value = (total / size[a] + toward.get((b, a), 0.0) / size[b]) / 2
            if value >= threshold:
                pairs.append((value, a, b))
    pairs.sort(reverse=True)
    used: set[int] = set()
    merged = [list(cluster) for cluster in clusters]
    gone: set[int] = set()
    for _, a, b in pairs:
        if a in used or b in used:
            continue
        used.update((a, b))
        merged[a].extend(merged[b])
        gone.add(b)
    return [cluster for number, cluster in enumerate(merged) if number not in gone]


def _similarities(texts: Sequence[str], neighbours: int) -> dict[tuple[int, int], float]:
    """(i, j) with i < j → similarity in [0, 1], for the pairs the matcher relates at all."""
    matcher = Matcher([KbEntry(id=str(index), question=text, answer="") for index, text in enumerate(texts)])
    directed: dict[tuple[int, int], float] = {}
    for index, text in enumerate(texts):
        ranked = matcher.rank(text, limit=neighbours + 1)
        own = next((c.score for c in ranked if c.entry.id == str(index)), 0.0) or max(
            (c.score for c in ranked), default=0.0
        )
        if own <= 0:
            continue
        for candidate in ranked:
            other = int(candidate.entry.id)
            if other != index and candidate.score > 0:
                directed[(index, other)] = min(candidate.score / own, 1.0)
    similarity: dict[tuple[int, int], float] = {}
    for (a, b), score in directed.items():
        pair = (min(a, b), max(a, b))
        if pair not in similarity:
            similarity[pair] = (score + directed.get((b, a), 0.0)) / 2
    return similarity


def _average_linkage(
    weights: Sequence[float], similarity: dict[tuple[int, int], float], threshold: float
) -> list[list[int]]:
    """Merge the two closest clusters while their (weighted) average similarity is at least `threshold`."""
    size = list(weights)
    members: dict[int, list[int]] = {index: [index] for index in range(len(weights))}
    links: dict[int, dict[int, float]] = {index: {} for index in range(len(weights))}  # Σ w_i·w_j·sim
    for (a, b), value in similarity.items():
        links[a][b] = links[b].get(a, 0.0) + weights[a] * weights[b] * value
        links[b][a] = links[a][b]
    heap = [(-total / (size[a] * size[b]), a, b) for a in links for b, total in links[a].items() if a < b]
    heapq.heapify(heap)
    while heap:
        negative, a, b = heapq.heappop(heap)
        if -negative < threshold:
            break
        if a not in members or b not in members:
            continue
        current = links[a].get(b, 0.0) / (size[a] * size[b])
        if abs(current + negative) > 1e-12:
            continue  # stale: one of the two grew since
        # b joins a
        members[a].extend(members.pop(b))
        size[a] += size[b]
        for other, total in links.pop(b).items():
            links[other].pop(b, None)
            if other == a:
                continue
            links[a][other] = links[a].get(other, 0.0) + total
            links[other][a] = links[a][other]
        links[a].pop(b, None)
        for other, total in links[a].items():
            heapq.heappush(heap, (-total / (size[a] * size[other]), min(a, other), max(a, other)))
    return list(members.values())


def _group(
    cluster: list[int],
    phrasings: Sequence[list[Question]],
    weights: Sequence[float],
    similarity: dict[tuple[int, int], float],
) -> QuestionGroup:
    """The typical phrasing is the one closest on average to the others (ties: the most frequent, the shortest)."""

    def centrality(index: int) -> float:
        return sum(
            weights[other] * (1.0 if other == index else similarity.get((min(index, other), max(index, other)), 0.0))
            for other in cluster
        )

    ordered = sorted(
        cluster, key=lambda index: (-round(centrality(index), 6), -weights[index], len(phrasings[index][0].text))
    )
    members = [question for index in ordered for question in phrasings[index]]
    return QuestionGroup(question=members[0].text, members=members)
