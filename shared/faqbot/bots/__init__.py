"""Client bots: their configuration and where it is stored."""
