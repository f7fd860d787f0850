"""Matching a customer's message to the client's knowledge base, and knowing when not to answer.

The index (built once per KB version) holds, for every entry, the weighted terms of each phrasing
(question, alternatives, keywords) and of the answer text. A message is turned into terms the same
way (concepts of the cross-language vocabulary, lemmas, letter skeletons, transliteration, Russian /
Ukrainian translations from a general bilingual dictionary), each term is expanded to the KB's own
terms it may mean (exact, a translation, another reading, a longer form sharing the stem, the same
root under another verbal prefix, a typo), and every entry gets two coverages:
- *message coverage*: how much of the message's weight the entry explains (phrasings fully, the
  answer text at a discount) — low when the message is about something the KB does not mention;
- *entry coverage*: how much of the entry's best phrasing the message contains — high when the
  customer asked exactly that question, whatever else they wrote around it.
The score in [0, 1] blends them. Decisions: a request for a person → `human`; bare courtesy →
`smalltalk`; a clear winner (score, coverage and lead over the runner-up; a larger lead unless the
character n-grams of the message clearly prefer the leader too) → `answer`; a few close candidates →
`clarify`; nothing → `escalate`.

Measured and left out (leave-one-KB-out and the unseen KBs, issue 3): Russian word vectors (navec,
from the natasha wheel) as a soft match for words the KB does not use, and as a sentence cosine in
the score — no gain, as news vectors know few trade words and no Ukrainian; a consonant skeleton
for Russian/Ukrainian cognates ("примерить" / "приміряти") — as many false friends as matches.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from faqbot.config import Language, MatchThresholds
from faqbot.kb.intents import asks_for_human, closing_remark, smalltalk_kind, strip_greetings
from faqbot.kb.language import detect_language
from faqbot.kb.models import KbEntry
from faqbot.kb.normalize import STOP_WORDS, fold_letters, is_latin, tokenize, transliterate, word_list
from faqbot.kb.terms import WEAK_WEIGHT, Term, tokens_terms, transliterated


class Decision(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"
    HUMAN = "human"
    SMALLTALK = "smalltalk"


@dataclass(frozen=True)
class Candidate:
    entry: KbEntry
    score: float  # in [0, 1]
    coverage: float = 1.0  # share of the message this entry explains, in [0, 1] (part of `score`)
    # Character-trigram similarity of its closest phrasing to the message, in [0, 1]; None when not
    # measured (e.g. the semantic tier's combined candidates): then it takes no part in decisions.
    spelling: float | None = None


@dataclass(frozen=True)
class MatchResult:
    decision: Decision
    candidates: tuple[Candidate, ...]  # best first, for "why" displays
    choices: tuple[KbEntry, ...]  # ANSWER: exactly 1 entry; CLARIFY: 2-3 entries; otherwise ()
    language: Language  # the customer's language (detected)
    smalltalk: str | None = None  # "greeting" | "thanks" | "bye" when decision is SMALLTALK

    @property
    def entry(self) -> KbEntry | None:
        """The entry to answer with, when the decision is `answer`."""
        return self.choices[0] if self.decision is Decision.ANSWER else None


@dataclass(frozen=True)
class Weights:
    """How evidence adds up into a score. Tuned leave-one-KB-out on the benchmark (see `faqbot bench`)."""

    message_coverage: float = 0.95  # share of the message coverage in the score (the rest: entry coverage)
    answer_evidence: float = 0.75  # a message word found only in the answer counts this much
    unknown_word: float = 0.6  # weight of a message word the KB never uses, relative to the rarest KB word
    char_ngrams: float = 0.2  # share of character-trigram similarity of the phrasings in the score
    answer_frequency: float = 1.0  # an entry whose answer (not question) has a word counts this much towards its rarity
    unknown_non_noun: float = 0.5  # further factor for such a word that is not a noun ("успеваю", "потемнел")
    stem_match: float = 0.8  # strength of a match on a shared stem ("имплант" ~ "имплантация")
    typo_match: float = 0.75  # strength of a fuzzy (typo) match at similarity 100
    prefix_match: float = 0.7  # strength of a match on the root under another verbal prefix ("поміряти" ~ "приміряти")
    translation_match: float = 1.0  # strength of a match on the word's translation ("щеплення" ~ "прививка")


DEFAULT_WEIGHTS = Weights()
_CANDIDATES_SHOWN = 5
_STEM = 4  # letters of a shared stem
_SHORT_WORD = 6  # up to this length a typo is one edit; longer words may have two
_COURTESY_MIN_COVERAGE = 0.75
_RERANKED = 10  # candidates re-scored on spelling
_WEAK_ONLY = 0.5  # score factor for an entry matched on question words and numbers only


@dataclass(frozen=True, slots=True)
class _Posting:
    doc: int
    phrasing: int
    weight: float  # the term's share of this phrasing's total weight


class Matcher:
    """An index over one KB version; `match` is safe to call concurrently and allocates little."""

    def __init__(
        self,
        entries: Sequence[KbEntry],
        thresholds: MatchThresholds | None = None,
        weights: Weights = DEFAULT_WEIGHTS,
    ) -> None:
        self.entries: tuple[KbEntry, ...] = tuple(entries)
        self.thresholds = thresholds or MatchThresholds()
        self.weights = weights
        self._by_id = {entry.id: entry for entry in self.entries}
        self._hint = _kb_language(self.entries)
        phrasings_terms: list[list[list[Term]]] = []
        answer_terms: list[list[Term]] = []
        phrasing_texts: list[list[str]] = []
        for entry in self.entries:
            texts = [entry.question, *entry.alternatives]
            if entry.keywords:
                texts.append(" ".join(entry.keywords))
            phrasing_texts.append(texts)
            phrasings_terms.append([self._terms(text) for text in texts])
            answer_terms.append(self._terms(f"{entry.answer} {entry.category or ''}"))
        doc_freq: dict[str, float] = {}
        for phrasings, answer in zip(phrasings_terms, answer_terms, strict=True):
            question_keys = {term.key for terms in phrasings for term in terms}
            for key in question_keys:
                doc_freq[key] = doc_freq.get(key, 0.0) + 1
            for key in {term.key for term in answer} - question_keys:
                doc_freq[key] = doc_freq.get(key, 0.0) + weights.answer_frequency
        n = max(len(self.entries), 1)
        self._idf = {key: _idf(df, n) for key, df in doc_freq.items()}
        self._idf_unknown = _idf(0, n)
        self._postings: dict[str, list[_Posting]] = {}
        self._answer_postings: dict[str, list[int]] = {}
        for doc, (phrasings, answer) in enumerate(zip(phrasings_terms, answer_terms, strict=True)):
            for index, terms in enumerate(phrasings):
                key_weights: dict[str, float] = {}
                for term in terms:
                    key_weights[term.key] = max(key_weights.get(term.key, 0.0), term.weight * self._idf[term.key])
                total = sum(key_weights.values())
                for key, weight in key_weights.items():
                    self._postings.setdefault(key, []).append(_Posting(doc, index, weight / total))
            for key in {term.key for term in answer}:
                self._answer_postings.setdefault(key, []).append(doc)
        self._vocabulary = [key for key in doc_freq if not key.startswith("#")]
        self._by_stem: dict[str, list[str]] = {}
        for key in self._vocabulary:
            if len(key) >= _STEM:
                self._by_stem.setdefault(key[:_STEM], []).append(key)
        self._by_root: dict[str, list[str]] = {}
        if weights.prefix_match > 0:
            for key in self._vocabulary:
                for root in _roots(key):
                    self._by_root.setdefault(root[:_STEM], []).append(key)
        self._expansions: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, float], ...]] = {}
        self._grams: list[list[dict[str, float]]] = []
        if weights.char_ngrams > 0:
            raw = [[_char_grams(_content_words(tokenize(text))) for text in texts] for texts in phrasing_texts]
            gram_df: dict[str, int] = {}
            for phrasings_grams in raw:
                for gram in {g for grams in phrasings_grams for g in grams}:
                    gram_df[gram] = gram_df.get(gram, 0) + 1
            self._gram_idf = {gram: _idf(df, n) for gram, df in gram_df.items()}
            self._grams = [[self._gram_vector(grams) for grams in phrasings_grams] for phrasings_grams in raw]

    # --- public API ---------------------------------------------------------------------------

    def match(self, text: str) -> MatchResult:
        """Decide what to do with one customer message."""
        language = detect_language(text, default=_LANGUAGE_OF_HINT[self._hint])
        if asks_for_human(text):
            return MatchResult(Decision.HUMAN, self._top(self._ranked(text, language)), (), language)
        kind = smalltalk_kind(text)
        if kind is not None:
            return MatchResult(Decision.SMALLTALK, (), (), language, kind.value)
        ranked = self._ranked(text, language)
        decision, choices = self.decide(ranked)
        courtesy = closing_remark(text)
        if courtesy is not None and not clear_answer(decision, ranked):
            # "дякую, все отримала" / "ок, поняла, спасибо": a closing remark, not a question.
            return MatchResult(Decision.SMALLTALK, self._top(ranked), (), language, courtesy.value)
        return MatchResult(decision, self._top(ranked), choices, language)

    def rank(self, text: str, limit: int | None = None) -> list[Candidate]:
        """Entries with any evidence, best first (scores in [0, 1]); all of them unless `limit`."""
        language = detect_language(text, default=_LANGUAGE_OF_HINT[self._hint])
        return self._ranked(text, language, limit)

    def decide(self, ranked: Sequence[Candidate]) -> tuple[Decision, tuple[KbEntry, ...]]:
        return decide(ranked, self.thresholds)

    def near_duplicates(self, min_similarity: float = 0.9) -> list[tuple[str, str, float]]:
        """Pairs of entries whose questions score each other this close: customers' messages cannot pick one.

        Similarity of a pair: asking one entry's question (or an alternative), how the other scores.
        """
        best: dict[tuple[int, int], float] = {}
        for doc, entry in enumerate(self.entries):
            for text in (entry.question, *entry.alternatives):
                scores = self._scores(self._message_terms(tokenize(text), self._hint))
                own = scores[doc][0] if doc in scores else 0.0
                if own <= 0:
                    continue
                floor = min_similarity * own  # most entries share a word or two: skip them early
                for other, (score, _) in scores.items():
                    if score < floor or other == doc:
                        continue
                    similarity = min(score / own, 1.0)
                    pair = (min(doc, other), max(doc, other))
                    best[pair] = max(best.get(pair, 0.0), similarity)
        close = sorted(
            ((round(similarity, 3), a, b) for (a, b), similarity in best.items() if similarity >= min_similarity),
            key=lambda item: (-item[0], item[1], item[2]),
        )
        return [(self.entries[a].id, self.entries[b].id, similarity) for similarity, a, b in close]

    def resolve_choice(self, text: str, offered: Sequence[str]) -> KbEntry | None:
        """The entry a customer picked from a clarifying question: "2", "друге", "second", or the question."""
        entries = [self._by_id[entry_id] for entry_id in offered if entry_id in self._by_id]
        if not entries:
            return None
        number = _choice_number(text)
        if number is not None:
            return entries[number - 1] if 1 <= number <= len(entries) else None
        ranked = [c for c in self.rank(text) if c.entry.id in {e.id for e in entries}]
        if not ranked or ranked[0].score < self.thresholds.clarify_min_score:
            return None
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        if ranked[0].score - runner_up < self.thresholds.answer_min_margin / 2:
            return None
        return ranked[0].entry

    # --- scoring -------------------------------------------------------------------------------

    def _terms(self, text: str, hint: str | None = None) -> list[Term]:
        return tokens_terms(tokenize(text), hint or self._hint)

    def _ranked(self, text: str, language: Language, limit: int | None = _RERANKED) -> list[Candidate]:
        hint = language.value if language is not Language.EN else self._hint
        tokens = strip_greetings(tokenize(text))
        scores = self._scores(self._message_terms(tokens, hint))
        if not scores:
            return []
        best = heapq.nlargest(_RERANKED, scores, key=lambda doc: scores[doc][0])
        spelling: dict[int, float] = {}
        if self._grams:
            scores, spelling = self._with_spelling(tokens, scores, best)
            best.sort(key=lambda doc: -scores[doc][0])
        if limit is None or limit > len(best):
            rest = sorted((doc for doc in scores if doc not in set(best)), key=lambda doc: -scores[doc][0])
            best = (best + rest)[:limit]
        return [
            Candidate(
                self.entries[doc],
                round(scores[doc][0], 4),
                round(scores[doc][1], 4),
                spelling.get(doc, 0.0) if self._grams else None,
            )
            for doc in best[:limit]
        ]

    def _message_terms(self, tokens: list[str], hint: str) -> list[Term]:
        merged: dict[str, Term] = {}
        for term in tokens_terms(tokens, hint):
            known = merged.get(term.key)
            if known is None or term.weight > known.weight:
                merged[term.key] = term
        return list(merged.values())

    def _scores(self, terms: list[Term]) -> dict[int, tuple[float, float]]:
        """Entry → (score, message coverage) for every entry with any evidence."""
        w = self.weights
        total_weight = 0.0
        message_cover: dict[int, float] = {}
        substantive: set[int] = set()  # entries matched on more than question words and numbers
        key_strength: dict[str, float] = {}
        for term in terms:
            expansions = self._expand(term)
            if expansions:
                best_key = max(expansions, key=lambda item: item[1])[0]
                weight = term.weight * self._idf[best_key]
            else:
                weight = term.weight * self._idf_unknown * w.unknown_word
                if term.pos and term.pos != "NOUN":
                    weight *= w.unknown_non_noun
            total_weight += weight
            term_best: dict[int, float] = {}
            for key, strength in expansions:
                if strength > key_strength.get(key, 0.0):
                    key_strength[key] = strength
                for posting in self._postings.get(key, ()):
                    if strength > term_best.get(posting.doc, 0.0):
                        term_best[posting.doc] = strength
                answer_strength = strength * w.answer_evidence
                for doc in self._answer_postings.get(key, ()):
                    if answer_strength > term_best.get(doc, 0.0):
                        term_best[doc] = answer_strength
            for doc, strength in term_best.items():
                message_cover[doc] = message_cover.get(doc, 0.0) + weight * strength
            if term.weight > WEAK_WEIGHT:
                substantive.update(term_best)
        if total_weight <= 0:
            return {}
        phrasing_cover: dict[tuple[int, int], float] = {}
        for key, strength in key_strength.items():
            for posting in self._postings.get(key, ()):
                slot = (posting.doc, posting.phrasing)
                phrasing_cover[slot] = phrasing_cover.get(slot, 0.0) + posting.weight * strength
        entry_cover: dict[int, float] = {}
        for (doc, _), cover in phrasing_cover.items():
            if cover > entry_cover.get(doc, 0.0):
                entry_cover[doc] = cover
        mix = w.message_coverage
        out = {}
        for doc, cover in message_cover.items():
            message = min(1.0, cover / total_weight)
            entry = entry_cover.get(doc, 0.0)
            score = min(1.0, mix * message + (1 - mix) * entry)
            if doc not in substantive:  # "скільки буде 2+2" shares only "how much" with "скільки коштує..."
                score, message = score * _WEAK_ONLY, message * _WEAK_ONLY
            out[doc] = (score, message)
        return out

    def _gram_vector(self, grams: dict[str, int]) -> dict[str, float]:
        vector = {gram: count * self._gram_idf.get(gram, 0.0) for gram, count in grams.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {gram: v / norm for gram, v in vector.items()}

    def _with_spelling(
        self, tokens: list[str], scores: dict[int, tuple[float, float]], best: list[int]
    ) -> tuple[dict[int, tuple[float, float]], dict[int, float]]:
        """Blend in the character-trigram similarity of the best candidates' phrasings (derivations, spelling).

        Only `best` are re-scored; the others' scores shrink alike, so they stay behind. Also returns
        the similarities: a second, independent view of which entry the customer wrote about.
        """
        share = self.weights.char_ngrams
        query = self._gram_vector(_char_grams(_content_words(tokens)))
        out = {doc: ((1 - share) * score, cover) for doc, (score, cover) in scores.items()}
        similarities: dict[int, float] = {}
        for doc in best:
            similarity = max(
                (sum(weight * vector.get(gram, 0.0) for gram, weight in query.items()) for vector in self._grams[doc]),
                default=0.0,
            )
            similarities[doc] = round(similarity, 4)
            score, cover = out[doc]
            out[doc] = (score + share * similarity, cover)
        return out, similarities

    def _expand(self, term: Term) -> tuple[tuple[str, float], ...]:
        """The KB's own terms this message term may mean, with the strength of each reading."""
        cache_key = (term.key, term.alts)  # a term's translations follow from its key
        cached = self._expansions.get(cache_key)
        if cached is not None:
            return cached
        found: dict[str, float] = {}
        if term.key in self._idf:
            found[term.key] = 1.0
        if not term.is_concept:
            for translation in term.translations:
                if translation in self._idf and translation not in found:
                    found[translation] = self.weights.translation_match
            for alt in term.alts:
                if alt in self._idf and alt not in found:
                    found[alt] = 0.9
            for form in (term.key, *term.alts[:1]):
                for key, strength in self._stem_matches(form):
                    found[key] = max(found.get(key, 0.0), strength)
            if self._by_root:
                for key, strength in self._root_matches(term.key):
                    if key not in found:
                        found[key] = strength
            if not found and len(term.key) >= 4:
                # A typo is an edit or two, not a different word of similar letters ("подоит" is not "повидомит").
                edits = 1 if len(term.key) <= _SHORT_WORD else 2
                for key, _, _ in process.extract(
                    term.key, self._vocabulary, scorer=Levenshtein.distance, score_cutoff=edits, limit=3
                ):
                    found[key] = self.weights.typo_match * fuzz.ratio(term.key, key) / 100
        result = tuple(found.items())
        if len(self._expansions) < 50_000:
            self._expansions[cache_key] = result
        return result

    def _stem_matches(self, form: str) -> list[tuple[str, float]]:
        if len(form) < _STEM:
            return []
        matches = []
        for key in self._by_stem.get(form[:_STEM], ()):
            if key == form:
                continue
            common = _common_prefix(key, form)
            shorter = min(len(key), len(form))
            if common >= max(_STEM, 0.7 * shorter):
                matches.append((key, self.weights.stem_match * (0.5 + 0.5 * common / max(len(key), len(form)))))
        return matches

    def _root_matches(self, form: str) -> list[tuple[str, float]]:
        roots = _roots(form)
        matches = []
        for root in roots:
            for key in self._by_root.get(root[:_STEM], ()):
                if key == form or key.startswith(form[:_STEM]):
                    continue
                for other in _roots(key):
                    common = _common_prefix(root, other)
                    if common >= max(_STEM + 1, 0.8 * min(len(root), len(other))):
                        matches.append((key, self.weights.prefix_match))
                        break
        return matches

    def _top(self, ranked: list[Candidate]) -> tuple[Candidate, ...]:
        shown = list(ranked[:_CANDIDATES_SHOWN])
        if len(shown) < min(3, len(self.entries)):
            present = {c.entry.id for c in shown}
            shown += [Candidate(e, 0.0, 0.0) for e in self.entries if e.id not in present][: 3 - len(shown)]
        return tuple(shown)


