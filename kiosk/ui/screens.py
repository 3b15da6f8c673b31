"""The ask, thanks, closed and attract screens, and the root that holds every screen plus the status label and
watches for the hidden admin gesture. Layout in ``kv/<screen>.kv`` and ``kv/root.kv``; these classes only fill in
what a layout cannot know (the faces of a scale). The follow-up and comment screens live in
:mod:`kiosk.ui.followup`, the staff screens in :mod:`kiosk.ui.staff`.
"""

from __future__ import annotations

from typing import Any

import kiosk.ui.kivy_env  # noqa: F401  (prepares the environment Kivy reads on import)

# isort: split

from kivy.app import App
from kivy.clock import Clock, ClockEvent
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk.flow import ADMIN_HOLD_SECONDS, in_admin_corner, scores_for
from kiosk.ui.faces import face_colour, mood
from kiosk.ui.widgets import FaceButton, NpsButton
from shared.protocol import NPS_SCALE


class AskScreen(Screen):
    """The question and its faces (or the 0-10 buttons of an NPS question)."""

    def show_scale(self, scale: int) -> None:
        """One FaceButton per score of a face scale, or 11 NpsButtons. Raises ValueError for an unknown scale."""
        faces, nps = self.ids.faces, self.ids.nps_row
        faces.clear_widgets()
        nps.clear_widgets()
        for score in scores_for(scale):
            if scale == NPS_SCALE:
                nps.add_widget(NpsButton(score=score, text=str(score), fill=[*face_colour(mood(score, scale)), 1]))
            else:
                faces.add_widget(FaceButton(score=score, mood=mood(score, scale)))

    @property
    def faces(self) -> list[Widget]:
        """The answer buttons (faces or 0-10), saddest first."""
        return list(reversed(self.ids.faces.children)) + list(reversed(self.ids.nps_row.children))


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


__all__ = ["AskScreen", "AttractScreen", "ClosedScreen", "KioskRoot", "ThanksScreen"]
