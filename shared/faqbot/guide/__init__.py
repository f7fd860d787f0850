"""The client guide (`faqbot bots guide`): how to try, update, stop and restart one bot, in the client's language."""