def clear_answer(decision: Decision, ranked: Sequence[Candidate]) -> bool:
    """An answer that explains most of the message, so a "thanks" around it does not make it small talk."""
    return decision is Decision.ANSWER and ranked[0].coverage >= _COURTESY_MIN_COVERAGE


def contested(ranked: Sequence[Candidate], spelling_lead: float = 0.0) -> bool:
    """The character view does not clearly back the leader: its wording is not `spelling_lead` closer than the next.

    With 0 the views must disagree outright (the runner-up spelled closer). A positive lead also counts
    a near tie: the words pick one entry but the letters cannot tell. On the bench (leave-one-KB-out)
    that took wrong answers from 16 to 12 for 2 fewer right ones out of 279.
    """
    if len(ranked) < 2 or ranked[0].spelling is None or ranked[1].spelling is None:
        return False
    return ranked[0].spelling - ranked[1].spelling < spelling_lead


def decide(ranked: Sequence[Candidate], t: MatchThresholds) -> tuple[Decision, tuple[KbEntry, ...]]:
    """Answer, clarify or escalate from ranked candidates (best first), by the thresholds.

    The lead needed to answer grows by `answer_contested_margin` unless the character view of the
    message clearly prefers the leader too (`answer_spelling_lead`): two independent signals agreeing
    is what makes an answer safe.
    """
    if not ranked or ranked[0].score < t.clarify_min_score:
        return Decision.ESCALATE, ()
    top = ranked[0].score
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    margin = t.answer_min_margin + (t.answer_contested_margin if contested(ranked, t.answer_spelling_lead) else 0.0)
    if top >= t.answer_min_score and top - runner_up >= margin and ranked[0].coverage >= t.answer_min_coverage:
        return Decision.ANSWER, (ranked[0].entry,)
    close = [c.entry for c in ranked[: t.clarify_max_choices] if c.score >= top - t.clarify_window]
    if len(close) < 2:
        close = [c.entry for c in ranked[:2]]
    if len(close) < 2:
        return Decision.ESCALATE, ()
    return Decision.CLARIFY, tuple(close)


