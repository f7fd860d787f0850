"""FAQ mining: from call transcripts (and the bot's own unanswered messages) to a draft FAQ sheet.

transcripts → customer questions → groups by meaning (the matcher's normalisation) → a ranked
XLSX the client fills in with answers and uploads as the bot's knowledge base.
"""
