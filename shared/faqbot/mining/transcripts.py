"""Call transcripts in the formats clients have: plain text, Amazon Transcribe JSON, SRT and VTT subtitles.

Every format becomes a `Transcript`: the call's utterances in order, each with the speaker's role
when it can be told. Roles come from labels people write ("Клиент:", "Менеджер:", "Client:",
`<v Оператор>`); when the labels are neutral ("spk_0", "Спікер 1", "Speaker 2") or absent (one
line per turn), the customer is the side that asks and the agent the side that greets with the
business's name and offers help. Nothing here judges what is a question (see `questions`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

TRANSCRIPT_SUFFIXES = (".txt", ".json", ".srt", ".vtt")
AUDIO_SUFFIXES = (".mp3", ".wav", ".m4a", ".ogg", ".oga", ".flac", ".amr", ".webm", ".mp4")


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Utterance:
    """One turn of the call (or, with no speakers at all, one stretch of text)."""

    text: str
    role: Role = Role.UNKNOWN
    speaker: str | None = None  # the label as written: "Клиент", "spk_0", "Спікер 1"
    start: float | None = None  # seconds from the start of the recording, when known


@dataclass(frozen=True)
class Transcript:
    call: str  # the file name without extension: how reports and `--groups` name the call
    source: str  # the file name
    utterances: tuple[Utterance, ...]
    language: str | None = None  # as Transcribe identified it ("uk-UA"), when known

    @property
    def speakers_known(self) -> bool:
        return any(u.role is not Role.UNKNOWN for u in self.utterances)


class UnreadableTranscript(ValueError):
    """The file is not a transcript in a format we read; the message says what was expected."""


def call_name(filename: str) -> str:
    """`transcripts/bot/call007.json` → `call007`."""
    return PurePosixPath(filename).stem


def is_transcript_file(filename: str) -> bool:
    return PurePosixPath(filename).suffix.casefold() in TRANSCRIPT_SUFFIXES


def is_audio_file(filename: str) -> bool:
    return PurePosixPath(filename).suffix.casefold() in AUDIO_SUFFIXES


def parse_transcript(data: bytes | str, filename: str) -> Transcript:
    """The transcript in `data`, read by the file's suffix (a `.txt` holding SRT/VTT/JSON is recognised too)."""
    text = _decode(data) if isinstance(data, bytes) else data
    suffix = PurePosixPath(filename).suffix.casefold()
    stripped = text.lstrip("\ufeff \t\r\n")
    call = call_name(filename)
    name = PurePosixPath(filename).name
    if suffix == ".json" or (suffix not in (".srt", ".vtt") and stripped.startswith("{")):
        return _finish(parse_transcribe_json(text, call, name))
    if suffix == ".vtt" or stripped.startswith("WEBVTT"):
        return _finish(parse_vtt(text, call, name))
    if suffix == ".srt" or _SRT_TIMING.search(text[:2000]):
        return _finish(parse_srt(text, call, name))
    if suffix in (".txt", ""):
        return _finish(parse_text(text, call, name))
    raise UnreadableTranscript(f"{name}: expected .txt, .json (Amazon Transcribe), .srt or .vtt")


def load_transcripts(directory: Path) -> list[Transcript]:
    """Every transcript file under `directory` (recursively), in name order; unreadable files are skipped."""
    transcripts = []
    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file() and is_transcript_file(p.name)):
        try:
            transcripts.append(parse_transcript(path.read_bytes(), path.name))
        except UnreadableTranscript:
            continue
    return transcripts


# --- plain text --------------------------------------------------------------------------------

