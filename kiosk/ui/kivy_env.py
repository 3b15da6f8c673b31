"""Imported before Kivy by every kiosk module that imports Kivy: Kivy reads argv and the environment when it is
imported, so this sets ``KIVY_NO_ARGS=1`` and the image loaders (no Pillow), picks SDL's offscreen driver when
there is no display (:func:`kiosk.ui.display.prepare_kivy_environment`) and turns Kivy's traceback for a missing
libmtdev into one line (:func:`kiosk.ui.display.quiet_missing_mtdev`). Imports no Kivy itself.
"""

from __future__ import annotations

from kiosk.ui.display import prepare_kivy_environment, quiet_missing_mtdev

#: True when no display was found and Kivy will render with SDL's offscreen driver.
OFFSCREEN = prepare_kivy_environment()
quiet_missing_mtdev()

__all__ = ["OFFSCREEN"]
