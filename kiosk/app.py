"""The kiosk's Kivy app: faces (or 0-10 buttons) drawn on the canvas, follow-up reasons, a comment keyboard,
pairing, a PIN-locked admin screen, and the closed / attract states.

Kivy reads argv and the environment when it is imported, so this module prepares both first
(``KIVY_NO_ARGS=1``; the offscreen SDL driver when there is no display) and is the only module of the
kiosk that imports Kivy. Layout lives in ``kiosk/kv/*.kv`` (one file per screen, plus widgets and root); the
.kv files call named methods of :class:`SmilepostKioskApp`, whose work is done by :mod:`kiosk.store`,
:mod:`kiosk.sync`, :mod:`kiosk.faces` and :mod:`kiosk.hours`.

Screens: ``ask`` → ``thanks`` (or ``followup`` → [``comment``] → ``thanks``) → ``ask``; ``attract`` when idle;
``closed`` outside opening hours (nothing is recorded); ``pairing`` until the kiosk has a token; ``pin`` →
``admin`` after a long press in the top-left corner.

Threads: taps are committed on the UI thread (a local SQLite commit, well under a millisecond); the network
is only touched by the :class:`~kiosk.sync.SyncWorker` thread and the pairing thread, whose results reach the
widgets through ``Clock.schedule_once``.
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

os.environ.setdefault("KIVY_NO_ARGS", "1")  # before any kivy import: kivy must not parse our argv

from kiosk.display import prepare_kivy_environment  # noqa: E402

OFFSCREEN = prepare_kivy_environment()  # before any kivy import: picks SDL's offscreen driver if headless

import httpx  # noqa: E402
from kivy.app import App  # noqa: E402
from kivy.clock import Clock, ClockEvent  # noqa: E402
from kivy.config import Config  # noqa: E402
from kivy.graphics import Color, Ellipse, Line  # noqa: E402
from kivy.lang import Builder  # noqa: E402
from kivy.properties import (  # noqa: E402
    BooleanProperty,
    DictProperty,
    ListProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior  # noqa: E402
from kivy.uix.floatlayout import FloatLayout  # noqa: E402
from kivy.uix.gridlayout import GridLayout  # noqa: E402
from kivy.uix.label import Label  # noqa: E402
from kivy.uix.screenmanager import Screen, ScreenManager  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402

from kiosk import __version__  # noqa: E402
from kiosk.faces import (  # noqa: E402
    KIOSK_TEXTS,
    UNPAIRED_CONFIG,
    face_colour,
    followup_reasons,
    key_rows,
    language_name,
    languages,
    mood,
    mouth,
    reason_label,
    scores_for,
    text_for,
)
from kiosk.hours import is_open  # noqa: E402
from kiosk.settings import KioskSettings  # noqa: E402
from kiosk.store import Credentials, Store  # noqa: E402
from kiosk.sync import Rejected, SyncStatus, SyncWorker, Unreachable, make_client, pair  # noqa: E402
from shared.pins import verify_pin  # noqa: E402
from shared.protocol import NPS_SCALE, FollowUp, KioskConfig, Tap  # noqa: E402
from shared.scores import is_repeat  # noqa: E402

log = logging.getLogger(__name__)

KV_DIR = Path(__file__).parent / "kv"
# Shared widgets and screens first, then the root that places them.
KV_FILES = (
    "widgets.kv",
    "ask.kv",
    "thanks.kv",
    "followup.kv",
    "comment.kv",
    "pairing.kv",
    "pin.kv",
    "admin.kv",
    "closed.kv",
    "attract.kv",
    "root.kv",
)
BACKGROUND = (0.97, 0.96, 0.93, 1)
INK = (0.16, 0.11, 0.10, 1)

CODE_DIGITS = 8  # pairing codes
ADMIN_HOLD_SECONDS = 3.0  # long press in the top-left corner that opens the PIN pad
ADMIN_CORNER = 0.12  # of the shorter window side, at least ADMIN_CORNER_MIN_PX
ADMIN_CORNER_MIN_PX = 72
PIN_MAX_DIGITS = 12
PIN_BACK_SECONDS = 3.0  # a wrong PIN shows its message this long, then the question returns
PIN_MAX_FAILURES = 5
PIN_LOCK_SECONDS = 60.0
ADMIN_IDLE_SECONDS = 120.0  # an admin screen left open returns to the question
OPEN_CHECK_SECONDS = 30.0
COMMENT_MIN_TIMEOUT = 30.0  # typing takes longer than picking a reason
CUSTOMER_SCREENS = ("ask", "thanks", "followup", "comment", "attract")


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


class Keypad(GridLayout):
    """Digits 0-9, delete and OK; dispatches ``on_key`` with "0".."9", "back" or "ok" (layout in widgets.kv)."""

    ok_text = StringProperty("OK")

    def __init__(self, **kwargs: Any) -> None:
        self.register_event_type("on_key")
        super().__init__(**kwargs)

    def on_key(self, key: str) -> None:
        """Default handler (the .kv binds the real one)."""


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


class FollowupScreen(Screen):
    """Why? Up to six reason buttons, a comment button and "no, thanks"."""

    def show_reasons(self, reasons: list[tuple[str, str]]) -> None:
        """Replace the reason buttons with one per ``(reason id, label)``."""
        grid = self.ids.reasons
        grid.clear_widgets()
        for reason, label in reasons:
            grid.add_widget(ReasonButton(reason=reason, text=label))

    @property
    def reason_buttons(self) -> list[ReasonButton]:
        """The reason buttons in config order."""
        return list(reversed(self.ids.reasons.children))


class ReasonButton(SoftButton):
    """One follow-up reason."""

    reason = StringProperty("")


class CommentScreen(Screen):
    """Free text typed on the on-screen keyboard; the key rows follow the language."""

    def show_keys(self, rows: list[str]) -> None:
        """Build one row of letter keys per string in ``rows``."""
        box = self.ids.key_rows
        box.clear_widgets()
        for row in rows:
            line = KeyRow()
            for char in row:
                line.add_widget(CharKey(text=char))
            box.add_widget(line)

    def key(self, char: str) -> CharKey:
        """The on-screen key that types ``char``. Raises LookupError if there is none."""
        for row in self.ids.key_rows.children:
            for key in row.children:
                if key.text == char:
                    return key  # type: ignore[no-any-return]
        raise LookupError(char)


class KeyRow(GridLayout):
    """One row of the comment keyboard (style in comment.kv)."""


class CharKey(SoftButton):
    """A key that types its text."""


class PairingScreen(Screen):
    """Eight-digit code on a numeric keypad; shows the server it will pair with."""


class PinScreen(Screen):
    """The admin PIN pad."""


class AdminScreen(Screen):
    """Kiosk id, server, queue, last sync and error, version; sync now, re-pair, exit."""


class ClosedScreen(Screen):
    """Outside opening hours: a message, no buttons, nothing recorded."""


class AttractScreen(Screen):
    """Idle: a big invitation; any touch shows the question (without recording anything)."""

    def on_touch_down(self, touch: Any) -> bool:
        App.get_running_app().leave_attract()
        return True


class KioskRoot(FloatLayout):
    """Screens plus the status label (see root.kv); watches for the hidden admin gesture."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._hold: ClockEvent | None = None
        self._hold_uid: Any = None

    def in_admin_corner(self, x: float, y: float) -> bool:
        """Whether window point (x, y) is in the top-left corner that opens the PIN pad when held."""
        side = max(ADMIN_CORNER_MIN_PX, ADMIN_CORNER * min(self.width, self.height))
        return bool(x <= side and y >= self.height - side)

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


