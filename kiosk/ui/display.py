"""Prepare the process environment for Kivy, which reads argv and the environment when it is imported.

Kept free of Kivy (and of side effects on import) so the CLI can ask :func:`has_display` (and print a note for
humans) before the window starts; :mod:`kiosk.ui.kivy_env` calls :func:`prepare_kivy_environment` before any Kivy
import. These are platform facts, not settings: kiosk settings come from :mod:`kiosk.settings` only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, MutableMapping

log = logging.getLogger(__name__)


def has_display(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a window can be shown: X11 or Wayland is there, or SDL was told which video driver to use."""
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"))


def prepare_kivy_environment(environ: MutableMapping[str, str] | None = None) -> bool:
    """Set what Kivy must see before import; returns True if it chose the offscreen driver (no display).

    ``KIVY_NO_ARGS=1`` stops Kivy from parsing the program's own command line.
    """
    env = os.environ if environ is None else environ
    env.setdefault("KIVY_NO_ARGS", "1")
    if has_display(env):
        return False
    env["SDL_VIDEODRIVER"] = "offscreen"
    log.info("no display found (DISPLAY, WAYLAND_DISPLAY, SDL_VIDEODRIVER unset): rendering offscreen")
    return True
