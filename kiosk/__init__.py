"""Smilepost kiosk: a Kivy touchscreen that stores every tap in SQLite at once and syncs batches later.

Import-light on purpose: importing :mod:`kiosk` (or :mod:`kiosk.store`, :mod:`kiosk.sync`) never imports Kivy.
Only :mod:`kiosk.app` does, because Kivy reads argv and the environment when it is imported.
"""

from __future__ import annotations

__version__ = "0.1.0"
