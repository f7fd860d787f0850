"""The customer's questions in a call transcript.

Spoken Russian and Ukrainian often reach us without a "?": the transcriber did not hear one, or the
person typing left it out. So a sentence is a question when it ends with "?", or starts with an
interrogative word (скільки, сколько, коли, где, чи, можно, how much...), holds the particle "ли",
or opens with a request ("подскажите", "хотіла б дізнатися", "скажите"). Without any punctuation at
all, a stretch of speech is cut where a new question visibly starts, and a question ends where the
answer visibly begins (an echo of its words, a run of "хорошо спасибо"). Hesitations and fillers (ну,
э-э, типа, короче, ось, значить...) and the greeting in front are dropped, so what is left reads
like a question for an FAQ sheet: "Ну... скажіть будь ласка, скільки коштує грумінг?" → "Скільки
коштує грумінг?". Only the customer's turns count when the speakers are known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faqbot.kb.intents import smalltalk_kind
from faqbot.kb.normalize import GREETING_TAILS, GREETING_WORDS, THANKS_WORDS, fold_letters
from faqbot.kb.terms import text_terms, word_term
from faqbot.mining.transcripts import Role, Transcript, agent_phrase_count

QUOTE_CHARS = 160


@dataclass(frozen=True)
class Question:
    """One question a customer asked, as it will appear in the draft."""

    text: str  # tidy phrasing: fillers and greetings dropped, capitalised, ending with "?"
    call: str  # the call it was asked in (file name without extension)
    quote: str  # the sentence as said (trimmed), for the "Examples" column
    source: str = ""  # the transcript's file name
    reply: str = ""  # what the agent said next, when the speakers are known (answers to one question look alike)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that open a question (after "а", "и", fillers): ru, uk, en.
_CUES = _words(
    "сколько скока скільки скіко скилько почем почому почём когда коли где де куда куди откуда звідки как як"
    " какой какая какое какие каких каким какую какого якій який яка яке які якого якою якими якому яких"
    " почему чому зачем навіщо нащо кто хто что що шо чем чим чей чий чья чия чьи чиї можно можна нельзя"
    " реально возможно можливо есть є надо нужно нужен нужна нужны треба потрібно потрібен потрібна потрібні"
    " обязательно обов'язково чи ли разве хіба неужели невже котором которой котрій котрої скольки"
    " what where when how which who why whom whose can could do does is are will would should may"
)
# Interrogative words strong enough to start a new question inside unpunctuated speech.
_SPLIT_CUES = _words("сколько скільки скіко когда коли где де почему чому можно можна подскажите підкажіть чи")
# Requests that introduce a question ("подскажите, ...", "хотела узнать ..."), longest first.
_REQUESTS = (
    "скажите пожалуйста",
    "скажіть будь ласка",
    "подскажите пожалуйста",
    "підкажіть будь ласка",
    "не подскажете",
    "не підкажете",
    "не скажете",
    "подскажите",
    "підкажіть",
    "скажите",
    "скажіть",
    "я хотел бы узнать",
    "я хотела бы узнать",
    "хотел бы узнать",
    "хотела бы узнать",
    "я хотел узнать",
    "я хотела узнать",
    "хотел узнать",
    "хотела узнать",
    "хочу узнать",
    "я хотів дізнатися",
    "я хотіла дізнатися",
    "я хотіла б дізнатися",
    "я хотів би дізнатися",
    "хотіла б дізнатися",
    "хотіла б дізнатись",
    "хотів би дізнатися",
    "хотів би дізнатись",
    "хотіла дізнатися",
    "хотіла дізнатись",
    "хотів дізнатися",
    "хотів дізнатись",
    "хочу дізнатися",
    "хочу дізнатись",
    "хотел спросить",
    "хотела спросить",
    "хочу спросить",
    "хотів спитати",
    "хотіла спитати",
    "хотіла запитати",
    "хотів запитати",
    "хочу спитати",
    "хотел уточнить",
    "хотела уточнить",
    "хочу уточнить",
    "хотів уточнити",
    "хотіла уточнити",
    "хочу уточнити",
    "уточните",
    "уточніть",
    "интересует",
    "цікавить",
    "интересно",
    "цікаво",
    "можно узнать",
    "можна дізнатися",
    "можна дізнатись",
    "i would like to know",
    "i'd like to know",
    "i wanted to ask",
    "i want to ask",
    "can you tell me",
    "could you tell me",
    "tell me",
)
# Hesitations and filler words, dropped wherever they stand; multi-word ones first.
_FILLERS = (
    "значит так",
    "значить так",
    "так сказать",
    "как бы",
    "в общем",
    "в общем-то",
    "загалом",
    "это самое",
    "це саме",
    "ну вот",
    "ну от",
    "такой вопрос",
    "такое дело",
    "такой момент",
    "такий момент",
    "таке питання",
    "у меня вопрос",
    "у мене питання",
    "у меня такой вопрос",
    "у мене таке питання",
    "you know",
    "ну",
    "ну-у",
    "э",
    "ээ",
    "эээ",
    "э-э",
    "э-э-э",
    "е-е",
    "е-е-е",
    "ее",
    "еее",
    "эм",
    "эмм",
    "ем",
    "мм",
    "ммм",
    "м-м",
    "хм",
    "а-а",
    "а-а-а",
    "угу",
    "типа",
    "короче",
    "коротше",
    "значит",
    "значить",
    "вот",
    "ось",
    "слушайте",
    "слухайте",
    "блин",
    "uh",
    "um",
    "umm",
    "er",
    "erm",
    "hmm",
)
_FILLER_RE = re.compile(
    r"(?<![\w'’-])(?:"
    + "|".join(re.escape(f) for f in sorted(_FILLERS, key=len, reverse=True))
    + r")(?![\w'’-])[,.…]*",
    re.IGNORECASE,
)
# Openers dropped from the front of a question: greetings, forms of address, "and"/"also".
_OPENERS = (
    _words(
        "алло ало алё але девушка девушки дівчино дівчина молодой молодий человек чоловіче извините вибачте"
        " пожалуйста будь ласка а и і й ещё еще ще також также тоже теж так ага да ок окей тогда тоді"
        " and so also ok okay"
    )
    | GREETING_WORDS
    | GREETING_TAILS
)
_PARTICLE_LI = "ли"
_SECOND_PERSON = _words("вы ви вас вам ваш ваша ваше ваши ваші you your")
_TOKEN = re.compile(r"[\w'’-]+")


def split_sentences(text: str) -> list[str]:
    """Sentences of one turn; unpunctuated speech is also cut where a new question starts."""
    text = re.sub(r"\.{2,}|…", " ", text)  # an ellipsis is a hesitation, not the end of a sentence
    parts = [p.strip() for p in re.split(r"(?<=[.?!])\s+", text) if p.strip()]
    sentences: list[str] = []
    for part in parts:
        if part[-1] in ".?!" or len(_TOKEN.findall(part)) <= 12:
            sentences.append(part)
        else:
            sentences.extend(_split_unpunctuated(part))
    return sentences


def _split_unpunctuated(text: str) -> list[str]:
    """Cut a run of speech before "а"/"ну"/"и ещё" and before strong interrogative words, then cut each piece
    where the question visibly ends (`_question_end`)."""
    tokens = text.split()
    pieces: list[list[str]] = [[]]
    for index, token in enumerate(tokens):
        word = token.casefold().strip(",;:")
        nxt = tokens[index + 1].casefold().strip(",;:") if index + 1 < len(tokens) else ""
        starts = word in ("а", "ну") or (word in ("и", "і") and nxt in ("ещё", "еще", "ще")) or word in _SPLIT_CUES
        if starts and pieces[-1] and not (pieces[-1][-1].casefold() in ("а", "ну", "и", "і") and word in _SPLIT_CUES):
            pieces.append([])
        pieces[-1].append(token)
    out: list[str] = []
    for piece in pieces:
        while piece:
            end = _question_end(piece)
            out.append(" ".join(piece[:end]))
            piece = piece[end:]
    return out


def _question_end(tokens: list[str]) -> int:
    """Where the question in front of an unpunctuated piece ends: the tokens it keeps (all when nothing shows).

    Without speakers or punctuation the agent's answer and the customer's next words run on. Two things
    show where the answer starts: a word that echoes one the question already used, in any form
    ("сколько часов примерно | часа два"): answers repeat the thing asked about, questions do not; and
    a run of acknowledgements ("хорошо спасибо", "понятно дякую") or one that closes the piece, which
    follows an answer. The first word of a piece never ends it.
    """
    words = [token.casefold().strip(",;:.!") for token in tokens]
    folded = [fold_letters(word) for word in words]
    seen: set[str] = set()
    for index, word in enumerate(words):
        run_starts = index > 0 and folded[index] in THANKS_WORDS and folded[index - 1] not in THANKS_WORDS
        if run_starts and (index + 1 == len(folded) or folded[index + 1] in THANKS_WORDS):
            return index
        term = word_term(word) if word.isalpha() else None
        if term is None:
            continue
        if index > 1 and term.key in seen and folded[index - 1] != folded[index]:
            return index
        seen.add(term.key)
    return len(tokens)


def remove_fillers(text: str) -> str:
    """Drop hesitations and filler words, and a word repeated straight after itself ("я я хотел")."""
    text = _FILLER_RE.sub(" ", text)
    text = re.sub(r"(?<![\w'’-])([\w'’-]+)(\s+\1)+(?![\w'’-])", r"\1", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+([,.?!])", r"\1", text)
    text = re.sub(r"([,.?!])(?:\s*,)+", r"\1", text)
    text = re.sub(r"^[\s,.;:!-]+", "", text)
    return " ".join(text.split())


def _lead_tokens(text: str) -> list[str]:
    """Lower-case words without the leading fillers, greetings and "а"/"и"."""
    tokens = [t.casefold().replace("ё", "е").replace("’", "'") for t in _TOKEN.findall(remove_fillers(text))]
    while tokens and (tokens[0] in _OPENERS or fold_letters(tokens[0]) in _OPENERS):
        tokens = tokens[1:]
    return tokens


def _starts_with_request(tokens: list[str]) -> int:
    """Number of tokens of the request opening the sentence ("подскажите пожалуйста" → 2), or 0."""
    joined = " ".join(tokens)
    for request in _REQUESTS:
        if joined == request or joined.startswith(request + " "):
            return len(request.split())
    return 0


def looks_like_question(sentence: str) -> bool:
    """A question by its "?", its first word, the particle "ли", a request, or (unpunctuated) a cue inside."""
    tokens = _lead_tokens(sentence)
    if not tokens:
        return False
    stripped = sentence.rstrip()
    if stripped.endswith("?"):
        return True
    if tokens[0] in _CUES or _PARTICLE_LI in tokens[1:]:
        return True
    request = _starts_with_request(tokens)
    if request and len(tokens) > request:
        return True
    opens_with_a = bool(re.match(r"^\W*(?:а|і|и)\b", remove_fillers(sentence).casefold()))
    if opens_with_a and any(t in _SECOND_PERSON for t in tokens[:4]):
        return True
    if stripped[-1:] in (".", "!"):
        return False
    # Unpunctuated speech: a cue anywhere, or "а ... есть" ("а скидки какие-то есть").
    if any(t in _SPLIT_CUES for t in tokens):
        return True
    return opens_with_a and any(t in ("есть", "є") for t in tokens[:5])


def tidy_question(sentence: str) -> str:
    """The sentence as an FAQ question: no fillers, greeting or request in front, capitalised, with "?"."""
    text = remove_fillers(sentence)
    while text:
        words = list(_TOKEN.finditer(text))
        if not words:
            return ""
        first = words[0].group().casefold().replace("ё", "е").replace("’", "'")
        if (first in _OPENERS or fold_letters(first) in _OPENERS) and len(words) > 1:
            text = text[words[1].start() :]
            continue
        # "Скажите, пожалуйста, сколько..." / "хотела узнать какая цена": the request is not the question.
        request = _starts_with_request([w.group().casefold().replace("’", "'") for w in words])
        if request and len(words) > request:
            after = text[words[request - 1].end() :]
            next_word = words[request].group().casefold()
            if after.lstrip().startswith(",") or next_word in _CUES or next_word in _OPENERS:
                text = text[words[request].start() :]
                continue
        break
    text = re.sub(r"[.!,;:\s-]+$", "", text.strip())
    if not text or not _TOKEN.search(text):
        return ""
    if not text.endswith("?"):
        text += "?"
    return text[0].upper() + text[1:]


def _customer_utterances(transcript: Transcript) -> tuple[list[tuple[str, str]], bool]:
    """The customer's turns with the agent's reply (speakers known), else everything said, with no reply
    (and the caller must be careful)."""
    utterances = transcript.utterances
    customer = [
        (u.text, utterances[i + 1].text if i + 1 < len(utterances) and utterances[i + 1].role is Role.AGENT else "")
        for i, u in enumerate(utterances)
        if u.role is Role.CUSTOMER
    ]
    if customer:
        return customer, True
    unknown = [(u.text, "") for u in utterances if u.role is Role.UNKNOWN]
    return unknown, False


def extract_questions(transcript: Transcript) -> list[Question]:
    """The customer's questions in one call, in the order asked."""
    turns, known = _customer_utterances(transcript)
    questions: list[Question] = []
    for turn, reply in turns:
        for sentence in split_sentences(turn):
            if not looks_like_question(sentence):
                continue
            if not known and agent_phrase_count(sentence):
                continue  # "Чем могу помочь?": the agent's, in a transcript without speakers
            text = tidy_question(sentence)
            if not text or not text_terms(text) or smalltalk_kind(text) is not None:
                continue
            questions.append(
                Question(
                    text=text, call=transcript.call, quote=_quote(sentence), source=transcript.source, reply=reply
                )
            )
    return questions


def _quote(sentence: str) -> str:
    text = " ".join(sentence.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"