class SmilepostKioskApp(App):
    """The kiosk. Properties hold what the .kv files show; the public methods are what buttons and keys call."""

    title = "Smilepost"
    t = DictProperty(dict(KIOSK_TEXTS))  # texts of the current language, by key
    question_text = StringProperty("")
    thanks_text = StringProperty("")
    status_text = StringProperty("")
    language = StringProperty("en")
    language_label = StringProperty("")
    scale = NumericProperty(5)
    u = NumericProperty(6.0)  # one hundredth of the shorter window side: the unit of every size in the .kv files
    comment_text = StringProperty("")
    comment_enabled = BooleanProperty(False)
    comment_max = NumericProperty(200)
    pair_code = StringProperty("")
    pair_message = StringProperty("")
    pair_busy = BooleanProperty(False)
    can_cancel_pairing = BooleanProperty(False)
    pin_entry = StringProperty("")
    pin_message = StringProperty("")
    admin_info = StringProperty("")
    server_text = StringProperty("")

    def __init__(self, settings: KioskSettings, *, transport: httpx.BaseTransport | None = None, **kwargs: Any) -> None:
        """``transport`` replaces the network for the sync worker and pairing (tests hand in a MockTransport)."""
        super().__init__(**kwargs)
        self.settings = settings
        self.transport = transport
        self.store: Store | None = None
        self.worker: SyncWorker | None = None
        self.kiosk_config: KioskConfig = UNPAIRED_CONFIG  # App.config is Kivy's own ConfigParser
        self.credentials: Credentials | None = None
        self.last_status: SyncStatus | None = None
        self.screens: ScreenManager | None = None
        self.held_tap: UUID | None = None
        self._last_tap_mono: float | None = None
        self._back_event: ClockEvent | None = None
        self._followup_event: ClockEvent | None = None
        self._idle_event: ClockEvent | None = None
        self._admin_refresh: ClockEvent | None = None
        self._pin_failures = 0
        self._pin_locked_until = 0.0
        self._worker_generation = 0
        self.events: list[tuple[str, float]] = []  # (what, time.perf_counter()) for tests and benchmarks

    # -- lifecycle ----------------------------------------------------------------------------------------

    def build(self) -> KioskRoot:
        """Open the outbox, release holds left by a crash, load the cached config, build the screens, start
        syncing if paired (else show the pairing screen).

        Raises OSError or sqlite3.Error if the outbox cannot be opened.
        """
        from kivy.core.window import Window  # creates the window: after run_app's Config.set calls

        Window.clearcolor = BACKGROUND
        Window.bind(size=self._on_window_size, on_key_down=self._on_key_down)
        self._on_window_size(Window, Window.size)
        _load_kv()
        self.store = Store.open(self.settings.data_dir)
        self.store.release_holds()
        self.credentials = self.store.credentials()
        root = KioskRoot()
        self.screens = root.ids.screens
        cached = self.store.cached_config()
        self.apply_config(cached[0] if cached else UNPAIRED_CONFIG)
        self.server_text = self._server()
        if self._token() is None:
            self.show_status("not paired")
            self.show_pairing()
        else:
            self._start_worker()
        Clock.schedule_interval(lambda _dt: self.check_open(), OPEN_CHECK_SECONDS)
        return root

    def on_stop(self) -> None:
        """Finish an open follow-up as a timeout, stop the worker, close the outbox."""
        from kivy.core.window import Window

        Window.unbind(size=self._on_window_size, on_key_down=self._on_key_down)
        self._finish_followup(timed_out=True)
        if self.worker is not None:
            self.worker.stop(timeout=2.0)
        if self.store is not None:
            self.store.close()

    def _on_window_size(self, _window: Any, size: tuple[int, int]) -> None:
        self.u = max(1.0, min(size) / 100.0)

    def _server(self) -> str:
        if self.settings.token is None and self.credentials is not None:
            return self.credentials.server
        return self.settings.server

    def _token(self) -> str | None:
        if self.settings.token is not None:
            return self.settings.token.get_secret_value()
        return self.credentials.token if self.credentials is not None else None

    def _start_worker(self) -> None:
        """(Re)start the sync worker with the current token; the old one, if any, is told to stop."""
        assert self.store is not None
        token = self._token()
        if token is None:
            self.show_status("not paired")
            return
        if self.worker is not None:
            self.worker.stop(timeout=0)
        server, timeout, transport = self._server(), self.settings.request_timeout, self.transport
        self._worker_generation += 1
        generation = self._worker_generation
        self.worker = SyncWorker(
            self.store.path,
            lambda: make_client(server, token, timeout=timeout, transport=transport),
            interval=self.settings.sync_interval,
            on_status=lambda status: self._on_worker_status(status, generation),
            batch_size=self.settings.batch_size,
            boot_id=self.store.boot_id,
            heartbeat_interval=self.settings.heartbeat_interval,
        )
        self.show_status("connecting")
        self.worker.start()

    # -- customers ----------------------------------------------------------------------------------------

    def tap(self, score: int) -> Tap | None:
        """Commit the answer (UI thread, before anything else), then show the follow-up or thanks; wake sync.

        Outside opening hours nothing is recorded and the closed screen shows. A tap that gets a follow-up
        question is held from sync until it is answered or times out. Returns the stored tap, or None if
        nothing was stored (closed, or SQLite failed: logged, and the customer still sees thanks).
        Raises pydantic.ValidationError if ``score`` is not on the current scale (a bug, not a customer).
        """
        assert self.store is not None, "build() opens the store"
        if not self.check_open():
            return None
        self._finish_followup(timed_out=True)  # a button-box press while a follow-up was open
        config = self.kiosk_config
        now = time.monotonic()
        since = None if self._last_tap_mono is None else now - self._last_tap_mono
        repeat = is_repeat(since, config.repeat_press_seconds)
        self._last_tap_mono = now
        reasons = [] if repeat else followup_reasons(config, int(score))
        hold = not repeat and bool(reasons or config.comment.enabled)
        stored: Tap | None = None
        try:
            stored = self.store.record_tap(
                int(score), config.scale, config.question_id, flags=["repeat"] if repeat else [], hold=hold
            )
        except (sqlite3.Error, OSError):
            log.exception("could not store a tap")
            self.show_status("storage error")
        self.events.append(("tap", time.perf_counter()))
        if stored is not None and hold:
            self.held_tap = stored.id
            self.show_followup(reasons)
        else:
            self.show_thanks()
        if self.worker is not None:
            self.worker.wake()
        return stored

    def show_thanks(self) -> None:
        """Switch to the thank-you screen now; come back to the question after thank_you_seconds."""
        self._switch("thanks")
        self._schedule_back(self.kiosk_config.thank_you_seconds)

    def show_question(self, *_: Any) -> None:
        """The question, in the default language again: the next customer starts fresh."""
        self._cancel(self._back_event)
        self.set_language(self.kiosk_config.default_language)
        self._switch("ask" if self.check_open() else "closed")

    def show_followup(self, reasons: list[str]) -> None:
        """The follow-up screen for the held tap, with a timeout that records "no answer"."""
        assert self.screens is not None
        screen: FollowupScreen = self.screens.get_screen("followup")
        screen.show_reasons([(r, reason_label(self.kiosk_config, r, self.language)) for r in reasons])
        self._switch("followup")
        self._restart_followup_timer(self._followup_timeout())

    def answer_followup(self, reason: str) -> None:
        """The customer picked ``reason``: store it with the held tap, release the tap, thank them."""
        self._finish_followup(followup=reason)
        self.show_thanks()

    def skip_followup(self) -> None:
        """The customer declined ("no, thanks"): release the tap without an answer, thank them."""
        self._finish_followup()
        self.show_thanks()

    def open_comment(self) -> None:
        """The on-screen keyboard for a comment on the held tap."""
        assert self.screens is not None
        self.comment_text = ""
        screen: CommentScreen = self.screens.get_screen("comment")
        screen.show_keys(key_rows(self.language))
        self._switch("comment")
        self._restart_followup_timer(max(COMMENT_MIN_TIMEOUT, self._followup_timeout()))

    def type_char(self, char: str) -> None:
        """Add ``char`` to the comment, up to comment.max_chars; each key restarts the timeout."""
        if len(self.comment_text) + len(char) <= self.kiosk_config.comment.max_chars:
            self.comment_text += char
        self._restart_followup_timer(max(COMMENT_MIN_TIMEOUT, self._followup_timeout()))

    def delete_char(self) -> None:
        """Remove the last character of the comment."""
        self.comment_text = self.comment_text[:-1]
        self._restart_followup_timer(max(COMMENT_MIN_TIMEOUT, self._followup_timeout()))

    def send_comment(self) -> None:
        """Store the comment with the held tap, release it, thank the customer."""
        self._finish_followup(comment=self.comment_text)
        self.comment_text = ""
        self.show_thanks()

    def cancel_comment(self) -> None:
        """Back to the reasons, the typed text dropped."""
        self.comment_text = ""
        self._switch("followup")
        self._restart_followup_timer(self._followup_timeout())

    def followup_timed_out(self, *_: Any) -> None:
        """No answer in time: recorded as a timeout (flag ``followup_timeout``), back to the question."""
        self._finish_followup(timed_out=True)
        self.comment_text = ""
        self.show_question()

    def _followup_timeout(self) -> float:
        return (self.kiosk_config.followup or FollowUp()).timeout_seconds

    def _restart_followup_timer(self, seconds: float) -> None:
        self._cancel(self._followup_event)
        self._followup_event = Clock.schedule_once(self.followup_timed_out, seconds)

    def _finish_followup(
        self, *, followup: str | None = None, comment: str | None = None, timed_out: bool = False
    ) -> None:
        """Complete and release the held tap, if there is one (failures are logged: the tap stays held and is
        released as a timeout at the next start)."""
        self._cancel(self._followup_event)
        held, self.held_tap = self.held_tap, None
        if held is None or self.store is None:
            return
        try:
            self.store.complete_tap(held, followup=followup, comment=comment, timed_out=timed_out)
        except (sqlite3.Error, OSError, LookupError, ValueError):
            log.exception("could not complete held tap %s", held)
        if self.worker is not None:
            self.worker.wake()

    # -- languages ----------------------------------------------------------------------------------------

    def next_language(self) -> None:
        """The language button: the next language of the config (wraps around)."""
        codes = languages(self.kiosk_config)
        index = codes.index(self.language) if self.language in codes else -1
        self.set_language(codes[(index + 1) % len(codes)])

    def set_language(self, code: str) -> None:
        """Show every text in ``code`` (unknown codes fall back, see :func:`kiosk.faces.text_for`)."""
        self.language = code
        config = self.kiosk_config
        keys = {*KIOSK_TEXTS, *(k for texts in config.texts.values() for k in texts)}
        self.t = {key: text_for(config, key, code) for key in keys}
        self.question_text, self.thanks_text = self.t["question"], self.t["thanks"]
        codes = languages(config)
        self.language_label = (
            "   ".join(f"[b]{language_name(c)}[/b]" if c == code else language_name(c) for c in codes)
            if len(codes) > 1
            else ""
        )

    # -- idle, attract, opening hours ---------------------------------------------------------------------

    def note_activity(self) -> None:
        """A touch or key: restart the idle timer."""
        self._cancel(self._idle_event)
        seconds = self.kiosk_config.attract_after_seconds
        if self.screens is not None and self.screens.current in ("admin", "pin"):
            seconds = ADMIN_IDLE_SECONDS
        self._idle_event = Clock.schedule_once(self.on_idle, seconds)

    def on_idle(self, *_: Any) -> None:
        """Nobody touched the kiosk for attract_after_seconds: the attract state (admin screens close)."""
        assert self.screens is not None
        current = self.screens.current
        if current in ("admin", "pin"):
            self.show_question()
            self.note_activity()
        elif current == "ask":
            self.set_language(self.kiosk_config.default_language)
            self._switch("attract")

    def leave_attract(self) -> None:
        """A touch on the attract screen: the question (nothing is recorded)."""
        self.note_activity()
        self.show_question()

    def check_open(self) -> bool:
        """Show the closed screen outside opening hours (the question again when it opens); return if open."""
        assert self.screens is not None
        config = self.kiosk_config
        open_now = is_open(config, config.timezone)
        current = self.screens.current
        if not open_now and current in CUSTOMER_SCREENS:
            self._finish_followup(timed_out=True)
            self._cancel(self._back_event)
            self._switch("closed")
        elif open_now and current == "closed":
            self._switch("ask")
        return open_now

    # -- config and status --------------------------------------------------------------------------------

    def apply_config(self, config: KioskConfig) -> None:
        """Use ``config`` now: texts, languages, scale, follow-up, comment, opening hours, attract time."""
        scale_changed = config.scale != self.kiosk_config.scale or not self._ask_screen().faces
        self.kiosk_config = config
        self.scale = config.scale
        self.comment_enabled = config.comment.enabled
        self.comment_max = config.comment.max_chars
        self.set_language(self.language if self.language in config.texts else config.default_language)
        if scale_changed:
            self._ask_screen().show_scale(config.scale)
        self.check_open()
        self.note_activity()

    def _ask_screen(self) -> AskScreen:
        assert self.screens is not None
        screen: AskScreen = self.screens.get_screen("ask")
        return screen

    def _on_worker_status(self, status: SyncStatus, generation: int) -> None:
        """Called on the worker thread: hop to the UI thread before touching any property or widget. Reports of
        a worker replaced by re-pairing (still finishing its round) are dropped."""
        if generation == self._worker_generation:
            Clock.schedule_once(
                lambda _dt: self.apply_status(status) if generation == self._worker_generation else None
            )

    def apply_status(self, status: SyncStatus) -> None:
        """UI thread: update the status label and apply a changed config."""
        self.last_status = status
        self.show_status(status.describe())
        if status.config is not None:
            self.apply_config(status.config)

    def show_status(self, text: str) -> None:
        """Put ``text`` on the status label, followed by the damaged-outbox note if there is one."""
        self.status_text = "; ".join(filter(None, [text, self._outbox_note()]))

    def _outbox_note(self) -> str | None:
        """The note "outbox was damaged; saved as …" after the outbox was moved aside at start, else None."""
        moved = self.store.recovered_from if self.store is not None else None
        return f"outbox was damaged; saved as {moved.name}" if moved is not None else None

    # -- pairing ------------------------------------------------------------------------------------------

    def show_pairing(self, *, cancellable: bool = False) -> None:
        """The pairing keypad (``cancellable`` when re-pairing a kiosk that already has a token)."""
        self.pair_code, self.pair_message = "", ""
        self.can_cancel_pairing = cancellable
        self.server_text = self.settings.server
        self._switch("pairing")

    def pair_key(self, key: str) -> None:
        """A pairing keypad key: a digit, "back" or "ok"."""
        if self.pair_busy:
            return
        if key == "back":
            self.pair_code = self.pair_code[:-1]
        elif key == "ok":
            self.submit_pairing()
        elif key.isdigit() and len(self.pair_code) < CODE_DIGITS:
            self.pair_code += key
            self.pair_message = ""

    def submit_pairing(self) -> None:
        """Send the code from a background thread; the answer comes back through Clock.schedule_once."""
        if len(self.pair_code) != CODE_DIGITS:
            self.pair_message = f"The pairing code has {CODE_DIGITS} digits."
            return
        self.pair_busy, self.pair_message = True, "Pairing…"
        server, code = self.settings.server, self.pair_code
        threading.Thread(
            target=self._pair_in_background, args=(server, code), name="smilepost-pair", daemon=True
        ).start()

    def _pair_in_background(self, server: str, code: str) -> None:
        try:
            kiosk_id, token = pair(server, code, None, timeout=self.settings.request_timeout, transport=self.transport)
        except Rejected as error:
            message = (
                "That code is wrong, used or expired. Create a new one on the server."
                if error.status == 403
                else f"The server refused the code: {error.message}"
            )
            Clock.schedule_once(lambda _dt: self._pairing_failed(message))
        except Unreachable as error:
            if error.message.startswith("HTTP 429"):
                wait = math.ceil(error.retry_after) if error.retry_after is not None else 60
                message = f"Too many attempts, try again in {wait} s."
            else:
                message = f"Cannot reach the server at {server} ({error.message})."
            Clock.schedule_once(lambda _dt: self._pairing_failed(message))
        except Exception as error:  # never let the thread die silently
            log.exception("pairing failed")
            failure = f"Pairing failed: {error}"
            Clock.schedule_once(lambda _dt: self._pairing_failed(failure))
        else:
            Clock.schedule_once(lambda _dt: self._paired(server, kiosk_id, token))

    def _pairing_failed(self, message: str) -> None:
        self.pair_busy, self.pair_message, self.pair_code = False, message, ""

    def _paired(self, server: str, kiosk_id: str, token: str) -> None:
        """UI thread: keep the credentials, restart syncing with them, show the question."""
        assert self.store is not None
        self.pair_busy = False
        try:
            self.store.save_credentials(server, kiosk_id, token)
        except sqlite3.Error:
            log.exception("could not save the pairing credentials")
            self.pair_message = "Could not save the pairing (storage error)."
            return
        log.info("paired as kiosk %s with %s", kiosk_id, server)
        self.credentials = Credentials(server=server, kiosk_id=kiosk_id, token=token)
        self.settings = self.settings.model_copy(update={"token": None})  # the new token wins over the old one
        self.server_text = server
        self.pair_message = f"Paired as kiosk {kiosk_id}."
        self._start_worker()
        self.show_question()

    def cancel_pairing(self) -> None:
        """Leave the pairing screen of a kiosk that keeps its old token."""
        if self._token() is not None:
            self.show_question()

    # -- admin --------------------------------------------------------------------------------------------

    def admin_gesture(self) -> None:
        """The hidden long press: the PIN pad, or the admin screen directly on a kiosk that is not paired."""
        assert self.screens is not None
        if self.screens.current in ("pin", "admin", "pairing") and self._token() is not None:
            return
        if self._token() is None:
            self.show_admin()
            return
        if self.kiosk_config.admin_pin_hash is None and self.settings.admin_pin is None:
            log.warning("admin screen requested, but no admin PIN is set (config or SMILEPOST_KIOSK_ADMIN_PIN)")
            return
        self._finish_followup(timed_out=True)
        self.pin_entry = ""
        self.pin_message = self._lock_message()
        self._switch("pin")
        self.note_activity()
        if self.pin_message:
            self._schedule_back(PIN_BACK_SECONDS)

    def _lock_message(self) -> str:
        left = self._pin_locked_until - time.monotonic()
        return f"Too many wrong PINs: locked, try again in {math.ceil(left)} s." if left > 0 else ""

    def pin_key(self, key: str) -> None:
        """A PIN keypad key: a digit, "back" or "ok"."""
        if self._lock_message():
            return
        if key == "back":
            self.pin_entry = self.pin_entry[:-1]
        elif key == "ok":
            self.submit_pin()
        elif key.isdigit() and len(self.pin_entry) < PIN_MAX_DIGITS:
            self.pin_entry += key
            self.pin_message = ""

    def submit_pin(self) -> None:
        """Check the PIN: the admin screen, or a message and back to the question (five misses lock 60 s)."""
        if self._lock_message():
            return
        entry, self.pin_entry = self.pin_entry, ""
        if self._pin_ok(entry):
            self._pin_failures = 0
            self.show_admin()
            return
        self._pin_failures += 1
        if self._pin_failures >= PIN_MAX_FAILURES:
            self._pin_failures = 0
            self._pin_locked_until = time.monotonic() + PIN_LOCK_SECONDS
            self.pin_message = self._lock_message()
        else:
            self.pin_message = "Wrong PIN."
        log.warning("wrong admin PIN entered")
        self._schedule_back(PIN_BACK_SECONDS)

    def _pin_ok(self, entry: str) -> bool:
        stored = self.kiosk_config.admin_pin_hash
        if stored is not None:
            try:
                return verify_pin(entry, stored)
            except ValueError:
                log.error("the config's admin_pin_hash is malformed")
                return False
        pin = self.settings.admin_pin
        return pin is not None and hmac.compare_digest(entry.encode(), pin.get_secret_value().encode())

    def show_admin(self) -> None:
        """The admin screen, refreshed every second while it shows."""
        self.refresh_admin()
        self._switch("admin")
        self._cancel(self._admin_refresh)
        self._admin_refresh = Clock.schedule_interval(lambda _dt: self.refresh_admin(), 1.0)
        self.note_activity()

    def refresh_admin(self) -> None:
        """Fill admin_info from the store, the config and the worker's last report."""
        if self.screens is not None and self.screens.current != "admin" and self._admin_refresh is not None:
            self._cancel(self._admin_refresh)
        assert self.store is not None
        counts = self.store.counts()
        status, config = self.last_status, self.kiosk_config
        kiosk_id = self.credentials.kiosk_id if self.credentials else config.kiosk_id
        last_sync = (
            status.last_sync_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            if status and status.last_sync_at
            else "never"
        )
        location = f"{config.location_name} (#{config.location_id}, {config.timezone})" if config.location_id else "—"
        rows = [
            ("Kiosk", kiosk_id if self._token() else "not paired"),
            ("Location", location),
            ("Server", self._server()),
            ("Status", self.status_text or "—"),
            ("Queue", f"{counts.pending} to send" + (f" ({counts.held} awaiting a follow-up)" if counts.held else "")),
            ("Stored", f"{counts.total} taps, {counts.synced} synced"),
            ("Quarantined", f"{counts.quarantined} refused by the server (kept)" if counts.quarantined else "none"),
            ("Outbox", self._outbox_note() or "ok"),
            ("Last sync", last_sync),
            ("Last error", (status.last_error if status and status.last_error else "none")[:120]),
            ("Version", f"smilepost-kiosk {__version__}"),
        ]
        self.admin_info = "\n".join(f"[b]{name}[/b]   {value}" for name, value in rows)

    def sync_now(self) -> None:
        """Admin: wake the sync worker now."""
        if self.worker is not None:
            self.worker.wake()
            self.show_status("syncing…")

    def repair(self) -> None:
        """Admin: pair again (the old token keeps working until the new pairing succeeds)."""
        self._cancel(self._admin_refresh)
        self.show_pairing(cancellable=self._token() is not None)

    def close_admin(self) -> None:
        """Admin: back to the question."""
        self._cancel(self._admin_refresh)
        self.show_question()

    def exit_app(self) -> None:
        """Admin: end the program (every tap is already stored)."""
        self.stop()

    # -- keys (USB button boxes emulate a keypad) ---------------------------------------------------------

    def _on_key_down(self, _window: Any, key: int, _scancode: int, codepoint: str | None, _modifiers: Any) -> bool:
        """Digits act like the faces (1..n; 0-9 for NPS), type on the keypads, or go into a comment."""
        assert self.screens is not None
        self.note_activity()
        current = self.screens.current
        digit = key - 48 if 48 <= key <= 57 else key - 256 if 256 <= key <= 265 else None
        if key == 27:  # escape: no way out for customers
            return True
        if current in ("pairing", "pin"):
            press = self.pair_key if current == "pairing" else self.pin_key
            if digit is not None:
                press(str(digit))
            elif key == 8:
                press("back")
            elif key in (13, 271):
                press("ok")
            return True
        if current == "comment":
            if key == 8:
                self.delete_char()
            elif key in (13, 271):
                self.send_comment()
            elif codepoint and codepoint.isprintable():
                self.type_char(codepoint)
            return True
        if current in ("ask", "thanks", "followup", "attract") and digit is not None:
            scores = scores_for(self.kiosk_config.scale)
            if digit in scores:
                self.tap(digit)
                return True
        return False

    # -- helpers ------------------------------------------------------------------------------------------

    def _switch(self, name: str) -> None:
        assert self.screens is not None
        if self.screens.current != name:
            self.screens.current = name
            self.events.append((f"screen:{name}", time.perf_counter()))

    def _schedule_back(self, seconds: float) -> None:
        self._cancel(self._back_event)
        self._back_event = Clock.schedule_once(self.show_question, seconds)

    @staticmethod
    def _cancel(event: ClockEvent | None) -> None:
        if event is not None:
            event.cancel()


def _load_kv() -> None:
    """Load the .kv rules (again, if a previous app in this process loaded them). Raises kivy's ParserException."""
    for name in KV_FILES:
        path = str(KV_DIR / name)
        Builder.unload_file(path)
        Builder.load_file(path)


def configure_window(settings: KioskSettings) -> None:
    """Kivy Config that must be set before the window exists: fullscreen, no multitouch emulation, and
    Escape never closes the kiosk."""
    Config.set("input", "mouse", "mouse,multitouch_on_demand")
    Config.set("kivy", "exit_on_escape", "0")
    if settings.fullscreen:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "show_cursor", "0")


def run_app(settings: KioskSettings, *, transport: httpx.BaseTransport | None = None) -> None:
    """Build and run the kiosk app until its window closes.

    Raises OSError or sqlite3.Error if the outbox in ``settings.data_dir`` cannot be opened.
    """
    if OFFSCREEN:
        log.info("rendering offscreen: no display was found")
    # Kivy's handler sits on the root logger; the HTTP client's per-request debug lines are noise there.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    configure_window(settings)
    SmilepostKioskApp(settings, transport=transport).run()


__all__ = ["SmilepostKioskApp", "configure_window", "run_app"]
