"""Smilepost server: ingest taps from kiosks, aggregate satisfaction per location.

Exception tree (library errors; routes turn them into HTTP answers)::

    SmilepostError
    ├── NotFound          a location, kiosk or key that does not exist
    └── InvalidInput      an admin argument that cannot be used (bad time zone, scale...)
"""

from __future__ import annotations

__version__ = "0.1.0"


class SmilepostError(Exception):
    """Base of every error the server library raises on purpose."""


class NotFound(SmilepostError):
    """The named location, kiosk or key does not exist."""


class InvalidInput(SmilepostError):
    """An argument that cannot be used; the message says what was expected."""
