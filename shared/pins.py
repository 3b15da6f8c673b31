"""Kiosk admin PINs: salted, memory-hard hashes made by the server and checked offline by the kiosk.

Formats (lowercase hex; fields separated by ``$``):

- ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``: what :func:`hash_pin` makes. scrypt (``hashlib.scrypt``,
  standard library, so kiosks need nothing extra) with n = 2**15, r = 8, p = 1: 128·r·n = 32 MiB of memory
  per guess, a 16-byte random salt and a 32-byte hash.
- ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``: the old format (PBKDF2-HMAC-SHA256, 200,000
  iterations). Still verified, so a PIN set before keeps working until it is changed; :func:`needs_update`
  says True for it, so the admin page can ask for a new PIN.

Cost (``python -m benchmarks.pin_hash`` measures it): one check takes ~70 ms on one core of the 2-core
development machine (a Raspberry Pi kiosk is several times slower, still under 0.5 s). New PINs are 6 to 12
digits, so trying every PIN of the shortest length costs 10**6 guesses × 0.07 s ≈ 70,000 s ≈ 19 hours on one
core (target: > 3,600 s); the old hash let 10**4 four-digit PINs × ~40-50 ms fall in 6-9 minutes. Each
guess needs its own 32 MiB, which limits how many a GPU can run at once.

What the hash protects: the PIN from anyone who sees the hash, which every kiosk token receives in
``GET /api/v1/kiosk/config`` and every kiosk keeps in its outbox/config cache (a stolen kiosk, a leaked
token). What it does not: a 6-digit PIN stays guessable offline, in core-hours (about 19; 8 digits take about
80 core-days), so a determined attacker with many cores finds it in hours or less. The PIN only guards the
kiosk's admin screen (sync now, re-pair, exit); rotate it (``smilepost location configure --pin``) when a
kiosk is stolen.

Parameters read from a stored hash are bounded (n ≤ 2**16, r ≤ 16, p ≤ 4, 128·r·n·p ≤ 64 MiB, PBKDF2
iterations ≤ 1,000,000) and ``maxmem`` is passed, so a hostile config cannot make a kiosk allocate gigabytes
or hash for minutes. Pure (hashlib, hmac, re, secrets); no I/O. Raises ValueError for a malformed PIN or hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

MIN_DIGITS = 6
MAX_DIGITS = 12
# scrypt parameters of new hashes: 128 * R * N = 32 MiB and ~70 ms per check on the development machine.
N = 2**15
R = 8
P = 1
SALT_BYTES = 16
HASH_BYTES = 32
# The most a stored hash may ask of a kiosk: memory and work at most twice the defaults'.
MAX_N = 2**16
MAX_R = 16
MAX_P = 4
MAX_SCRYPT_BYTES = 64 * 2**20  # 128 * r * n * p: memory (p = 1) and, with p, the work of one check
MAX_PBKDF2_ITERATIONS = 1_000_000

_SCRYPT = re.compile(r"scrypt\$(\d{1,10})\$(\d{1,3})\$(\d{1,3})\$([0-9a-f]{16,128})\$([0-9a-f]{64})")
_PBKDF2 = re.compile(r"pbkdf2_sha256\$(\d{1,7})\$([0-9a-f]{16,128})\$([0-9a-f]{64})")


@dataclass(frozen=True)
class _Scrypt:
    n: int
    r: int
    p: int
    salt: bytes
    expected: bytes


@dataclass(frozen=True)
class _Pbkdf2:
    iterations: int
    salt: bytes
    expected: bytes


def hash_pin(pin: str, *, salt: bytes | None = None, n: int = N, r: int = R, p: int = P) -> str:
    """The stored form (``scrypt$…``) of a 6-12 digit PIN.

    Smaller ``n``/``r``/``p`` are for fast tests only (:func:`needs_update` is True for them). Raises ValueError
    if ``pin`` is not 6-12 digits or the parameters are outside what :func:`verify_pin` accepts.
    """
    if not (pin.isascii() and pin.isdigit() and MIN_DIGITS <= len(pin) <= MAX_DIGITS):
        raise ValueError(f"a PIN is {MIN_DIGITS} to {MAX_DIGITS} digits")
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    params = _Scrypt(n, r, p, salt, bytes(HASH_BYTES))
    _check_scrypt(params)
    return f"scrypt${n}${r}${p}${salt.hex()}${_scrypt(pin, params).hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches ``stored``, a new (scrypt) or old (PBKDF2) hash; compared in constant time.

    Raises ValueError for a malformed ``stored`` or one whose parameters exceed the bounds, before hashing.
    """
    params = _parse(stored)
    if isinstance(params, _Scrypt):
        digest = _scrypt(pin, params)
    else:
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), params.salt, params.iterations)
    return hmac.compare_digest(digest, params.expected)


def needs_update(stored: str) -> bool:
    """Whether ``stored`` should be replaced by a new PIN: the old PBKDF2 format (whose PIN may be 4 or 5
    digits), or scrypt with less memory or work than :func:`hash_pin` uses now. Raises ValueError if malformed.
    """
    params = _parse(stored)
    if isinstance(params, _Pbkdf2):
        return True
    return params.r * params.n < R * N or params.r * params.n * params.p < R * N * P


def _parse(stored: str) -> _Scrypt | _Pbkdf2:
    """The parameters of a stored hash, checked against the bounds. Raises ValueError."""
    if match := _SCRYPT.fullmatch(stored):
        n, r, p, salt, expected = match.groups()
        params = _Scrypt(int(n), int(r), int(p), bytes.fromhex(salt), bytes.fromhex(expected))
        _check_scrypt(params)
        return params
    if match := _PBKDF2.fullmatch(stored):
        iterations, salt, expected = match.groups()
        if not 1 <= int(iterations) <= MAX_PBKDF2_ITERATIONS:
            raise ValueError(f"PIN hash iterations must be 1 to {MAX_PBKDF2_ITERATIONS}")
        return _Pbkdf2(int(iterations), bytes.fromhex(salt), bytes.fromhex(expected))
    algorithm = stored.split("$", 1)[0][:20]
    if algorithm in ("scrypt", "pbkdf2_sha256"):
        raise ValueError(f"malformed {algorithm} PIN hash")
    raise ValueError(f"unknown PIN hash algorithm {algorithm!r}")


def _check_scrypt(params: _Scrypt) -> None:
    n, r, p = params.n, params.r, params.p
    if not (2 <= n <= MAX_N and n & (n - 1) == 0):
        raise ValueError(f"scrypt n must be a power of two from 2 to {MAX_N}")
    if not (1 <= r <= MAX_R and 1 <= p <= MAX_P):
        raise ValueError(f"scrypt r must be 1 to {MAX_R} and p 1 to {MAX_P}")
    if 128 * r * n * p > MAX_SCRYPT_BYTES:
        raise ValueError(f"scrypt 128·r·n·p must be at most {MAX_SCRYPT_BYTES // 2**20} MiB")
    if not 8 <= len(params.salt) <= 64:
        raise ValueError("a PIN hash salt is 8 to 64 bytes")


def _scrypt(pin: str, params: _Scrypt) -> bytes:
    # OpenSSL needs 128·r·(n + 2) bytes for V plus 128·r·p for B; its default limit (32 MiB) is just too small.
    maxmem = 128 * params.r * (params.n + 2 + params.p) + 4096
    return hashlib.scrypt(
        pin.encode(), salt=params.salt, n=params.n, r=params.r, p=params.p, maxmem=maxmem, dklen=HASH_BYTES
    )
