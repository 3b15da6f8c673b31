"""Smilepost kiosk: a Kivy touchscreen that stores every tap in SQLite at once and syncs batches later.

Where things live: :mod:`kiosk.store` (the outbox) with :mod:`kiosk.recovery` (a damaged outbox moved aside),
:mod:`kiosk.sync` (batches up, config down, pairing), :mod:`kiosk.flow` (the customer flow's and the staff
screens' decisions), :mod:`kiosk.texts` (texts and languages), :mod:`kiosk.hours` (opening hours),
:mod:`kiosk.settings` (``SMILEPOST_KIOSK_*``), :mod:`kiosk.cli` (the ``smilepost kiosk`` commands),
:mod:`kiosk.simulate`, and :mod:`kiosk.ui` (the Kivy app, its screens and ``.kv`` files, face drawing, screenshots).

Import-light on purpose: nothing outside :mod:`kiosk.ui` imports Kivy, and in :mod:`kiosk.ui` only the app, its
widgets and screens do, because Kivy reads argv and the environment when it is imported. The kiosk imports neither
SQLAlchemy, argon2 nor FastAPI (those are the server's). The design, in one place: ``docs/architecture.md``.
"""

from __future__ import annotations

from shared import __version__ as __version__  # the one version number
