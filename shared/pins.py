"""Kiosk admin PINs: salted PBKDF2 hashes, made by the server and checked offline by the kiosk.

Format: ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``. Pure (hashlib, hmac, secrets); no I/O.
Raises ValueError for a malformed PIN or hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ITERATIONS = 200_000
_ALGORITHM = "pbkdf2_sha256"


def hash_pin(pin: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The stored form of a 4-12 digit PIN. Raises ValueError if ``pin`` is not 4-12 digits."""
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise ValueError("a PIN is 4 to 12 digits")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"{_ALGORITHM}${iterations}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches ``stored`` (constant-time). Raises ValueError for a malformed ``stored``."""
    try:
        algorithm, iterations, salt, expected = stored.split("$")
        rounds, salt_bytes, expected_bytes = int(iterations), bytes.fromhex(salt), bytes.fromhex(expected)
    except ValueError as exc:
        raise ValueError("malformed PIN hash") from exc
    if algorithm != _ALGORITHM:
        raise ValueError(f"unknown PIN hash algorithm {algorithm!r}")
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt_bytes, rounds)
    return hmac.compare_digest(digest, expected_bytes)
