"""Questions grouped by meaning and ranked by how many calls ask them.

Phrasings are read with the matcher's own normalisation (`faqbot.kb.terms`: dictionary forms, the
cross-language concepts, letter folding) and compared as TF-IDF vectors:

- Terms. Every term of a phrasing, a vocabulary concept counting `CONCEPT_WEIGHT` times (a concept
  such as price, address or booking is what customers ask about; a trade's own words are mostly the
  thing asked about). Two spelling keys per word let Russian and Ukrainian cognates meet where the
  dictionaries do not: its first five letters ("присутствовать" / "присутній") and its consonant
  skeleton ("когти" / "кігті" → "кгт"); words that share no letters meet through the matcher's
  bilingual lexicon, each word also carrying its translations ("щеплення" / "прививка"). A term no
  other phrasing has is a detail (a breed, a name) and counts `DETAIL_WEIGHT`; so does, at
  `SLOT_WEIGHT`, a word that fills the slot of a frame many phrasings share ("сколько стоит стрижка
  шпица / йорка / пуделя": the breed is what is asked about, not another question). A phrase concept
  of the matcher's terms ("сколько (по) времени") keeps its own words' terms, and a phrase's one
  meaningful word said alone ("долго это?" for "как долго") carries the phrase's concept, both at
  `PART_WEIGHT`.
- Replies. When the speakers are known, the agent's reply joins the vector in its own namespace
  (`REPLY_WEIGHT`): one business answers one question alike ("Яворницкого, 42"; "щеплення від сказу"),
  whatever words asked it. A reply never relates two phrasings of one call (it may answer both).
- Similarity. Near-identical phrasings (cosine ≥ `FAMILY_THRESHOLD`) first act as one, so that a
  phrasing repeated in many calls does not fill its own neighbourhood. Then half the cosine, half the
  shared-nearest-neighbour score (Jarvis-Patrick): two phrasings are alike when their `NEIGHBOURS`
  nearest phrasings are largely the same ones, which keeps dense questions (price, booking) together
  and stops a chain of weak links through one common word ("собаку") from gluing unrelated ones.
- Groups. Average-linkage agglomeration at `threshold`. Then every term is re-weighted by how
  concentrated it is: the square of the share of its phrasings that sit in its main group. The
  trade's own nouns ("стрижка", "собака", "груминг"), spread over many questions, fade; the words
  that tell one question from another stay (a term seen only in leftovers is left alone). The vectors
  are rebuilt and grouped again (`ROUNDS`).
- Leftovers. A group of one or two phrasings joins the group it is closest to on average when that
  is at least `ATTACH` and clearly (`ATTACH_MARGIN` times) closer than the next one.
- Refinement. Similarity sums up shared weight, so one heavy shared word can outvote several telling
  ones: «З агресивними собаками працюєте?» has «працювати» in common with every opening-hours
  phrasing and «агресивний» plus the reply's «намордник» with the aggressive-dogs ones. So the groups
  are then read as a mixture of word distributions, one per group of more than `LEFTOVER_SIZE`
  phrasings (multinomial naive Bayes, `SMOOTHING` added to every count), and each phrasing moves to the
  group that explains all its words and its reply best, left out of its own group's counts (hard EM,
  the classic refinement of a text clustering). It moves only on strong evidence: a log-likelihood
  at least `MOVE_EVIDENCE` above its own group's (e² ≈ 7 times as likely).

Purity is preferred to recall: a question split in two rows costs the client a copy-paste, two
questions in one row cost a wrong answer. `faqbot bench --section mining` prints how the grouping of
the labelled corpus (`tests/data/transcripts`) measures up to the acceptance (`faqbot.mining.quality`).
"""

from __future__ import annotations

import functools
import heapq
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from faqbot.kb.normalize import clean, fold_letters
from faqbot.kb.terms import CONCEPT_PREFIX, text_terms, word_term
from faqbot.kb.vocabulary import PHRASES, WEAK_CONCEPTS
from faqbot.mining.questions import Question