# Role words people put before a colon; "Клиент 2", "Менеджер Олена" and "[00:12] Клієнт:" work too.
_CUSTOMER_LABELS = frozenset(
    [
        "клиент",
        "клієнт",
        "client",
        "customer",
        "caller",
        "покупатель",
        "покупець",
        "абонент",
        "звонящий",
        "звонящая",
        "дзвонить",
        "пациент",
        "пацієнт",
        "гость",
        "гість",
        "user",
        "користувач",
        "пользователь",
        "заказчик",
        "замовник",
        "к",
    ]
)
_AGENT_LABELS = frozenset(
    [
        "менеджер",
        "manager",
        "оператор",
        "operator",
        "agent",
        "агент",
        "консультант",
        "consultant",
        "администратор",
        "адміністратор",
        "адмін",
        "админ",
        "admin",
        "продавец",
        "продавець",
        "салон",
        "магазин",
        "компания",
        "компанія",
        "сотрудник",
        "співробітник",
        "support",
        "поддержка",
        "підтримка",
        "мастер",
        "майстер",
        "ресепшн",
        "reception",
        "receptionist",
        "бот",
        "bot",
        "м",
    ]
)
# Neutral labels: a speaker, but no role ("Speaker 1", "Спікер 2", "spk_0", "Говорящий 1", "A", "B").
_NEUTRAL_LABEL = re.compile(
    r"^(?:speaker|спикер|спікер|говорящий|говорящая|мовець|голос|voice|участник|учасник|spk|ch)[\s_-]*\d+$"
    r"|^[a-zа-яіїєґ]$|^spk_\d+$",
)
# A word before a colon that no role word names is a speaker when it opens this many lines ...
RECURRING_LABEL_MIN = 2
RECURRING_LABEL_CHARS = 20
RECURRING_LABEL_SHARE = 0.6  # ... and the speaker labels then open this share of the lines
_TIMESTAMP = r"(?:\[?\(?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\]?\)?\s*)"
# "Клиент: текст", "[00:01:02] Менеджер Олена — текст", "Speaker 1: текст"
_LABELLED_LINE = re.compile(rf"^\s*{_TIMESTAMP}?(?P<label>[^\W\d_][\w .'’()-]{{0,30}}?)\s*[:—–]\s*(?P<text>.*)$")


def _label_role(label: str) -> Role | None:
    """The role a label names, or None when the label is not a speaker label at all."""
    words = re.findall(r"[^\W\d_]+", label.casefold())
    if not words:
        return None
    if any(word in _CUSTOMER_LABELS for word in words):
        return Role.CUSTOMER
    if any(word in _AGENT_LABELS for word in words):
        return Role.AGENT
    if _NEUTRAL_LABEL.match(" ".join(label.casefold().split())):
        return Role.UNKNOWN
    return None


def parse_text(text: str, call: str, source: str = "") -> Transcript:
    """Lines with optional speaker labels; unlabelled lines continue the previous speaker's turn.

    With no labels at all, every non-empty line is taken as a turn of its own (the usual layout of a
    hand-typed or exported dialogue); the roles are then inferred from what each side says.
    """
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    speakers = _recurring_labels(lines)
    parsed: list[tuple[str | None, Role | None, str]] = []
    for line in lines:
        match = _LABELLED_LINE.match(line)
        role = _label_role(match.group("label")) if match else None
        if match and role is None and _label_key(match.group("label")) in speakers:
            role = Role.UNKNOWN  # "Приёмщик:", "Ирина:": a speaker whose role the words said will tell
        if match and role is not None:
            parsed.append((match.group("label").strip(), role, match.group("text").strip()))
        else:
            parsed.append((None, None, _strip_dialogue_dash(line)))
    labelled = sum(1 for label, _, _ in parsed if label is not None)
    utterances: list[Utterance] = []
    if labelled and labelled >= len(parsed) / 3:
        for label, role, line_text in parsed:
            if label is None and utterances:
                last = utterances[-1]
                utterances[-1] = replace(last, text=f"{last.text} {line_text}".strip())
            else:
                utterances.append(Utterance(line_text, role or Role.UNKNOWN, label))
    else:
        # No (or too few) labels: one turn per line, speakers told apart by alternation.
        utterances = [Utterance(line_text, Role.UNKNOWN, None) for _, _, line_text in parsed]
        if len(utterances) >= 4:
            utterances = [replace(u, speaker="A" if i % 2 == 0 else "B") for i, u in enumerate(utterances)]
    return Transcript(call=call, source=source or f"{call}.txt", utterances=tuple(u for u in utterances if u.text))


