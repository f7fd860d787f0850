"""Versioned knowledge bases in the KB table, switched live by one conditional write.

Layout (table `KbTable`, keys `pk`/`sk`):

- `pk=bot#<id>, sk=kb#counter`: `last_version`, the per-bot version counter (atomic ADD).
- `pk=bot#<id>, sk=kb#version#<0000000007>`: one version's metadata, `status` `writing` → `ready`.
- `pk=kb#<id>#v7, sk=<000001>`: the entries of version 7, in sheet order (one Query loads them).
- `pk=bot#<id>, sk=kb#active`: the live pointer: `version`, and `newest_version`, the highest
  version ever activated by an upload.

Why this is safe: an upload writes all its entries under a fresh version number first, and only
then moves the pointer with one conditional write (a two-item transaction: the pointer put, plus a
check that the version is still stored and `ready`) that succeeds only if no newer upload has gone
live (`newest_version < mine`). A crash or a bad file leaves the pointer untouched; a slower, older
upload racing a newer one loses and cleans up after itself. Rollback moves the pointer only if it
is still where it was read (optimistic), and keeps `newest_version`, so an old in-flight upload
cannot slip in after a rollback either.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel

from faqbot.kb.models import KbEntry

COUNTER_SK = "kb#counter"
ACTIVE_SK = "kb#active"
VERSION_SK_PREFIX = "kb#version#"
# Pointer switches tried when a concurrent upload's transaction conflicts (DynamoDB cancels both, unevaluated).
_SWITCH_ATTEMPTS = 4


class KbStoreError(Exception):
    """Base of the store's own errors."""


class Superseded(KbStoreError):
    """A newer upload went live first; this version was not activated."""

    def __init__(self, bot_id: str, version: int, live_version: int | None) -> None:
        super().__init__(f"bot {bot_id}: version {version} superseded by version {live_version}")
        self.version = version
        self.live_version = live_version


class UnknownVersion(KbStoreError, LookupError):
    """The requested version does not exist (any more) or was never completed."""


class ConcurrentChange(KbStoreError):
    """The live version changed between reading and switching it; retry."""


class KbVersion(BaseModel):
    """One stored version of a bot's KB."""

    bot_id: str
    version: int
    status: Literal["writing", "ready"]
    created_at: datetime
    entry_count: int = 0
    source: str = ""
    report_key: str | None = None
    warnings: int = 0
    upload_id: str | None = None


class ActiveKb(BaseModel):
    """The live version of a bot's KB, as the webhook needs it to pick (and cache) a matcher."""

    bot_id: str
    version: int
    activated_at: datetime
    entry_count: int
    source: str = ""
    report_key: str | None = None
    warnings: int = 0
    newest_version: int = 0
    previous_version: int | None = None


def bot_pk(bot_id: str) -> str:
    return f"bot#{bot_id}"


def entries_pk(bot_id: str, version: int) -> str:
    return f"kb#{bot_id}#v{version}"


