"""`callback_data` of the inline buttons faqbot sends: the one place that encodes and decodes it.

Telegram allows 1-64 bytes. "Resume bot" carries `r:<contact_id>` when that fits; a longer
contact id is left out (`r:`) and the contact is found from the message the button belongs to
(`NotificationThreads`), so the button works for any contact id.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CALLBACK_DATA_BYTES = 64
RESUME = "r"


@dataclass(frozen=True)
class CallbackAction:
    action: str
    contact_id: str | None  # None: look it up from the message


def resume_callback_data(contact_id: str) -> str:
    data = f"{RESUME}:{contact_id}"
    if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
        return f"{RESUME}:"
    return data


def parse_callback_data(data: str | None) -> CallbackAction | None:
    """The action a pressed button asks for; None for data faqbot did not produce."""
    if not data:
        return None
    action, separator, contact_id = data.partition(":")
    if action != RESUME or not separator:
        return None
    return CallbackAction(action=RESUME, contact_id=contact_id or None)