def _recurring_labels(lines: Sequence[str]) -> set[str]:
    """Labels no role word names ("Приёмщик:", "Ирина:"), taken as speakers when they open several lines and,
    with the labels we know, open most of them: a writer's own name for a side, not a word before a colon."""
    counts: dict[str, int] = {}
    known = 0
    for line in lines:
        match = _LABELLED_LINE.match(line)
        if not match:
            continue
        if _label_role(match.group("label")) is not None:
            known += 1
        elif len(key := _label_key(match.group("label"))) <= RECURRING_LABEL_CHARS and " " not in key.strip():
            counts[key] = counts.get(key, 0) + 1
    recurring = {key for key, count in counts.items() if count >= RECURRING_LABEL_MIN}
    covered = known + sum(counts[key] for key in recurring)
    return recurring if recurring and covered >= RECURRING_LABEL_SHARE * len(lines) else set()


def _label_key(label: str) -> str:
    return " ".join(label.casefold().split())


def _strip_dialogue_dash(line: str) -> str:
    """ "- Добрий день" / "— Добрий день": a dialogue dash, not a minus (and never a formula)."""
    return re.sub(r"^[-—–]\s+", "", line).strip()


# --- subtitles ---------------------------------------------------------------------------------

_SRT_TIMING = re.compile(r"(\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{1,3}\s*-->\s*(\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{1,3}")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>", re.IGNORECASE)
_TAG = re.compile(r"</?[^>]+>")


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


def _cue_utterances(cues: Iterable[tuple[float | None, list[str]]]) -> tuple[list[Utterance], bool]:
    """Subtitle cues → turns, and whether the cues mark turns with dialogue dashes ("- Добрий день").

    A line naming its speaker (`<v Клиент>`, "Клиент: ...") or opening with a dash starts a turn; a
    plain line continues the current turn when a speaker is known, else each cue is a stretch of speech.
    """
    utterances: list[Utterance] = []
    dashes = False
    for start, cue_lines in cues:
        for index, raw in enumerate(cue_lines):
            voice = _VOICE.search(raw)
            label = voice.group(1).strip() if voice else None
            line = _TAG.sub("", raw).strip()
            if label is None:
                match = _LABELLED_LINE.match(line)
                if match and _label_role(match.group("label")) is not None:
                    label, line = match.group("label").strip(), match.group("text").strip()
            dash = bool(re.match(r"^[-—–]\s", line))
            dashes = dashes or dash
            line = _strip_dialogue_dash(line)
            if not line:
                continue
            continues = utterances and not dash and (utterances[-1].speaker is not None or index > 0)
            if label is None and continues:
                last = utterances[-1]
                utterances[-1] = replace(last, text=f"{last.text} {line}")
                continue
            role = (_label_role(label) if label else None) or Role.UNKNOWN
            utterances.append(Utterance(line, role, label, start))
    return _merge_same_speaker(utterances), dashes


def parse_srt(text: str, call: str, source: str = "") -> Transcript:
    """SubRip: numbered cues, `00:00:01,000 --> 00:00:04,000`, text lines, a blank line."""
    cues: list[tuple[float | None, list[str]]] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip()):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        timing_index = next((i for i, line in enumerate(lines) if _SRT_TIMING.search(line)), None)
        if timing_index is None:
            continue
        start = _seconds(lines[timing_index].split("-->")[0].strip())
        cues.append((start, lines[timing_index + 1 :]))
    if not cues:
        raise UnreadableTranscript(f"{source or call}: no SRT cues (`00:00:01,000 --> 00:00:04,000`) found")
    return _subtitles(cues, call, source or f"{call}.srt")