def version_sk(version: int) -> str:
    return f"{VERSION_SK_PREFIX}{version:010d}"


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class KnowledgeBaseStore:
    """Reads and writes KB versions of every bot in one DynamoDB table (the `KbTable` resource)."""

    def __init__(self, table: Any, *, versions_kept: int = 5) -> None:
        self._table = table
        self._versions_kept = versions_kept

    # --- reading (the webhook's path) ----------------------------------------------------------

    def active(self, bot_id: str, *, consistent: bool = False) -> ActiveKb | None:
        """The live version's pointer, or None when the bot has no KB yet (one GetItem)."""
        item = self._table.get_item(Key={"pk": bot_pk(bot_id), "sk": ACTIVE_SK}, ConsistentRead=consistent).get("Item")
        return _active_from_item(bot_id, item) if item else None

    def load_entries(self, bot_id: str, version: int) -> list[KbEntry]:
        """All entries of one version, in sheet order (one strongly consistent Query, paginated)."""
        return [KbEntry.model_validate_json(item["data"]) for item in self._query_entries(bot_id, version)]

    def versions(self, bot_id: str) -> list[KbVersion]:
        """Stored versions, newest first."""
        items = self._query_all(
            KeyConditionExpression=Key("pk").eq(bot_pk(bot_id)) & Key("sk").begins_with(VERSION_SK_PREFIX),
            ScanIndexForward=False,
            ConsistentRead=True,
        )
        return [_version_from_item(bot_id, item) for item in items]

    # --- writing (ingest) ----------------------------------------------------------------------

    def publish(
        self,
        bot_id: str,
        entries: Sequence[KbEntry],
        *,
        source: str,
        report_key: str | None = None,
        warnings: int = 0,
        upload_id: str | None = None,
        versions_kept: int | None = None,
    ) -> ActiveKb:
        """Store `entries` as a new version and make it live; `Superseded` if a newer upload won the race."""
        version = self.allocate_version(bot_id)
        try:
            self.write_version(
                bot_id, version, entries, source=source, report_key=report_key, warnings=warnings, upload_id=upload_id
            )
            active = self.activate(bot_id, version)
        except BaseException:
            self.delete_version(bot_id, version)  # a failed or beaten upload leaves nothing behind
            raise
        self.prune(bot_id, keep=self._versions_kept if versions_kept is None else versions_kept)
        return active

    def allocate_version(self, bot_id: str) -> int:
        """A version number no other upload of this bot will ever get (atomic counter)."""
        response = self._table.update_item(
            Key={"pk": bot_pk(bot_id), "sk": COUNTER_SK},
            UpdateExpression="ADD last_version :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["last_version"])

    def write_version(
        self,
        bot_id: str,
        version: int,
        entries: Sequence[KbEntry],
        *,
        source: str,
        report_key: str | None = None,
        warnings: int = 0,
        upload_id: str | None = None,
    ) -> KbVersion:
        """Write a version's entries; it is marked `ready` only once every entry is stored."""
        meta = KbVersion(
            bot_id=bot_id,
            version=version,
            status="writing",
            created_at=datetime.now(UTC),
            entry_count=len(entries),
            source=source,
            report_key=report_key,
            warnings=warnings,
            upload_id=upload_id,
        )
        self._table.put_item(Item=_version_item(meta))
        pk = entries_pk(bot_id, version)
        with self._table.batch_writer() as batch:
            for ordinal, entry in enumerate(entries):
                batch.put_item(
                    Item={"pk": pk, "sk": f"{ordinal:06d}", "entry_id": entry.id, "data": entry.model_dump_json()}
                )
        try:
            self._table.update_item(
                Key={"pk": bot_pk(bot_id), "sk": version_sk(version)},
                UpdateExpression="SET #status = :ready",
                ConditionExpression="attribute_exists(pk)",  # pruned meanwhile: a newer upload is live
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":ready": "ready"},
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                current = self.active(bot_id, consistent=True)
                raise Superseded(bot_id, version, current.version if current else None) from exc
            raise
        return meta.model_copy(update={"status": "ready"})

    def activate(self, bot_id: str, version: int) -> ActiveKb:
        """Switch the live pointer to `version` in one conditional write, unless a newer upload is live."""
        meta = self._version(bot_id, version)
        previous = self.active(bot_id, consistent=True)
        if meta is None or meta.status != "ready":
            if previous is not None and previous.newest_version >= version:
                raise Superseded(bot_id, version, previous.version)
            raise UnknownVersion(f"bot {bot_id}: version {version} is not stored or not complete")
        active = _pointer(meta, newest_version=version, previous_version=previous.version if previous else None)
        switched = self._switch(
            active,
            condition="attribute_not_exists(pk) OR newest_version < :version",
            values={":version": version},
        )
        if switched == "pointer":
            current = self.active(bot_id, consistent=True)
            raise Superseded(bot_id, version, current.version if current else None)
        if switched == "version":
            # Pruned meanwhile: a newer upload went live and tidied up the older versions, ours included.
            current = self.active(bot_id, consistent=True)
            if current is not None and current.newest_version > version:
                raise Superseded(bot_id, version, current.version)
            raise UnknownVersion(f"bot {bot_id}: version {version} was deleted while activating")
        return active

    def rollback(self, bot_id: str, to_version: int | None = None) -> ActiveKb:
        """Make an older (or, with `to_version`, any kept) version live again.

        Without `to_version`: the newest ready version older than the live one.
        """
        current = self.active(bot_id, consistent=True)
        if current is None:
            raise UnknownVersion(f"bot {bot_id} has no live knowledge base to roll back")
        ready = {v.version: v for v in self.versions(bot_id) if v.status == "ready"}
        if to_version is None:
            older = [v for v in ready if v < current.version]
            if not older:
                raise UnknownVersion(f"bot {bot_id}: no older version is kept (live: {current.version})")
            to_version = max(older)
        target = ready.get(to_version)
        if target is None:
            kept = ", ".join(str(v) for v in sorted(ready)) or "none"
            raise UnknownVersion(f"bot {bot_id}: version {to_version} is not kept (kept: {kept})")
        active = _pointer(target, newest_version=current.newest_version, previous_version=current.version)
        switched = self._switch(
            active,
            condition="#version = :seen AND newest_version = :newest",
            values={":seen": current.version, ":newest": current.newest_version},
            names={"#version": "version"},
        )
        if switched == "pointer":
            raise ConcurrentChange(f"bot {bot_id}: the live knowledge base changed meanwhile; retry")
        if switched == "version":
            raise UnknownVersion(f"bot {bot_id}: version {to_version} was deleted meanwhile")
        return active

    def _switch(
        self,
        active: ActiveKb,
        *,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> Literal["ok", "pointer", "version"]:
        """Put the pointer under `condition`, atomically with a check that its version is still stored.

        Returns which condition failed, if any: "pointer" (the live version moved) or "version" (pruned).
        """
        # The resource's client serialises plain Python values itself (as `Table` methods do).
        put: dict[str, Any] = {
            "TableName": self._table.name,
            "Item": _active_item(active),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            put["ExpressionAttributeNames"] = names
        check = {
            "TableName": self._table.name,
            "Key": {"pk": bot_pk(active.bot_id), "sk": version_sk(active.version)},
            "ConditionExpression": "#status = :ready",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":ready": "ready"},
        }
        for attempt in range(_SWITCH_ATTEMPTS):
            try:
                self._table.meta.client.transact_write_items(TransactItems=[{"ConditionCheck": check}, {"Put": put}])
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return "version"
                if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                    return "pointer"
                if "TransactionConflict" in reasons and attempt + 1 < _SWITCH_ATTEMPTS:
                    # Another upload's transaction held the same items: the conditions were not even evaluated.
                    time.sleep(0.05 * 2**attempt)
                    continue
                raise
            return "ok"
        raise AssertionError("unreachable")

    def prune(self, bot_id: str, *, keep: int) -> list[int]:
        """Delete versions beyond the live one and `keep` others; returns the deleted version numbers.

        Versions newer than anything activated may be an upload in progress, so they are left alone;
        an unfinished version older than that can never go live (its upload crashed or was beaten).
        """
        current = self.active(bot_id, consistent=True)
        if current is None:
            return []
        live, newest = current.version, current.newest_version
        others = [v for v in self.versions(bot_id) if v.version != live and v.version <= newest]
        ready_kept = {v.version for v in others if v.status == "ready"}
        ready_kept = set(sorted(ready_kept, reverse=True)[: max(keep, 0)])
        doomed = [v.version for v in others if v.version not in ready_kept]
        for version in doomed:
            self.delete_version(bot_id, version)
        return doomed

    def delete_version(self, bot_id: str, version: int) -> None:
        """Remove a version's metadata first (so nobody can activate it), then its entries."""
        self._table.delete_item(Key={"pk": bot_pk(bot_id), "sk": version_sk(version)})
        pk = entries_pk(bot_id, version)
        keys = self._query_all(
            KeyConditionExpression=Key("pk").eq(pk),
            ProjectionExpression="pk, sk",
            ConsistentRead=True,
        )
        with self._table.batch_writer() as batch:
            for item in keys:
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    # --- helpers ------------------------------------------------------------------------------

    def _version(self, bot_id: str, version: int) -> KbVersion | None:
        item = self._table.get_item(Key={"pk": bot_pk(bot_id), "sk": version_sk(version)}, ConsistentRead=True).get(
            "Item"
        )
        return _version_from_item(bot_id, item) if item else None

    def _query_entries(self, bot_id: str, version: int) -> Iterator[dict[str, Any]]:
        return self._query_all(KeyConditionExpression=Key("pk").eq(entries_pk(bot_id, version)), ConsistentRead=True)

    def _query_all(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = self._table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _version_item(meta: KbVersion) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": bot_pk(meta.bot_id),
        "sk": version_sk(meta.version),
        "version": meta.version,
        "status": meta.status,
        "created_at": meta.created_at.isoformat(),
        "entry_count": meta.entry_count,
        "source": meta.source,
        "warnings": meta.warnings,
    }
    if meta.report_key:
        item["report_key"] = meta.report_key
    if meta.upload_id:
        item["upload_id"] = meta.upload_id
    return item


def _version_from_item(bot_id: str, item: dict[str, Any]) -> KbVersion:
    return KbVersion(
        bot_id=bot_id,
        version=int(item["version"]),
        status=item["status"],
        created_at=datetime.fromisoformat(item["created_at"]),
        entry_count=int(item.get("entry_count", 0)),
        source=item.get("source", ""),
        report_key=item.get("report_key"),
        warnings=int(item.get("warnings", 0)),
        upload_id=item.get("upload_id"),
    )


def _pointer(meta: KbVersion, *, newest_version: int, previous_version: int | None) -> ActiveKb:
    return ActiveKb(
        bot_id=meta.bot_id,
        version=meta.version,
        activated_at=datetime.now(UTC),
        entry_count=meta.entry_count,
        source=meta.source,
        report_key=meta.report_key,
        warnings=meta.warnings,
        newest_version=newest_version,
        previous_version=previous_version,
    )


def _active_item(active: ActiveKb) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": bot_pk(active.bot_id),
        "sk": ACTIVE_SK,
        "version": active.version,
        "newest_version": active.newest_version,
        "activated_at": active.activated_at.isoformat(),
        "entry_count": active.entry_count,
        "source": active.source,
        "warnings": active.warnings,
    }
    if active.report_key:
        item["report_key"] = active.report_key
    if active.previous_version is not None:
        item["previous_version"] = active.previous_version
    return item


def _active_from_item(bot_id: str, item: dict[str, Any]) -> ActiveKb:
    previous = item.get("previous_version")
    return ActiveKb(
        bot_id=bot_id,
        version=int(item["version"]),
        activated_at=datetime.fromisoformat(item["activated_at"]),
        entry_count=int(item.get("entry_count", 0)),
        source=item.get("source", ""),
        report_key=item.get("report_key"),
        warnings=int(item.get("warnings", 0)),
        newest_version=int(item.get("newest_version", item["version"])),
        previous_version=int(previous) if previous is not None else None,
    )
