"""Managers: escalation notifications in the Telegram admin chat, and the chat's Resume button."""