def parse_vtt(text: str, call: str, source: str = "") -> Transcript:
    """WebVTT: a `WEBVTT` header, cues with `00:01.000 --> 00:04.000` timings, `<v Speaker>` voice tags."""
    cues: list[tuple[float | None, list[str]]] = []
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip())
    for block in blocks:
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not lines or lines[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        timing_index = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing_index is None:
            continue
        start = _seconds(lines[timing_index].split("-->")[0].strip().split()[0])
        cues.append((start, lines[timing_index + 1 :]))
    if not cues:
        raise UnreadableTranscript(f"{source or call}: no WebVTT cues found")
    return _subtitles(cues, call, source or f"{call}.vtt")


def _subtitles(cues: list[tuple[float | None, list[str]]], call: str, source: str) -> Transcript:
    utterances, dashes = _cue_utterances(cues)
    if dashes and all(u.speaker is None for u in utterances):
        # Dialogue dashes alternate the two sides turn by turn: name them so roles can be inferred.
        utterances = [replace(u, speaker="A" if i % 2 == 0 else "B") for i, u in enumerate(utterances)]
    return Transcript(call=call, source=source, utterances=tuple(utterances))


# --- Amazon Transcribe -------------------------------------------------------------------------


def parse_transcribe_json(text: str, call: str, source: str = "") -> Transcript:
    """Amazon Transcribe's batch output: `results.transcripts`, `results.items`, and the speakers in
    `results.speaker_labels.segments` (older output) or `results.audio_segments` (newer output), or
    `speaker_label` on the items themselves.
    """
    name = source or f"{call}.json"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableTranscript(f"{name}: not JSON ({exc.msg})") from exc
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, dict):
        raise UnreadableTranscript(f"{name}: not Amazon Transcribe output (no `results`)")
    language = results.get("language_code") or doc.get("language_code")
    items = [item for item in results.get("items") or [] if isinstance(item, dict)]
    utterances = _utterances_from_audio_segments(results, items)
    if utterances is None and items:
        utterances = _utterances_from_items(items, results.get("speaker_labels") or {})
    if utterances is None:
        transcripts = results.get("transcripts") or []
        whole = " ".join(str(t.get("transcript", "")) for t in transcripts if isinstance(t, dict)).strip()
        if not whole:
            raise UnreadableTranscript(f"{name}: the Transcribe output holds no transcript text")
        utterances = [Utterance(whole)]
    return Transcript(call=call, source=name, utterances=tuple(u for u in utterances if u.text), language=language)


def _content(item: dict[str, Any]) -> str:
    alternatives = item.get("alternatives") or [{}]
    return str(alternatives[0].get("content", ""))


def _join_words(items: Sequence[dict[str, Any]]) -> str:
    """Transcribe items → text: words separated by spaces, punctuation glued to the word before."""
    out = ""
    for item in items:
        content = _content(item)
        if not content:
            continue
        if item.get("type") == "punctuation":
            out += content
        else:
            out += (" " if out else "") + content
    return out.strip()


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _utterances_from_audio_segments(results: dict[str, Any], items: list[dict[str, Any]]) -> list[Utterance] | None:
    segments = [s for s in results.get("audio_segments") or [] if isinstance(s, dict)]
    if not segments:
        return None
    by_id = {item.get("id"): item for item in items}
    utterances = []
    for segment in segments:
        text = str(segment.get("transcript") or "").strip()
        if not text and segment.get("items"):
            text = _join_words([by_id[i] for i in segment["items"] if i in by_id])
        label = segment.get("speaker_label")
        utterances.append(
            Utterance(text, Role.UNKNOWN, str(label) if label else None, _float(segment.get("start_time")))
        )
    return _merge_same_speaker(utterances)


def _utterances_from_items(items: list[dict[str, Any]], speaker_labels: dict[str, Any]) -> list[Utterance] | None:
    """Words grouped by speaker: from the items' own `speaker_label`, else from the older segments' times."""
    speaker_at: dict[str, str] = {}
    for segment in speaker_labels.get("segments") or []:
        for word in segment.get("items") or []:
            if word.get("start_time") is not None:
                speaker_at[str(word["start_time"])] = str(word.get("speaker_label") or segment.get("speaker_label"))
    if not speaker_at and not any(item.get("speaker_label") for item in items):
        return None
    utterances: list[Utterance] = []
    current: list[dict[str, Any]] = []
    current_label: str | None = None
    start: float | None = None
    for item in items:
        label = item.get("speaker_label") or speaker_at.get(str(item.get("start_time")))
        if item.get("type") == "punctuation" or label is None:
            current.append(item)
            continue
        if label != current_label and current:
            utterances.append(Utterance(_join_words(current), Role.UNKNOWN, current_label, start))
            current = []
        if not current:
            start = _float(item.get("start_time"))
        current_label = str(label)
        current.append(item)
    if current:
        utterances.append(Utterance(_join_words(current), Role.UNKNOWN, current_label, start))
    return utterances


