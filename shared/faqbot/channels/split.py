"""Splitting a long answer into messages that fit a channel, at the most natural boundary available."""

from __future__ import annotations

import re

# A sentence ends at . ! ? … (optionally followed by closing quotes/brackets) and whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»)\]]*\s+")


def split_text(text: str, limit: int) -> list[str]:
    """`text` as parts of at most `limit` characters: by paragraph, line, sentence, word, then hard cut.

    Parts are packed greedily (several short paragraphs share one message); nothing is lost but whitespace
    at the cut points.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    if not text:
        return []
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        pieces.extend(_fit(paragraph.strip(), limit))
    return _pack(pieces, limit, joiner="\n\n")


def _fit(paragraph: str, limit: int) -> list[str]:
    """A paragraph as pieces no longer than `limit`, breaking at lines, then sentences, then words."""
    if len(paragraph) <= limit:
        return [paragraph] if paragraph else []
    lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
    if len(lines) > 1:
        return _pack([p for line in lines for p in _fit(line, limit)], limit, joiner="\n")
    sentences = [s for s in _SENTENCE_END.split(paragraph) if s.strip()]
    if len(sentences) > 1:
        return _pack([p for s in sentences for p in _fit(s.strip(), limit)], limit, joiner=" ")
    words = paragraph.split(" ")
    if len(words) > 1:
        return _pack([p for w in words if w for p in _hard_cut(w, limit)], limit, joiner=" ")
    return _hard_cut(paragraph, limit)


def _hard_cut(word: str, limit: int) -> list[str]:
    return [word[i : i + limit] for i in range(0, len(word), limit)]


def _pack(pieces: list[str], limit: int, *, joiner: str) -> list[str]:
    parts: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            if current:
                parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return parts