_LANGUAGE_OF_HINT = {"ru": Language.RU, "uk": Language.UK}
_ORDINALS = {
    1: "1 один одна перший перша перше первый первая первое first one",
    2: "2 два дві другий друга друге второй вторая второе second two",
    3: "3 три третій третя третє третий третья третье third three",
}
_ORDINAL_WORDS = {fold_letters(word): number for number, words in _ORDINALS.items() for word in word_list(words)}
_LAST_WORDS = frozenset(
    fold_letters(w) for w in word_list("последний последняя последнее останній остання останнє last")
)
_NUMBER = re.compile(r"^\D*(\d)\D*$")


def _choice_number(text: str) -> int | None:
    """1-based number of the option a short reply names, or None ("2", "№2", "второй", "the second one")."""
    tokens = tokenize(text)
    if not tokens or len(tokens) > 4:
        return None
    digits = _NUMBER.match(text.strip())
    if digits:
        return int(digits.group(1))
    for token in tokens:
        folded = fold_letters(token)
        if folded in _ORDINAL_WORDS:
            return _ORDINAL_WORDS[folded]
        if folded in _LAST_WORDS:
            return 3
    return None


def _content_words(tokens: list[str]) -> list[str]:
    """Letter skeletons of the words that carry topic (Latin chat transliteration read back)."""
    translit = transliterated(tokens)
    words = []
    for token in tokens:
        if translit and is_latin(token):
            token = transliterate(token)
        folded = fold_letters(token)
        if folded not in STOP_WORDS and not token.isdigit():
            words.append(folded)
    return words