def _merge_same_speaker(utterances: list[Utterance]) -> list[Utterance]:
    merged: list[Utterance] = []
    for utterance in utterances:
        if merged and utterance.speaker is not None and merged[-1].speaker == utterance.speaker:
            merged[-1] = replace(merged[-1], text=f"{merged[-1].text} {utterance.text}".strip())
        else:
            merged.append(utterance)
    return merged


# --- roles -------------------------------------------------------------------------------------

# What the agent says and a caller does not: the business's greeting and offers of help.
_AGENT_PHRASES = (
    "чем могу помочь",
    "чим можу допомогти",
    "чим можу бути корисн",
    "чем могу быть полезн",
    "слушаю вас",
    "слухаю вас",
    "how can i help",
    "how may i help",
    "что-то еще",
    "что-нибудь еще",
    "щось іще",
    "щось ще",
    "anything else",
    "ждем вас",
    "ждём вас",
    "чекаємо на вас",
    "записала",
    "записав",
    "записал",
    "записала вас",
    "гривен",
    "гривень",
    "грн",
)


def agent_phrase_count(text: str) -> int:
    folded = text.casefold().replace("ё", "е")
    return sum(1 for phrase in _AGENT_PHRASES if phrase.replace("ё", "е") in folded)


def _finish(transcript: Transcript) -> Transcript:
    """Give neutral speakers their roles: with labels like "Клиент" it is already done."""
    utterances = transcript.utterances
    if not utterances:
        return transcript
    labels = [u.speaker for u in utterances if u.speaker is not None and u.role is Role.UNKNOWN]
    if not labels:
        return transcript
    known = {u.role for u in utterances if u.role is not Role.UNKNOWN}
    if known == {Role.AGENT}:
        # "Менеджер:" and one unnamed other side: the other side is the customer.
        return _assign(transcript, dict.fromkeys(labels, Role.CUSTOMER))
    if known == {Role.CUSTOMER}:
        return _assign(transcript, dict.fromkeys(labels, Role.AGENT))
    speakers = list(dict.fromkeys(labels))
    if len(speakers) < 2:
        return transcript
    customer = max(speakers, key=lambda speaker: (_customer_score(utterances, speaker), -speakers.index(speaker)))
    return _assign(transcript, {s: Role.CUSTOMER if s == customer else Role.AGENT for s in speakers})


def _customer_score(utterances: Sequence[Utterance], speaker: str) -> float:
    """Questions asked, minus the agent's phrases, minus a little for opening the call (agents pick up)."""
    from faqbot.mining.questions import looks_like_question

    own = [u for u in utterances if u.speaker == speaker]
    questions = sum(1 for u in own for sentence in _sentences(u.text) if looks_like_question(sentence))
    agent = sum(agent_phrase_count(u.text) for u in own)
    opens = 1 if utterances[0].speaker == speaker else 0
    return questions - 2.0 * agent - 0.5 * opens


def _sentences(text: str) -> list[str]:
    from faqbot.mining.questions import split_sentences

    return split_sentences(text)


def _assign(transcript: Transcript, roles: dict[str, Role]) -> Transcript:
    utterances = tuple(
        replace(u, role=roles.get(u.speaker, u.role)) if u.speaker is not None and u.role is Role.UNKNOWN else u
        for u in transcript.utterances
    )
    return replace(transcript, utterances=utterances)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        return text
    return data.decode("cp1251", errors="replace")
