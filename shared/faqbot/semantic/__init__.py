"""The optional semantic tier (issue 7): Amazon Bedrock embeddings and a constrained judge, per bot.

- `bedrock`: the bedrock-runtime calls (Titan / Cohere embeddings, Converse) with hard timeouts;
- `vectors`: what is embedded for an entry, its text hash, and the vectors stored in the KB table;
- `ingest`: kb_ingest's step that embeds a new KB version, reusing the vectors of unchanged texts;
- `scorer`: lexical and cosine scores combined into one ranking and decision;
- `judge`: a small model picks one offered candidate, "none" or "human" — never writes text;
- `budget`, `metrics`: the per-bot monthly call budget, calls and estimated cost as metrics;
- `tier`: the matcher wrapper the webhook uses; Bedrock only when the matcher is unsure.

The bot only ever sends the client's own answers: every path ends in a KB entry, a clarifying
choice of KB entries, or a handoff.
"""
