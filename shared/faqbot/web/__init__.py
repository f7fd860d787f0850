"""The website channel: the chat widget, its endpoints' domain, rate limits and manager replies."""
