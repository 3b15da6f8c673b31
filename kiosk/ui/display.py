"""Prepare the process environment for Kivy, which reads argv and the environment when it is imported.

Kept free of Kivy (and of side effects on import) so the CLI can ask :func:`has_display` (and print a note for
humans) before the window starts; :mod:`kiosk.ui.kivy_env` calls :func:`prepare_kivy_environment` and
:func:`quiet_missing_mtdev` before any Kivy import. These are platform facts, not settings: kiosk settings come from
:mod:`kiosk.settings` only.

Touch input: on Linux Kivy probes ``/sys/class/input`` for touchscreens (its ``probesysfs`` input provider) and
reads them through libmtdev or ``hidinput``, which is what a kiosk on a Raspberry Pi with a touchscreen needs. Where
no display or no ``/dev/input/event*`` device exists (a container, a CI runner, an SSH session) that probe finds
devices it cannot open and prints tracebacks, so :func:`wants_touch_probe` says when to keep it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

log = logging.getLogger(__name__)

DEV_INPUT = Path("/dev/input")
# What Kivy logs, with a traceback, when libmtdev is not installed (kivy/input/providers/__init__.py).
MTDEV_MISSING = "Input: MTDev is not supported by your version of linux"
#: Kivy's image loaders the kiosk needs: its texture and DDS formats, and SDL2_image (PNG, JPEG; also what
#: ``Window.screenshot`` saves with). Not Pillow, not ffpyplayer.
IMAGE_PROVIDERS = "tex,dds,sdl2"


def has_display(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a window can be shown: X11 or Wayland is there, or SDL was told which video driver to use."""
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"))


def prepare_kivy_environment(environ: MutableMapping[str, str] | None = None) -> bool:
    """Set what Kivy must see before import; returns True if it chose the offscreen driver (no display).

    ``KIVY_NO_ARGS=1`` stops Kivy from parsing the program's own command line. ``KIVY_IMAGE`` keeps Kivy's
    image loaders to its own and SDL2's (:data:`IMAGE_PROVIDERS`): the kiosk draws its faces and shows no
    pictures, and Kivy would otherwise import Pillow and cffi and look for ffpyplayer at start (2.3 MiB, #15).
    """
    env = os.environ if environ is None else environ
    env.setdefault("KIVY_NO_ARGS", "1")
    env.setdefault("KIVY_IMAGE", IMAGE_PROVIDERS)
    if has_display(env):
        return False
    env["SDL_VIDEODRIVER"] = "offscreen"
    log.info("no display found (DISPLAY, WAYLAND_DISPLAY, SDL_VIDEODRIVER unset): rendering offscreen")
    return True


def prepare_demo_environment(log_level: str, environ: MutableMapping[str, str] | None = None) -> None:
    """Kivy as the demo runs it, set before Kivy is imported: its records go through Python's logging (the demo's
    own set-up decides where they go, ``KIVY_LOG_MODE=PYTHON``) from ``log_level`` on (a name: ``warning`` …),
    with Kivy's default config, neither reading nor writing ``~/.kivy/config.ini`` (no upgrade warnings on a first
    start), and no Kivy log files. Values already in the environment win."""
    env = os.environ if environ is None else environ
    for name, value in (("KIVY_LOG_MODE", "PYTHON"), ("KIVY_NO_CONFIG", "1"), ("KIVY_NO_FILELOG", "1"),
                        ("KCFG_KIVY_LOG_LEVEL", log_level.lower())):  # fmt: skip
        env.setdefault(name, value)


def wants_touch_probe(environ: Mapping[str, str] | None = None, dev_input: Path = DEV_INPUT) -> bool:
    """Whether Kivy should probe for hardware touchscreens: only with a real display (not SDL's offscreen or dummy
    driver) and input devices in ``dev_input``. A mouse, keyboard and desktop touch work without it (SDL)."""
    env = os.environ if environ is None else environ
    if not has_display(env) or env.get("SDL_VIDEODRIVER") in ("offscreen", "dummy"):
        return False
    try:
        return any(dev_input.glob("event*"))
    except OSError:
        return False


class MissingMtdevFilter(logging.Filter):
    """Turns Kivy's traceback for a missing libmtdev into one info line: Kivy's touchscreen probe falls back to
    ``hidinput`` without it, so the traceback is never something to act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and str(record.msg).startswith(MTDEV_MISSING):
            reason = record.exc_info[1] if record.exc_info else None
            record.msg = f"{MTDEV_MISSING} ({reason}); touchscreens are read through hidinput"
            record.args = None
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
        return True


def quiet_missing_mtdev() -> None:
    """Install :class:`MissingMtdevFilter` on Kivy's logger (once), before Kivy is imported."""
    kivy_log = logging.getLogger("kivy")
    if not any(isinstance(f, MissingMtdevFilter) for f in kivy_log.filters):
        kivy_log.addFilter(MissingMtdevFilter())
