"""Which contact a notification in the admin chat is about: Telegram message id → contact id.

Kept in the conversations table (it expires with the transcripts), one item per notification:

    pk = tgmsg#<bot_id>#<chat_id>   sk = <message_id>   contact_id, event_id, expires_at

The Resume button finds its contact here when the id did not fit in `callback_data`, and a
manager's Telegram reply to a notification finds the customer it answers (the website channel).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from faqbot.conversation.store import DEFAULT_RETENTION_DAYS


def thread_pk(bot_id: str, chat_id: int) -> str:
    return f"tgmsg#{bot_id}#{chat_id}"


class NotificationThreads:
    """Takes the boto3 `Table` of the conversations table."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def remember(
        self,
        bot_id: str,
        chat_id: int,
        message_id: int,
        contact_id: str,
        *,
        event_id: str | None = None,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        now = datetime.now(UTC)
        item: dict[str, Any] = {
            "pk": thread_pk(bot_id, chat_id),
            "sk": str(message_id),
            "contact_id": contact_id,
            "created_at": now.isoformat(),
            "expires_at": int((now + timedelta(days=retention_days)).timestamp()),
        }
        if event_id:
            item["event_id"] = event_id
        self._table.put_item(Item=item)

    def contact_for(self, bot_id: str, chat_id: int, message_id: int) -> str | None:
        item = self._table.get_item(Key={"pk": thread_pk(bot_id, chat_id), "sk": str(message_id)}).get("Item")
        if not item or int(item.get("expires_at", 0)) <= int(datetime.now(UTC).timestamp()):
            return None
        contact_id = item.get("contact_id")
        return str(contact_id) if contact_id else None
