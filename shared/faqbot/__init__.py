"""faqbot: a serverless virtual manager for small businesses (shared code of every function)."""

__version__ = "0.1.0"
