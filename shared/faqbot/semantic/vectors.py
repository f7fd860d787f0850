"""What is embedded for a KB entry, and where its vector lives.

An entry is embedded as one text: its question, its alternatives and the first characters of its
answer. Vectors are stored in the KB table by the hash of that text (and of the model and size), so
a re-upload with unchanged rows reuses them and every KB version finds its vectors without copying:

- `pk=emb#<bot_id>, sk=<hash>`: `vector` (float32 little-endian, binary), `model_id`, `dimensions`,
  `tokens` (what embedding it cost), `created_at`.

kb_ingest writes the vectors of a new version BEFORE it goes live (so the webhook never loads a live
version without them) and deletes those no kept version uses any more.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from boto3.dynamodb.conditions import Key

from faqbot.config import SemanticSettings
from faqbot.kb.models import KbEntry

Vector = tuple[float, ...]


def embedding_pk(bot_id: str) -> str:
    return f"emb#{bot_id}"


def entry_text(entry: KbEntry, answer_prefix_chars: int) -> str:
    """The text embedded for `entry`: what customers ask (question, alternatives) and what it is about."""
    lines = [entry.question, *entry.alternatives]
    answer = " ".join(entry.answer.split())[:answer_prefix_chars]
    if answer:
        lines.append(answer)
    return "\n".join(line for line in lines if line.strip())


def text_hash(text: str, settings: SemanticSettings) -> str:
    """Same text, model and size → same hash → the stored vector is reused."""
    key = f"{settings.embedding_model_id}\x1f{settings.embedding_dimensions}\x1f{text}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def entry_hashes(entries: Iterable[KbEntry], settings: SemanticSettings) -> dict[str, str]:
    """Entry id → the hash of its embedded text."""
    return {entry.id: text_hash(entry_text(entry, settings.answer_prefix_chars), settings) for entry in entries}


def pack(vector: Vector) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def unpack(data: Any) -> Vector:
    raw = bytes(getattr(data, "value", data))  # boto3 returns a `Binary` wrapper
    return struct.unpack(f"<{len(raw) // 4}f", raw)


@dataclass(frozen=True)
class StoredVector:
    vector: Vector
    tokens: int = 0


class VectorStore(Protocol):
    """Where a bot's entry vectors are kept (the KB table in production, a dict in `faqbot eval`)."""

    def load(self, bot_id: str) -> dict[str, Vector]: ...

    def hashes(self, bot_id: str) -> set[str]: ...

    def put_many(self, bot_id: str, vectors: Mapping[str, StoredVector], settings: SemanticSettings) -> None: ...

    def delete(self, bot_id: str, hashes: Iterable[str]) -> None: ...


class EmbeddingStore:
    """Entry vectors of every bot in the KB table (`pk=emb#<bot_id>`), keyed by text hash."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def load(self, bot_id: str) -> dict[str, Vector]:
        """Every stored vector of the bot (one paginated Query; a 200-entry KB at 512 dimensions is ~400 KB)."""
        return {item["sk"]: unpack(item["vector"]) for item in self._query(bot_id, with_vectors=True)}

    def hashes(self, bot_id: str) -> set[str]:
        return {item["sk"] for item in self._query(bot_id, with_vectors=False)}

    def put_many(self, bot_id: str, vectors: Mapping[str, StoredVector], settings: SemanticSettings) -> None:
        now = datetime.now(UTC).isoformat()
        with self._table.batch_writer() as batch:
            for digest, stored in vectors.items():
                batch.put_item(
                    Item={
                        "pk": embedding_pk(bot_id),
                        "sk": digest,
                        "vector": pack(stored.vector),
                        "model_id": settings.embedding_model_id,
                        "dimensions": len(stored.vector),
                        "tokens": stored.tokens,
                        "created_at": now,
                    }
                )

    def delete(self, bot_id: str, hashes: Iterable[str]) -> None:
        with self._table.batch_writer() as batch:
            for digest in hashes:
                batch.delete_item(Key={"pk": embedding_pk(bot_id), "sk": digest})

    def _query(self, bot_id: str, *, with_vectors: bool) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(embedding_pk(bot_id))}
        if not with_vectors:
            kwargs["ProjectionExpression"] = "sk"
        while True:
            page = self._table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class InMemoryVectorStore:
    """Vectors of one process (`faqbot eval --semantic`: nothing is written to AWS)."""

    def __init__(self) -> None:
        self._by_bot: dict[str, dict[str, Vector]] = {}

    def load(self, bot_id: str) -> dict[str, Vector]:
        return dict(self._by_bot.get(bot_id, {}))

    def hashes(self, bot_id: str) -> set[str]:
        return set(self._by_bot.get(bot_id, {}))

    def put_many(self, bot_id: str, vectors: Mapping[str, StoredVector], settings: SemanticSettings) -> None:
        self._by_bot.setdefault(bot_id, {}).update({digest: stored.vector for digest, stored in vectors.items()})

    def delete(self, bot_id: str, hashes: Iterable[str]) -> None:
        stored = self._by_bot.get(bot_id, {})
        for digest in hashes:
            stored.pop(digest, None)
