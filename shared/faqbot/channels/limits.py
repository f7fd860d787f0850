"""What each messenger allows in one bot message: the one table renderers and splitting read.

The per-message text lengths are the knowledge base's `CHANNEL_TEXT_LIMITS` (ingest warns about answers
that will not fit), so both sides agree; the rest is what ManyChat's Dynamic Block allows per channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from faqbot.config import Channel
from faqbot.kb.validation import CHANNEL_TEXT_LIMITS

# Dynamic Block v2 limits (whole response).
MANYCHAT_MAX_MESSAGES = 10
MANYCHAT_MAX_QUICK_REPLIES = 11
MANYCHAT_MAX_ACTIONS = 5

_TEXT_LIMIT_NAMES = {
    Channel.INSTAGRAM: "Instagram",
    Channel.MESSENGER: "Messenger",
    Channel.WHATSAPP: "WhatsApp",
    Channel.TELEGRAM: "Telegram",
    Channel.VIBER: "Viber",
}
# Unknown or undocumented channels get the tightest limit, so a message always fits.
_FALLBACK_TEXT_CHARS = min(CHANNEL_TEXT_LIMITS.values())


@dataclass(frozen=True)
class ChannelLimits:
    text_chars: int
    quick_replies: bool  # ManyChat quick replies: Messenger and Instagram only
    caption_chars: int = 20  # quick reply / button captions
    max_buttons: int = 3


def limits_for(channel: Channel) -> ChannelLimits:
    name = _TEXT_LIMIT_NAMES.get(channel)
    text_chars = CHANNEL_TEXT_LIMITS.get(name, _FALLBACK_TEXT_CHARS) if name else _FALLBACK_TEXT_CHARS
    return ChannelLimits(text_chars=text_chars, quick_replies=channel in (Channel.MESSENGER, Channel.INSTAGRAM))
