"""Run a script of steps on Kivy's Clock, for walking the real app through its screens without blocking frames.

A script is a generator that yields how many seconds to wait before its next step. Part of the runtime package
because ``smilepost kiosk screenshot`` (:mod:`kiosk.ui.screenshots`) uses it; the offscreen app tests and the
latency benchmark use it too. Imports Kivy only when a step is scheduled, so importing this module is cheap.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any


class ClockScript:
    """Subclasses write ``steps()``; :meth:`advance` runs them one by one and stops the app at the end.

    An exception inside a step stops the app too; its traceback is kept in ``error`` (None when all went well).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.error: str | None = None
        self._steps: Iterator[float] | None = None

    def steps(self) -> Iterator[float]:
        """The script: do a step, ``yield`` seconds to wait, do the next... Raises NotImplementedError here."""
        raise NotImplementedError

    def advance(self, *_: Any) -> None:
        """Run the next step now and schedule the one after it (pass this to ``Clock.schedule_once``)."""
        from kivy.clock import Clock

        if self._steps is None:
            self._steps = self.steps()
        try:
            delay = next(self._steps)
        except StopIteration:
            self.app.stop()
            return
        except Exception:
            self.fail(traceback.format_exc())
            return
        Clock.schedule_once(self.advance, delay)

    def fail(self, error: str) -> None:
        """Record why the script stopped early and stop the app."""
        self.error = error
        self.app.stop()