DEFAULT_THRESHOLD = 0.3  # average similarity two groups need to merge (calibrated on tests/data/transcripts)
CONCEPT_WEIGHT = 1.5  # a vocabulary concept's weight against a plain word's
PREFIX_WEIGHT = 0.5  # share of a word's weight its first letters carry
PREFIX_LETTERS = 5
SKELETON_WEIGHT = 0.5  # share of a word's weight its consonant skeleton carries
SKELETON_MIN = 3  # consonants a skeleton needs to mean anything
DETAIL_WEIGHT = 0.5  # a term only one phrasing has
SLOT_WEIGHT = 0.3  # a word that fills the slot of a common frame ("сколько стоит стрижка ___")
SLOT_FILLERS = 3  # different words a frame needs in its slot
SLOT_FRAME_MIN = 2  # words a frame needs ("___ нужны?" says too little to be one)
REPLY_WEIGHT = 0.8  # the reply's share of a phrasing's vector, against the question's 1
NEIGHBOURS = 9  # fewer when there are fewer than 3 × 9 phrasings
COSINE_SHARE = 0.5  # of the similarity; the rest is the shared-neighbour score
ROUNDS = 3  # groupings, each re-weighting the terms by how concentrated they were in the previous one
CONCENTRATION_POWER = 2.0
CONCENTRATION_MIN = 3  # occurrences a term needs before its spread says anything
ATTACH = 0.15
ATTACH_MARGIN = 1.5
LEFTOVER_SIZE = 2  # phrasings (or families of near-identical ones) in a group that may still join another one
FAMILY_THRESHOLD = 0.7  # cosine at which two phrasings are copies of one another ("…для шпица?" / "…для йорка?")
TRANSLATION_WEIGHT = 1.0  # a word's translation in the other of Russian / Ukrainian ("щеплення" / "прививка")
PART_WEIGHT = 0.5  # a phrase concept's own words, against a word's weight
MIN_SIMILARITY = 0.02  # below this two phrasings are unrelated
SMOOTHING = 0.2  # pseudo-count of every term in every group's word distribution (refinement)
MOVE_EVIDENCE = 2.0  # log-likelihood a phrasing must gain to move to another group (refinement)
REFINE_ROUNDS = 5
MAX_VARIANTS = 5
_REPLY = "a:"  # namespace of the reply's terms
_HEAD_POS = frozenset({"NOUN", "ADVB", "VERB", "INFN", "ADJS", "PRED"})  # a phrase's meaningful word
_VOWELS = frozenset("аеиоуыэюяіїєёьъйaeiouy'")

Vector = dict[str, float]
Pairs = dict[tuple[int, int], float]  # (i, j) with i < j → similarity


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


def group_questions(questions: Iterable[Question], threshold: float = DEFAULT_THRESHOLD) -> list[QuestionGroup]:
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
    calls = [frozenset(question.call for question in occurrences) for occurrences in phrasings]
    asked = _fade_slot_fillers([word_keys(occurrences[0].text) for occurrences in phrasings])
    replies = [_reply_terms(occurrences) for occurrences in phrasings]
    emphasis: dict[str, float] = {}
    for _ in range(ROUNDS):
        vectors = _vectors(asked, replies, emphasis)
        cosine = _cosines(vectors, calls)
        # Near-identical phrasings ("…для шпица?", "…для йорка?") act as one: the nearest neighbours of a
        # phrasing must be other ways of asking, not its own copies, however many calls repeat it.
        families = _average_linkage(cosine, len(phrasings), FAMILY_THRESHOLD)
        family_vectors = [_unit(_sum(vectors[index] for index in family)) for family in families]
        family_calls = [calls[family[0]] if len(family) == 1 else None for family in families]
        family_cosine = _cosines(family_vectors, family_calls)
        similarity = _similarity(family_cosine, len(families))
        merged = _average_linkage(similarity, len(families), threshold)
        emphasis = _concentration(
            [[index for family in cluster for index in families[family]] for cluster in merged],
            [{**a, **r} for a, r in zip(asked, replies, strict=True)],
        )
    merged = _attach_leftovers(merged, similarity)
    clusters = [[index for family in cluster for index in families[family]] for cluster in merged]
    clusters = refine_groups(clusters, asked, replies, calls)
    groups = [_group(cluster, phrasings, weights, cosine) for cluster in clusters]
    groups.sort(key=lambda group: (-group.calls, -len(group.members), group.question))
    return groups


