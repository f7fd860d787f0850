"""Lead data: the customer's phone and e-mail, from the platform's fields or from what they wrote.

Phones are normalised to E.164 with `phonenumbers` (Ukrainian numbers may be written nationally:
067-123-45-67, 0671234567, (067) 123 45 67), so the CRM receives one spelling of one number.
`phonenumbers` is imported on first use: its metadata is a noticeable part of the webhook's cold start,
and most messages carry no phone. A warm container loads it in the background (`warm_up`), so the first
message with a number in it does not wait ~20 ms for the import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from faqbot.config import BotConfig
from faqbot.conversation.store import Contact

DEFAULT_REGION = "UA"
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,24}(?![\w-])")
# What a contact field name in `CrmSettings.required_fields` may be.
LEAD_FIELDS = ("name", "phone", "email", "username")


def normalize_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """A phone as the platform or customer wrote it → E.164 (`+380671234567`), or None if it is not a valid number."""
    if not raw:
        return None
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def find_phone(text: str, region: str = DEFAULT_REGION) -> str | None:
    """The first valid phone number written in a message, in E.164."""
    import phonenumbers

    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None


def warm_up() -> None:
    """Import `phonenumbers` and load the default region's metadata (the webhook runs this off the request path)."""
    find_phone("067 123 45 67")


def normalize_email(raw: str | None) -> str | None:
    if not raw:
        return None
    match = _EMAIL.fullmatch(raw.strip())
    return match.group(0).lower() if match else None


def find_email(text: str) -> str | None:
    match = _EMAIL.search(text)
    return match.group(0).lower() if match else None


def has_crm(bot: BotConfig) -> bool:
    return bot.crm.kommo is not None or bot.crm.webhook is not None


def missing_lead_fields(contact: Contact, required: Iterable[str]) -> list[str]:
    """The required fields the contact still lacks (unknown field names count as missing, so config typos show)."""
    return [field for field in required if field not in LEAD_FIELDS or not getattr(contact, field)]
