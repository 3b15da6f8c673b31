"""Secrets: 256-bit random tokens (kiosk tokens, API keys, session tokens) with a recognisable prefix, shown once
and stored only as SHA-256 hashes.

With that much entropy a fast hash is safe (there is nothing to brute-force), and it lets a request be
authenticated by one indexed lookup. Passwords (argon2id, :mod:`server.auth.accounts`) and the kiosk PIN
(scrypt, :mod:`shared.pins`) are different: people choose them, so their hashes are slow on purpose.
"""

from __future__ import annotations

import hashlib
import secrets

KIOSK_TOKEN_PREFIX = "spk_"
API_KEY_PREFIX = "spa_"


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a token or API key, the only form stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    """A fresh 256-bit URL-safe secret with a recognisable prefix."""
    return prefix + secrets.token_urlsafe(32)