def phrasing_terms(text: str, namespace: str = "", *, spellings: bool = True) -> Vector:
    """Term key → weight for one text: the matcher's terms plus (`spellings`) the spelling keys of its words."""
    return _merge(word_keys(text, namespace, spellings=spellings))


def word_keys(text: str, namespace: str = "", *, spellings: bool = True) -> list[Vector]:
    """Per word of the text, its keys and weights: the matcher's term first, then its spelling keys and the
    phrase concepts it takes part in."""
    words: list[Vector] = []
    terms = text_terms(text)
    for term in terms:
        concept = term.is_concept and term.key[1:] not in WEAK_CONCEPTS
        keys = {namespace + term.key: term.weight * (CONCEPT_WEIGHT if concept else 1.0)}
        word = fold_letters(term.word) if term.word else ""
        if spellings and word.isalpha() and len(word) >= PREFIX_LETTERS:
            keys[namespace + "^" + word[:PREFIX_LETTERS]] = term.weight * PREFIX_WEIGHT
        for translation in term.translations:
            keys.setdefault(namespace + translation, term.weight * TRANSLATION_WEIGHT)
        skeleton = consonant_skeleton(term.key) if spellings and not term.is_concept else ""
        if len(skeleton) >= SKELETON_MIN:
            keys[namespace + "~" + skeleton] = term.weight * SKELETON_WEIGHT
        if term.is_concept and " " in term.word:
            for part in filter(None, map(word_term, term.word.split())):
                keys.setdefault(namespace + part.key, part.weight * PART_WEIGHT)
        words.append(keys)
    heads = _phrase_heads()
    for term, keys in zip(terms, words, strict=True):
        head = heads.get(fold_letters(term.word)) if term.word and not term.is_concept else None
        if head is not None:
            keys.setdefault(namespace + CONCEPT_PREFIX + head, CONCEPT_WEIGHT * PART_WEIGHT)
    return words


@functools.lru_cache(maxsize=1)
def _phrase_heads() -> dict[str, str]:
    """Folded word → phrase concept, for the phrases whose one meaningful word it is ("как долго" → "долго").

    Meaningful: a dictionary word with a part of speech of its own (a pronoun-like "которого" is not one).
    """
    heads: dict[str, str] = {}
    for concept, phrases in PHRASES.items():
        for phrase in phrases:
            words = phrase.split()
            content = [word for word in words if (term := word_term(word)) is not None and term.pos in _HEAD_POS]
            if len(words) > 1 and len(content) == 1:
                heads[fold_letters(content[0])] = concept
    return heads


def _merge(words: Iterable[Vector]) -> Vector:
    vector: Vector = {}
    for keys in words:
        for key, weight in keys.items():
            if weight > vector.get(key, 0.0):
                vector[key] = weight
    return vector


