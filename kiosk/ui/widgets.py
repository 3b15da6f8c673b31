"""The kiosk's own widgets: faces drawn on the canvas, the answer buttons of a question (faces, or 0-10),
flat rounded buttons, the numeric keypad and the comment keyboard's keys. Their style lives in ``kv/widgets.kv``
(and ``kv/comment.kv``); the face's shape and colour come from :mod:`kiosk.ui.faces`.
"""

from __future__ import annotations

from typing import Any

import kiosk.ui.kivy_env  # noqa: F401  (prepares the environment Kivy reads on import)

# isort: split

from kivy.graphics import Color, Ellipse, Line
from kivy.properties import ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.ui.faces import face_colour, mood, mouth
from shared.protocol import NPS_SCALE, score_range

INK = (0.16, 0.11, 0.10, 1)  # eyes and mouth


class FaceButton(ButtonBehavior, Widget):
    """One face, drawn on the canvas: colour and mouth follow ``mood`` (0 saddest .. 1 happiest).

    The whole widget is the touch target, so targets grow with the window.
    """

    score = NumericProperty(1)
    mood = NumericProperty(0.5)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The instructions are made once and then moved: a redraw (layout, press) allocates nothing new.
        with self.canvas:
            Color(0, 0, 0, 0.12)
            self._shadow = Ellipse()
            self._fill = Color()
            self._face = Ellipse()
            Color(*INK)
            self._eyes = (Ellipse(), Ellipse())
            self._mouth = Line(cap="round")
        self.bind(pos=self.redraw, size=self.redraw, mood=self.redraw, state=self.redraw)
        self.redraw()

    def redraw(self, *_: Any) -> None:
        """Fit face, eyes and mouth to the widget (slightly smaller while pressed)."""
        radius = min(self.width, self.height) * (0.42 if self.state == "down" else 0.45)
        cx, cy = self.center
        self._shadow.pos, self._shadow.size = (cx - radius, cy - radius * 1.06), (2 * radius, 2 * radius)
        self._fill.rgb = face_colour(self.mood)
        self._face.pos, self._face.size = (cx - radius, cy - radius), (2 * radius, 2 * radius)
        eye_w, eye_h = radius * 0.22, radius * 0.30
        for eye, dx in zip(self._eyes, (-0.34, 0.34), strict=True):
            eye.pos, eye.size = (cx + dx * radius - eye_w / 2, cy + 0.12 * radius), (eye_w, eye_h)
        self._mouth.width = max(1.5, radius * 0.075)
        self._mouth.bezier = mouth(self.mood).points(cx, cy, radius)


class SoftButton(ButtonBehavior, Label):
    """A rounded, flat button with a text label (style in widgets.kv)."""

    fill = ListProperty([1, 1, 1, 1])


class NpsButton(SoftButton):
    """One of the 0-10 buttons; its colour runs from red (0) to green (10), its number is the main cue."""

    score = NumericProperty(0)


class ReasonButton(SoftButton):
    """One follow-up reason."""

    reason = StringProperty("")


class AnswerPad(BoxLayout):
    """The answer buttons of one question: a FaceButton per score of a face scale, or 11 NpsButtons (0 left) with
    their end labels for a 0-10 question (layout in widgets.kv; a press calls ``app.tap`` with its score)."""

    scale = NumericProperty(0)  # the scale shown; 0 before the first show_scale

    def show_scale(self, scale: int) -> None:
        """Show the buttons of ``scale`` (built again only when the scale changes). Raises ValueError for an
        unknown scale."""
        if scale == self.scale:
            return
        faces, nps = self.ids.faces, self.ids.nps_row
        faces.clear_widgets()
        nps.clear_widgets()
        for score in score_range(scale):
            if scale == NPS_SCALE:
                nps.add_widget(NpsButton(score=score, text=str(score), fill=[*face_colour(mood(score, scale)), 1]))
            else:
                faces.add_widget(FaceButton(score=score, mood=mood(score, scale)))
        self.scale = scale

    @property
    def buttons(self) -> list[Widget]:
        """The answer buttons (faces or 0-10), saddest first."""
        return list(reversed(self.ids.faces.children)) + list(reversed(self.ids.nps_row.children))


class Keypad(GridLayout):
    """Digits 0-9, delete and OK; dispatches ``on_key`` with "0".."9", "back" or "ok" (layout in widgets.kv)."""

    ok_text = StringProperty("OK")

    def __init__(self, **kwargs: Any) -> None:
        self.register_event_type("on_key")
        super().__init__(**kwargs)

    def on_key(self, key: str) -> None:
        """Default handler (the .kv binds the real one)."""


class KeyRow(GridLayout):
    """One row of the comment keyboard (style in comment.kv)."""


class CharKey(SoftButton):
    """A key that types its text."""


__all__ = ["AnswerPad", "CharKey", "FaceButton", "KeyRow", "Keypad", "NpsButton", "ReasonButton", "SoftButton"]
