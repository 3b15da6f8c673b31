"""Privacy of what customers type: personal data redacted from comments at ingest (:mod:`.redact`) and swear
words masked where comments are shown, for locations that ask for it (:mod:`.profanity`).

Raises nothing of its own: both are pure text functions.
"""