def _fade_slot_fillers(phrasings: Sequence[list[Vector]]) -> list[Vector]:
    """Each phrasing's vector, with the words that fill a slot of a common frame counting `SLOT_WEIGHT`.

    "Сколько стоит стрижка шпица / йорка / пуделя / хаски": when one frame (the phrasing's other words)
    comes with at least `SLOT_FILLERS` different words in its place, those words are the thing asked
    about, not the question, and must not split it by breed, product or service.
    """
    fillers: dict[frozenset[str], set[str]] = {}
    frames: list[list[frozenset[str] | None]] = []
    for words in phrasings:
        heads = [next(iter(keys)) for keys in words]
        own: list[frozenset[str] | None] = []
        for position, head in enumerate(heads):
            frame = frozenset(heads[:position] + heads[position + 1 :])
            if len(frame) >= SLOT_FRAME_MIN:
                fillers.setdefault(frame, set()).add(head)
                own.append(frame)
            else:
                own.append(None)
        frames.append(own)
    vectors = []
    for words, own in zip(phrasings, frames, strict=True):
        faded = [
            {key: weight * SLOT_WEIGHT for key, weight in keys.items()}
            if frame is not None and len(fillers[frame]) >= SLOT_FILLERS
            else keys
            for keys, frame in zip(words, own, strict=True)
        ]
        vectors.append(_merge(faded))
    return vectors


def consonant_skeleton(word: str) -> str:
    """The word's consonants, doubled ones once: Russian and Ukrainian cognates mostly differ in vowels."""
    out: list[str] = []
    for char in word:
        if char.isalpha() and char not in _VOWELS and (not out or out[-1] != char):
            out.append(char)
    return "".join(out)


def _reply_terms(occurrences: Sequence[Question]) -> Vector:
    replies = " ".join(dict.fromkeys(question.reply for question in occurrences if question.reply))
    if not replies:
        return {}
    return phrasing_terms(replies, _REPLY, spellings=False)


def _vectors(asked: Sequence[Vector], replies: Sequence[Vector], emphasis: dict[str, float]) -> list[Vector]:
    """Unit TF-IDF vectors: the question's terms, and the reply's at `REPLY_WEIGHT`."""
    questions = _tfidf(asked, emphasis)
    answers = _tfidf(replies, emphasis)
    vectors = []
    for question, answer in zip(questions, answers, strict=True):
        vector = dict(question)
        vector.update({key: REPLY_WEIGHT * value for key, value in answer.items()})
        vectors.append(_unit(vector))
    return vectors


def _tfidf(vectors: Sequence[Vector], emphasis: dict[str, float]) -> list[Vector]:
    count = len(vectors)
    frequency = Counter(key for vector in vectors for key in vector)
    out = []
    for vector in vectors:
        weighted = {
            key: weight
            * emphasis.get(key, 1.0)
            * math.log(1 + count / frequency[key])
            * (DETAIL_WEIGHT if frequency[key] == 1 else 1.0)
            for key, weight in vector.items()
        }
        out.append(_unit(weighted))
    return out


def _unit(vector: Vector) -> Vector:
    norm = math.sqrt(sum(value * value for value in vector.values()))
    return {key: value / norm for key, value in vector.items()} if norm else {}


def _sum(vectors: Iterable[Vector]) -> Vector:
    total: Vector = {}
    for vector in vectors:
        for key, value in vector.items():
            total[key] = total.get(key, 0.0) + value
    return total


def _cosines(vectors: Sequence[Vector], calls: Sequence[frozenset[str] | None]) -> Pairs:
    """Cosine of every related pair, through an inverted index. Reply terms relate two single phrasings of one
    call not at all (one reply may answer both); `calls` is None for a family of phrasings."""
    index: dict[str, list[tuple[int, float]]] = {}
    for number, vector in enumerate(vectors):
        for key, value in vector.items():
            index.setdefault(key, []).append((number, value))
    pairs: Pairs = {}
    for number, vector in enumerate(vectors):
        totals: dict[int, float] = {}
        for key, value in vector.items():
            reply = key.startswith(_REPLY)
            for other, other_value in index[key]:
                if other > number and not (reply and _same_call(calls[number], calls[other])):
                    totals[other] = totals.get(other, 0.0) + value * other_value
        for other, total in totals.items():
            if total >= MIN_SIMILARITY:
                pairs[(number, other)] = total
    return pairs


