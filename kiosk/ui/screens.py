"""The ask, aspect, thanks, closed and attract screens, and the root that holds every screen plus the status label
and watches for the hidden admin gesture. Layout in ``kv/<screen>.kv`` and ``kv/root.kv``; these classes only fill
in what a layout cannot know (the faces of a scale) and keep the aspect screen's timer. The follow-up and comment
screens live in :mod:`kiosk.ui.followup`, the staff screens in :mod:`kiosk.ui.staff`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import kiosk.ui.kivy_env  # noqa: F401  (prepares the environment Kivy reads on import)

# isort: split

from kivy.app import App
from kivy.clock import Clock, ClockEvent
from kivy.properties import StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk.flow import ADMIN_HOLD_SECONDS, in_admin_corner

if TYPE_CHECKING:
    from kiosk.ui.app import SmilepostKioskApp


def _app() -> SmilepostKioskApp:
    return cast("SmilepostKioskApp", App.get_running_app())


class AskScreen(Screen):
    """The question a customer is asked first, and its faces (or the 0-10 buttons of an NPS question)."""

    def show_scale(self, scale: int) -> None:
        """One FaceButton per score of a face scale, or 11 NpsButtons. Raises ValueError for an unknown scale."""
        self.ids.answers.show_scale(scale)

    @property
    def faces(self) -> list[Widget]:
        """The answer buttons (faces or 0-10), saddest first."""
        return self.ids.answers.buttons  # type: ignore[no-any-return]


class AspectScreen(Screen):
    """An aspect question of a sequence, after the main one: its step, text and answer buttons, and a Skip button.
    Left unanswered for ``question_timeout_seconds`` the customer counts as gone: nothing is stored for it and the
    next customer gets the main question. The timer stops whenever the screen is left."""

    position = StringProperty("")  # "2 / 3"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._timer: ClockEvent | None = None

    def open(self, scale: int, position: str, seconds: float) -> None:
        """Show the answer buttons of ``scale`` and the step; time out ``seconds`` from now (the previous aspect
        question's timer replaced). Raises ValueError for an unknown scale."""
        self.ids.answers.show_scale(scale)
        self.position = position
        self._cancel_timer()
        self._timer = Clock.schedule_once(self.timed_out, seconds)

    @property
    def faces(self) -> list[Widget]:
        """The answer buttons (faces or 0-10), saddest first."""
        return self.ids.answers.buttons  # type: ignore[no-any-return]

    def skip(self) -> None:
        """The customer skipped the question: nothing stored, on to the next question (or thanks)."""
        self._cancel_timer()
        _app().next_question()

    def timed_out(self, *_: Any) -> None:
        """Nobody answered in time: nothing stored, the next customer gets the main question."""
        self._timer = None
        if self.manager is not None and self.manager.current == self.name:
            _app().show_question()

    def on_pre_leave(self, *_: Any) -> None:
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None


class ThanksScreen(Screen):
    """Shown for ``thank_you_seconds`` after each answer."""


class ClosedScreen(Screen):
    """Outside opening hours: a message, no buttons, nothing recorded."""


class AttractScreen(Screen):
    """Idle: a big invitation; any touch shows the question (without recording anything)."""

    def on_touch_down(self, touch: Any) -> bool:
        App.get_running_app().leave_attract()
        return True


class KioskRoot(FloatLayout):
    """Screens plus the status label (see root.kv); a touch held ADMIN_HOLD_SECONDS in the top-left corner calls
    the app's ``admin_gesture``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._hold: ClockEvent | None = None
        self._hold_uid: Any = None

    def in_admin_corner(self, x: float, y: float) -> bool:
        """Whether window point (x, y) is in the top-left corner that opens the PIN pad when held."""
        return in_admin_corner(x, y, self.width, self.height)

    def on_touch_down(self, touch: Any) -> bool:
        app = App.get_running_app()
        app.note_activity()
        if self.in_admin_corner(touch.x, touch.y):
            self._cancel_hold()
            self._hold_uid = touch.uid
            self._hold = Clock.schedule_once(lambda _dt: app.admin_gesture(), ADMIN_HOLD_SECONDS)
        return bool(super().on_touch_down(touch))

    def on_touch_move(self, touch: Any) -> bool:
        if touch.uid == self._hold_uid and not self.in_admin_corner(touch.x, touch.y):
            self._cancel_hold()
        return bool(super().on_touch_move(touch))

    def on_touch_up(self, touch: Any) -> bool:
        if touch.uid == self._hold_uid:
            self._cancel_hold()
        return bool(super().on_touch_up(touch))

    def _cancel_hold(self) -> None:
        if self._hold is not None:
            self._hold.cancel()
        self._hold, self._hold_uid = None, None


__all__ = ["AskScreen", "AspectScreen", "AttractScreen", "ClosedScreen", "KioskRoot", "ThanksScreen"]
