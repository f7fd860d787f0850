"""Conversations: contacts, their transcript and state (store), and handling one inbound message (service)."""
