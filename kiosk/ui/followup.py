"""After a face that gets a follow-up: the follow-up screen (why? up to six reasons of the question answered, a
comment button on a customer's first answer when comments are on, "no, thanks") and the comment keyboard. The
follow-up screen holds the held tap and the timer that ends the wait as a timeout, and completes the tap in the
outbox (:meth:`kiosk.store.Store.complete_tap`), which releases it for sync; then the customer's next question
follows, if there is one (:meth:`kiosk.ui.app.SmilepostKioskApp.next_question`). Layout in ``kv/followup.kv`` and
``kv/comment.kv``; what is offered and how long it waits come from :mod:`kiosk.flow`.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import kiosk.ui.kivy_env  # noqa: F401  (prepares the environment Kivy reads on import)

# isort: split

from kivy.app import App
from kivy.clock import Clock, ClockEvent
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.texts import key_rows, question_reason_label
from kiosk.ui.widgets import CharKey, KeyRow, ReasonButton

if TYPE_CHECKING:
    from kiosk.ui.app import SmilepostKioskApp

log = logging.getLogger(__name__)


def _app() -> SmilepostKioskApp:
    return cast("SmilepostKioskApp", App.get_running_app())


class FollowupScreen(Screen):
    """Why? Up to six reason buttons, a comment button and "no, thanks", for the tap held since the face."""

    comment_offered = BooleanProperty(False)  # the comment button shows

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.held: UUID | None = None  # the tap waiting for its follow-up answer
        self._timer: ClockEvent | None = None

    def start(self, tap_id: UUID, reasons: list[str], *, comment: bool = False) -> None:
        """Hold ``tap_id`` and ask why, offering ``reasons`` of the question on screen (and the comment button if
        ``comment``); no answer in time is a timeout."""
        app = _app()
        self.held = tap_id
        self.comment_offered = comment
        question = app.flow.asking.question
        self.show_reasons([(r, question_reason_label(app.kiosk_config, question, r, app.language)) for r in reasons])
        app.switch_to("followup")
        self.restart_timer(app.flow.followup_seconds())

    def show_reasons(self, reasons: list[tuple[str, str]]) -> None:
        """Replace the reason buttons with one per ``(reason id, label)``."""
        grid = self.ids.reasons
        grid.clear_widgets()
        for reason, label in reasons:
            grid.add_widget(ReasonButton(reason=reason, text=label, on_release=lambda b: self.answer(b.reason)))

    @property
    def reason_buttons(self) -> list[ReasonButton]:
        """The reason buttons in config order."""
        return list(reversed(self.ids.reasons.children))

    def answer(self, reason: str) -> None:
        """The customer picked ``reason``: store it with the held tap, release the tap, go on (next question or
        thanks)."""
        self.finish(followup=reason)
        _app().next_question()

    def skip(self) -> None:
        """The customer declined ("no, thanks"): release the tap without an answer, go on."""
        self.finish()
        _app().next_question()

    def open_comment(self) -> None:
        """The on-screen keyboard for a comment on the held tap."""
        comment: CommentScreen = self.manager.get_screen("comment")
        comment.open()

    def restart_timer(self, seconds: float) -> None:
        """End the wait as a timeout ``seconds`` from now (replacing the earlier timer)."""
        self._cancel_timer()
        self._timer = Clock.schedule_once(self.timed_out, seconds)

    def timed_out(self, *_: Any) -> None:
        """No answer in time: recorded as a timeout (flag ``followup_timeout``), back to the question."""
        self.finish(timed_out=True)
        self.manager.get_screen("comment").text = ""
        _app().show_question()

    def finish(self, *, followup: str | None = None, comment: str | None = None, timed_out: bool = False) -> None:
        """Complete and release the held tap, if there is one (failures are logged: the tap stays held and is
        released as a timeout at the next start)."""
        self._cancel_timer()
        held, self.held = self.held, None
        app = _app()
        if held is None or app.store is None:
            return
        try:
            app.store.complete_tap(held, followup=followup, comment=comment, timed_out=timed_out)
        except (sqlite3.Error, OSError, LookupError, ValueError):
            log.exception("could not complete held tap %s", held)
        app.syncing.wake(check_config=False)  # the config is checked on its period

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None


class CommentScreen(Screen):
    """Free text typed on the on-screen keyboard, up to ``comment.max_chars``; the key rows follow the language.
    Each key restarts the follow-up's timeout (at least 30 s while typing)."""

    text = StringProperty("")  # typed so far

    def open(self) -> None:
        """Show the keyboard in the current language, with nothing typed."""
        app = _app()
        self.text = ""
        self.show_keys(key_rows(app.language))
        app.switch_to("comment")
        self._followup().restart_timer(app.flow.comment_seconds())

    def show_keys(self, rows: list[str]) -> None:
        """Build one row of letter keys per string in ``rows``."""
        box = self.ids.key_rows
        box.clear_widgets()
        for row in rows:
            line = KeyRow()
            for char in row:
                line.add_widget(CharKey(text=char, on_release=lambda k: self.type_char(k.text)))
            box.add_widget(line)

    def key(self, char: str) -> CharKey:
        """The on-screen key that types ``char``. Raises LookupError if there is none."""
        for row in self.ids.key_rows.children:
            for key in row.children:
                if key.text == char:
                    return key  # type: ignore[no-any-return]
        raise LookupError(char)

    def type_char(self, char: str) -> None:
        """Add ``char`` to the comment, up to comment.max_chars."""
        app = _app()
        self.text = app.flow.add_char(self.text, char)
        self._followup().restart_timer(app.flow.comment_seconds())

    def delete_char(self) -> None:
        """Remove the last character of the comment."""
        self.text = self.text[:-1]
        self._followup().restart_timer(_app().flow.comment_seconds())

    def send(self) -> None:
        """Store the comment with the held tap, release it, go on (next question or thanks)."""
        self._followup().finish(comment=self.text)
        self.text = ""
        _app().next_question()

    def cancel(self) -> None:
        """Back to the reasons, the typed text dropped."""
        app = _app()
        self.text = ""
        app.switch_to("followup")
        self._followup().restart_timer(app.flow.followup_seconds())

    def _followup(self) -> FollowupScreen:
        screen: FollowupScreen = self.manager.get_screen("followup")
        return screen


__all__ = ["CommentScreen", "FollowupScreen"]
