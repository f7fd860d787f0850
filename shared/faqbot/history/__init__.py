"""Signed, expiring links to pages about one bot: a contact's transcript (history) and the playground."""
