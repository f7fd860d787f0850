"""Telegram Bot API: the client, the notification message, webhook updates (one place for the wire format)."""