def _same_call(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    return a is not None and b is not None and bool(a & b)


def _similarity(cosine: Pairs, count: int) -> Pairs:
    """The cosine blended with the shared-neighbour score; the cosine alone when there are too few phrasings
    for a neighbourhood to mean anything (a handful of unanswered messages)."""
    neighbours = min(NEIGHBOURS, (count - 1) // 3)
    if neighbours < 2:
        return dict(cosine)
    shared = _shared_neighbours(cosine, count, neighbours)
    return {pair: COSINE_SHARE * cosine[pair] + (1 - COSINE_SHARE) * value for pair, value in shared.items()}


def _shared_neighbours(cosine: Pairs, count: int, neighbours: int) -> Pairs:
    """Jarvis-Patrick: for pairs where one is among the other's nearest, the share of nearest phrasings they share."""
    around: list[dict[int, float]] = [{} for _ in range(count)]
    for (a, b), value in cosine.items():
        around[a][b] = value
        around[b][a] = value
    nearest = [set(heapq.nlargest(neighbours, scores, key=scores.__getitem__)) | {n} for n, scores in enumerate(around)]
    return {
        (a, b): len(nearest[a] & nearest[b]) / (neighbours + 1) for a, b in cosine if b in nearest[a] or a in nearest[b]
    }


def _concentration(clusters: Sequence[list[int]], vectors: Sequence[Vector]) -> dict[str, float]:
    """Term → (share of its phrasings in its main group)²: the trade's common words fade, telling words stay.

    A term found only in leftovers (groups of up to `LEFTOVER_SIZE`) keeps its weight: that says nothing
    yet about spread, and it may be just what should join them ("присутствовать" in three phrasings, each
    still alone or in a pair). Fading it there would keep them apart for good.
    """
    spread: dict[str, Counter[int]] = {}
    for number, cluster in enumerate(clusters):
        for index in cluster:
            for key in vectors[index]:
                spread.setdefault(key, Counter())[number] += 1
    emphasis = {}
    for key, groups in spread.items():
        total = sum(groups.values())
        if total < CONCENTRATION_MIN:
            continue
        if all(len(clusters[number]) <= LEFTOVER_SIZE for number in groups):
            continue  # only in leftovers so far: no sign yet that it is spread over several questions
        emphasis[key] = (max(groups.values()) / total) ** CONCENTRATION_POWER
    return emphasis


def _average_linkage(similarity: Pairs, count: int, threshold: float) -> list[list[int]]:
    """Merge the two closest clusters while their average similarity is at least `threshold`."""
    size = [1] * count
    members: dict[int, list[int]] = {index: [index] for index in range(count)}
    links: dict[int, dict[int, float]] = {index: {} for index in range(count)}  # Σ sim over member pairs
    for (a, b), value in similarity.items():
        links[a][b] = value
        links[b][a] = value
    heap = [(-total, a, b) for a in links for b, total in links[a].items() if a < b]
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


def _attach_leftovers(clusters: list[list[int]], similarity: Pairs) -> list[list[int]]:
    """Groups of up to `LEFTOVER_SIZE` phrasings join the larger group they are clearly closest to."""
    around: dict[int, dict[int, float]] = {}
    for (a, b), value in similarity.items():
        around.setdefault(a, {})[b] = value
        around.setdefault(b, {})[a] = value
    clusters = [list(cluster) for cluster in clusters]
    owner = {index: number for number, cluster in enumerate(clusters) for index in cluster}
    for number in sorted(range(len(clusters)), key=lambda n: len(clusters[n])):
        cluster = clusters[number]
        if not cluster or len(cluster) > LEFTOVER_SIZE:
            continue
        totals: dict[int, float] = {}
        for index in cluster:
            for other, value in around.get(index, {}).items():
                target = owner[other]
                if target != number and len(clusters[target]) > len(cluster):
                    totals[target] = totals.get(target, 0.0) + value
        ranked = sorted(((total / (len(cluster) * len(clusters[t])), t) for t, total in totals.items()), reverse=True)
        if not ranked:
            continue
        best, target = ranked[0]
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        if best >= ATTACH and best >= ATTACH_MARGIN * runner_up:
            clusters[target].extend(cluster)
            for index in cluster:
                owner[index] = target
            clusters[number] = []
    return [cluster for cluster in clusters if cluster]


def refine_groups(
    clusters: list[list[int]], asked: Sequence[Vector], replies: Sequence[Vector], calls: Sequence[frozenset[str]]
) -> list[list[int]]:
    """Hard EM over a multinomial mixture, one component per group of more than `LEFTOVER_SIZE` phrasings.

    Each phrasing of such a group moves to the group whose word distribution explains its words and its
    reply `MOVE_EVIDENCE` better than its own does; all moves of a round at once, until none is left.
    Leftovers neither move nor receive: too few words to be a distribution.
    """
    terms = [{**question, **reply} for question, reply in zip(asked, replies, strict=True)]
    vocabulary = len({key for vector in terms for key in vector})
    in_call: dict[str, list[int]] = {}
    for index, occurrences in enumerate(calls):
        for call in occurrences:
            in_call.setdefault(call, []).append(index)
    same_call = [{other for call in calls[index] for other in in_call[call]} - {index} for index in range(len(calls))]
    clusters = [list(cluster) for cluster in clusters]
    for _ in range(REFINE_ROUNDS):
        mixture = _Mixture(clusters, terms, replies, same_call, vocabulary)
        moves: list[tuple[int, int]] = []
        for index, own in mixture.owner.items():
            scores = {number: mixture.log_likelihood(index, number) for number in mixture.counts}
            best = max(scores, key=scores.__getitem__)
            if best != own and scores[best] - scores[own] > MOVE_EVIDENCE:
                moves.append((index, best))
        if not moves:
            break
        for index, target in moves:
            clusters[mixture.owner[index]].remove(index)
            clusters[target].append(index)
        clusters = [cluster for cluster in clusters if cluster]
    return clusters


class _Mixture:
    """The word distribution of each group of more than `LEFTOVER_SIZE` phrasings (summed term weights)."""

    def __init__(
        self,
        clusters: Sequence[list[int]],
        terms: Sequence[Vector],
        replies: Sequence[Vector],
        same_call: Sequence[set[int]],
        vocabulary: int,
    ) -> None:
        self.terms, self.replies, self.same_call, self.vocabulary = terms, replies, same_call, vocabulary
        self.owner = {
            index: number
            for number, cluster in enumerate(clusters)
            if len(cluster) > LEFTOVER_SIZE
            for index in cluster
        }
        self.counts: dict[int, Counter[str]] = {number: Counter() for number in set(self.owner.values())}
        for index, number in self.owner.items():
            self.counts[number].update(terms[index])
        self.totals = {number: sum(counts.values()) for number, counts in self.counts.items()}

    def log_likelihood(self, index: int, number: int) -> float:
        """Σ weight × log P(term | group) of the phrasing's terms, `SMOOTHING` added to every count.

        The phrasing's own terms are left out of its own group, and so are the replies of its own call:
        one reply may answer two questions.
        """
        left_out: Counter[str] = Counter(self.terms[index] if self.owner[index] == number else {})
        for other in self.same_call[index]:
            if self.owner.get(other) == number:
                left_out.update(self.replies[other])
        counts = self.counts[number]
        denominator = self.totals[number] - sum(left_out.values()) + SMOOTHING * self.vocabulary
        return sum(
            weight * math.log((counts[key] - left_out[key] + SMOOTHING) / denominator)
            for key, weight in self.terms[index].items()
        )


def _group(
    cluster: list[int],
    phrasings: Sequence[list[Question]],
    weights: Sequence[float],
    similarity: Pairs,
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
