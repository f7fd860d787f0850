"""Messaging platforms: parse their webhook bodies into `InboundMessage`, render a `BotReply` back in their format."""
