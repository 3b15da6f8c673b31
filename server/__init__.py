"""Smilepost server: ingest taps from kiosks, aggregate satisfaction per location.

Exception tree (library errors; routes turn them into HTTP answers)::

    SmilepostError
    ├── NotFound          a location, kiosk or key that does not exist
    ├── InvalidInput      an admin argument that cannot be used (bad time zone, scale...)
    ├── Forbidden         a signed-in user asking for a location (or action) not granted to them
    ├── PairingRefused    a pairing code that is wrong, expired or used (one message for all three)
    ├── RateLimited       too many failed attempts or requests; ``retry_after`` says when to try again
    └── Busy              the server is at its bound for costly work (password checks); ``retry_after`` as above
"""

from __future__ import annotations

from shared import __version__ as __version__  # the one version number


class SmilepostError(Exception):
    """Base of every error the server library raises on purpose."""


class NotFound(SmilepostError):
    """The named location, kiosk or key does not exist."""


class InvalidInput(SmilepostError):
    """An argument that cannot be used; the message says what was expected."""


class Forbidden(SmilepostError):
    """The caller is who they say, but may not see or do this (a manager outside their locations)."""


class PairingRefused(SmilepostError):
    """A pairing code that is wrong, expired or already used; the message never says which."""

    def __init__(self) -> None:
        super().__init__("invalid or expired pairing code")


class RateLimited(SmilepostError):
    """Too many failed attempts (or requests) recently; ``retry_after`` is whole seconds until one may succeed."""

    def __init__(self, retry_after: int, what: str = "failed attempts") -> None:
        super().__init__(f"too many {what}; try again in {retry_after} s")
        self.retry_after = retry_after


class Busy(SmilepostError):
    """The server is already doing as much of this costly work as it may at once (e.g. password checks, 64 MiB
    each); ``retry_after`` is whole seconds after which trying again is sensible. Nothing was counted or changed."""

    def __init__(self, retry_after: int, what: str = "requests") -> None:
        super().__init__(f"the server is busy with other {what}; try again in {retry_after} s")
        self.retry_after = retry_after
