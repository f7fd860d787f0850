"""The client's playground (`/try/<token>`): try the bot exactly as customers get it, with no side effects."""