def _char_grams(words: list[str]) -> dict[str, int]:
    grams: dict[str, int] = {}
    for word in words:
        padded = f" {word} "
        for i in range(len(padded) - 2):
            gram = padded[i : i + 3]
            grams[gram] = grams.get(gram, 0) + 1
    return grams


def _idf(df: float, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


# Russian and Ukrainian verbal prefixes (folded letters: "від" → "вид", "під" → "пид"), longest first.
_VERB_PREFIXES = (
    "пере", "пред", "при", "про", "под", "пид", "над", "раз", "роз", "вид",
    "по", "за", "об", "от", "ви", "на", "до", "из", "вз",
)  # fmt: skip


def _roots(key: str) -> list[str]:
    """The word's root under each verbal prefix it may carry (folded letters), itself included."""
    return [key] + [key[len(p) :] for p in _VERB_PREFIXES if key.startswith(p) and len(key) - len(p) >= _STEM + 1]


def _common_prefix(a: str, b: str) -> int:
    size = min(len(a), len(b))
    i = 0
    while i < size and a[i] == b[i]:
        i += 1
    return i


def _kb_language(entries: Sequence[KbEntry]) -> str:
    """The KB's main language ("ru"/"uk"): the dictionary tie-breaker for words both spell alike."""
    sample = " ".join(entry.question for entry in entries[:200])
    return "ru" if detect_language(sample, default=Language.UK) is Language.RU else "uk"
