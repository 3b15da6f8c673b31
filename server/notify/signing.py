"""The server's secret key, the webhook secrets derived from it, and the ``X-Smilepost-Signature`` header.

**Key.** ``SMILEPOST_SECRET_KEY`` (:attr:`Settings.secret_key`) when set, else a random key made once in
``<data_dir>/secret.key`` (64 hex digits: 32 random bytes, mode 0600) and read from there afterwards. Several server
instances (or a separate ``smilepost worker``) must sign with one key, so they need ``SMILEPOST_SECRET_KEY`` set to
the same value on each: ``SMILEPOST_SECRET_KEY=$(cat data/secret.key)`` moves a single server's key there without
changing any webhook secret. Changing the key changes every webhook's secret.

**Webhook secrets** are ``whsec_`` + HMAC-SHA256(key, "smilepost webhook <id>") in hex: derived again whenever
needed, so the database never holds one, and shown to the operator once when the webhook is added.

**Signature** (like GitHub's and Stripe's)::

    X-Smilepost-Signature: t=1773505207,sha256=5f0c…(64 hex digits)

where the hex is HMAC-SHA256 keyed with the webhook secret (the whole ``whsec_…`` text, UTF-8) over
``f"{t}.".encode() + body``: the exact bytes received, no re-serialised JSON. A receiver recomputes it with
:func:`verify` (constant-time compare) and refuses a ``t`` more than 5 minutes away from its clock, so a captured
request cannot be replayed later; within those minutes it dedupes by ``Idempotency-Key``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import secrets
from datetime import datetime
from pathlib import Path

from server import InvalidInput
from server.settings import Settings, private_folder

log = logging.getLogger(__name__)

KEY_FILE = "secret.key"
KEY_FILE_MODE = 0o600
MIN_KEY_CHARS = 32  # SMILEPOST_SECRET_KEY shorter than this is refused (secrets.token_urlsafe(32) gives 43)
SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


def server_key(settings: Settings) -> bytes:
    """The key webhook secrets are derived from: ``settings.secret_key``, else the key in ``<data_dir>/secret.key``
    (created on first use; a warning, once, when the database is not SQLite, since instances must share the key).

    Raises InvalidInput for a configured key shorter than MIN_KEY_CHARS or a key file that is empty or unreadable as
    text; OSError when the data folder or the file cannot be created or read.
    """
    if settings.secret_key is not None:
        text = settings.secret_key.get_secret_value().strip()
        if len(text) < MIN_KEY_CHARS:
            raise InvalidInput(f"SMILEPOST_SECRET_KEY must be at least {MIN_KEY_CHARS} characters")
        return text.encode()
    if settings.database_url and not settings.database_url.startswith("sqlite"):
        _warn_unshared_key(settings.data_dir)
    return key_file(settings.data_dir)


@functools.cache
def _warn_unshared_key(data_dir: Path) -> None:
    """Once per process: instances on a shared database must share the key, or receivers see two signatures."""
    log.warning(
        "SMILEPOST_SECRET_KEY is not set: webhooks are signed with the key in %s. Every instance and worker on this "
        "database must sign with the same key: set SMILEPOST_SECRET_KEY to one value on each", data_dir / KEY_FILE,
    )  # fmt: skip


def key_file(data_dir: Path) -> bytes:
    """The key kept in ``data_dir/secret.key``, made (32 random bytes as 64 hex digits, mode 0600) if missing.

    Safe when several processes start at once on one data folder: the file appears complete or not at all, and
    every process reads the one that won. Raises InvalidInput for an empty or non-text file; OSError as above.
    """
    path = data_dir / KEY_FILE
    if not path.exists():
        private_folder(data_dir)
        _create_key_file(path)
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; it signs webhooks: run `chmod 600 %s`", path, path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except UnicodeDecodeError:
        text = ""
    if not text:
        raise InvalidInput(f"{path} holds no key: delete it to make a new one (webhook secrets change)")
    return text.encode()


def _create_key_file(path: Path) -> None:
    """Write a fresh key to a private temporary file, then link it into place (fails harmlessly if another
    process linked first). Raises OSError when the folder is not writable."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
            log.info("made a new secret key in %s", path)
        except FileExistsError:
            pass  # another process made it first: everyone uses that one
    finally:
        temporary.unlink(missing_ok=True)


def webhook_secret(key: bytes, webhook_id: int) -> str:
    """The signing secret of webhook ``webhook_id``: ``whsec_`` + 64 hex digits, the same on every instance that
    shares ``key``."""
    digest = hmac.new(key, f"smilepost webhook {webhook_id}".encode(), hashlib.sha256).hexdigest()
    return SECRET_PREFIX + digest


def sign(secret: str, body: bytes, t: int) -> str:
    """The ``X-Smilepost-Signature`` value for ``body`` sent at unix time ``t``: ``t=<t>,sha256=<hex>``."""
    return f"t={t},sha256={_digest(secret, body, t)}"


def verify(secret: str, header: str, body: bytes, now: datetime, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Whether ``header`` is a valid signature of ``body`` with ``secret``, made within ``tolerance`` seconds of
    ``now`` (either side). Never raises: a malformed header is simply not valid."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    stamps = fields.get("t", [])
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit() and len(stamps[0]) <= 12):
        return False
    t = int(stamps[0])
    if abs(now.timestamp() - t) > tolerance:
        return False  # stale (a replay) or from a clock far off
    expected = _digest(secret, body, t).encode()
    return any(hmac.compare_digest(expected, given.encode()) for given in fields.get("sha256", []))


def _digest(secret: str, body: bytes, t: int) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
