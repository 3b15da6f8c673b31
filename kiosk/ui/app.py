"""The kiosk's Kivy App: faces (or 0-10 buttons) drawn on the canvas, follow-up reasons, a comment keyboard,
pairing, a PIN-locked admin screen, and the closed / attract states.

The App holds what the ``.kv`` files show (Kivy properties) and asks a :class:`kiosk.flow.KioskFlow` for every
decision (repeat and hold, keys, the PIN lock, idle and opening hours); the work is done by :mod:`kiosk.store`,
:mod:`kiosk.sync` and :mod:`kiosk.hours`, the texts come from :mod:`kiosk.texts`. Widgets live in
:mod:`kiosk.ui.widgets`; the ask, aspect (a further question of a sequence), thanks, closed and attract screens and
the root in :mod:`kiosk.ui.screens`; the follow-up and comment screens (which hold the held tap) in
:mod:`kiosk.ui.followup`; the pairing, PIN and admin screens in :mod:`kiosk.ui.staff`; layout in
``kiosk/ui/kv/*.kv`` (one file per screen, plus widgets and root).
Kivy reads argv and the environment when it is imported, so :mod:`kiosk.ui.kivy_env` prepares both first.

Screens: ``ask`` → ``thanks`` (or ``followup`` → [``comment``] → ``thanks``) → ``ask``; in ``sequence`` mode each
aspect question comes before ``thanks``: ``ask`` → [``followup`` …] → ``aspect`` → [``followup`` …] → ``aspect`` …
→ ``thanks`` (#13; what is asked when is :class:`kiosk.flow.KioskFlow`'s decision); ``attract`` when idle;
``closed`` outside opening hours (nothing is recorded); ``pairing`` until the kiosk has a token; ``pin`` →
``admin`` after a long press in the top-left corner.

Threads: taps are committed on the UI thread (a local SQLite commit, well under a millisecond); the network
is only touched by the :class:`~kiosk.sync.SyncWorker` thread (linked to the UI by :mod:`kiosk.ui.syncing`) and
the pairing thread, whose results reach the widgets through ``Clock.schedule_once``.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kiosk.ui.kivy_env import OFFSCREEN  # prepares the environment Kivy reads on import

# isort: split

import httpx
from kivy.app import App
from kivy.clock import Clock, ClockEvent
from kivy.config import Config
from kivy.lang import Builder
from kivy.properties import DictProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import ScreenManager

from kiosk.flow import (
    RESTING_AFTER_SECONDS,
    UNPAIRED_CONFIG,
    KeyCommand,
    KioskFlow,
    TapPlan,
    after_hours_check,
    after_idle,
    frame_rate,
    new_config_applies_now,
)
from kiosk.hours import is_open
from kiosk.recovery import damage_note
from kiosk.settings import KioskSettings
from kiosk.store import Credentials, Store
from kiosk.sync import SyncStatus, SyncWorker
from kiosk.texts import KIOSK_TEXTS, language_label, next_language, question_text, texts_in
from kiosk.ui.display import wants_touch_probe
from kiosk.ui.followup import CommentScreen, FollowupScreen
from kiosk.ui.screens import AskScreen, AspectScreen, KioskRoot
from kiosk.ui.staff import AdminScreen, PairingScreen, PinScreen
from kiosk.ui.syncing import SyncLink
from shared.protocol import KioskConfig, Tap

log = logging.getLogger(__name__)

KV_DIR = Path(__file__).parent / "kv"
# Shared widgets and screens first, then the root that places them.
KV_FILES = (
    "widgets.kv",
    "ask.kv",
    "aspect.kv",
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
PIN_BACK_SECONDS = 3.0  # a wrong PIN shows its message this long, then the question returns
OPEN_CHECK_SECONDS = 30.0


class SmilepostKioskApp(App):
    """The kiosk. Properties hold what the .kv files show; the public methods are what buttons and keys call."""

    title = "Smilepost"
    t = DictProperty(dict(KIOSK_TEXTS))  # texts of the current language, by key
    question_text = StringProperty("")  # the question on screen (ask or aspect), in the current language
    thanks_text = StringProperty("")
    status_text = StringProperty("")
    language = StringProperty("en")
    language_label = StringProperty("")
    u = NumericProperty(6.0)  # one hundredth of the shorter window side: the unit of every size in the .kv files
    comment_max = NumericProperty(200)
    pin_back_seconds = PIN_BACK_SECONDS  # tests shorten it

    def __init__(self, settings: KioskSettings, *, transport: httpx.BaseTransport | None = None, **kwargs: Any) -> None:
        """``transport`` replaces the network for the sync worker and pairing (tests hand in a MockTransport)."""
        super().__init__(**kwargs)
        self.settings = settings
        self.transport = transport
        self.flow = KioskFlow()  # holds the config in use (App.config is Kivy's own ConfigParser)
        self.store: Store | None = None
        self.syncing = SyncLink(on_status=self.apply_status)
        self.credentials: Credentials | None = None
        self.last_status: SyncStatus | None = None
        self.screens: ScreenManager | None = None
        self._back_event: ClockEvent | None = None
        self._idle_event: ClockEvent | None = None
        self._rest_event: ClockEvent | None = None  # slows the frame rate on a resting screen
        self.events: list[tuple[str, float]] = []  # (what, time.perf_counter()) for tests and benchmarks

    @property
    def worker(self) -> SyncWorker | None:
        """The running sync worker, if any."""
        return self.syncing.worker

    @property
    def kiosk_config(self) -> KioskConfig:
        """The config in use (the server's, cached in the outbox; :data:`kiosk.flow.UNPAIRED_CONFIG` before)."""
        return self.flow.config

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
        self.flow.turn = self.store.question_turn()
        self.credentials = self.store.credentials()
        root = KioskRoot()
        self.screens = root.ids.screens
        cached = self.store.cached_config()
        self.apply_config(cached[0] if cached else UNPAIRED_CONFIG)
        if self.paired:
            self._start_worker()
        else:
            self.show_status("not paired")
            self.show_pairing()
        Clock.schedule_interval(lambda _dt: self.check_open(), OPEN_CHECK_SECONDS)
        return root

    def on_stop(self) -> None:
        """Finish an open follow-up as a timeout, stop the worker, close the outbox."""
        from kivy.core.window import Window

        Window.unbind(size=self._on_window_size, on_key_down=self._on_key_down)
        self._finish_followup(timed_out=True)
        self.syncing.stop(timeout=2.0)
        if self.store is not None:
            self.store.close()

    def _on_window_size(self, _window: Any, size: tuple[int, int]) -> None:
        self.u = max(1.0, min(size) / 100.0)

    @property
    def server_url(self) -> str:
        """The server this kiosk syncs with: the paired one, unless a token was configured with a server."""
        if self.settings.token is None and self.credentials is not None:
            return self.credentials.server
        return self.settings.server

    @property
    def paired(self) -> bool:
        """Whether the kiosk has a token (configured, or from pairing)."""
        return self._token() is not None

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
        self.syncing.start(self.store, self.settings, server=self.server_url, token=token, transport=self.transport)
        self.show_status("connecting")

    # -- customers ----------------------------------------------------------------------------------------

    def tap(self, score: int) -> Tap | None:
        """Commit the answer to the question on screen (UI thread, before anything else), then show its follow-up,
        the customer's next question or thanks; wake sync.

        Outside opening hours nothing is recorded and the closed screen shows; nor is a press on an aspect question
        that has only just appeared (:meth:`kiosk.flow.KioskFlow.settling`). A tap that gets a follow-up question
        is held from sync until it is answered or times out (:meth:`kiosk.flow.KioskFlow.plan_tap`). Returns the
        stored tap, or None if nothing was stored (closed, settling, or SQLite failed: logged, and the customer
        still sees thanks). Raises pydantic.ValidationError if ``score`` is not on the question's scale (a bug).
        """
        assert self.store is not None, "build() opens the store"
        if not self.check_open() or self.flow.settling():
            return None
        self._finish_followup(timed_out=True)  # a button-box press while a follow-up was open
        plan = self.flow.plan_tap(int(score))
        stored = self._record(int(score), plan)
        if stored is not None:
            self.flow.recorded(plan, stored.id)
        self.events.append(("tap", time.perf_counter()))
        if stored is not None and plan.hold:
            self._followup().start(stored.id, plan.reasons, comment=plan.comment)
        else:
            self.next_question()
        self.syncing.wake(check_config=False)  # the config is checked on its period
        return stored

    def _record(self, score: int, plan: TapPlan) -> Tap | None:
        """Store the tap as planned; None if SQLite failed (logged, and the status line says so)."""
        assert self.store is not None
        try:
            return self.store.record_tap(
                score,
                plan.scale,
                plan.question_id,
                flags=plan.flags,
                hold=plan.hold,
                first_tap_id=plan.first_tap_id,
                next_turn=plan.next_turn,
            )
        except (sqlite3.Error, OSError):
            log.exception("could not store a tap")
            self.show_status("storage error")
            return None

    def next_question(self) -> None:
        """The customer is done with the question on screen (answered, its follow-up over, or skipped): their
        next aspect question, else the thank-you screen (:meth:`kiosk.flow.KioskFlow.advance`)."""
        asking = self.flow.advance()
        if asking is None:
            self.show_thanks()
            return
        self._show_asked()
        aspect: AspectScreen = self._screen("aspect")
        aspect.open(asking.question.scale, asking.position, self.flow.question_seconds())
        self.switch_to("aspect")

    def show_thanks(self) -> None:
        """Switch to the thank-you screen now; come back to the question after thank_you_seconds."""
        self.switch_to("thanks")
        self.back_to_question_in(self.kiosk_config.thank_you_seconds)

    def show_question(self, *_: Any) -> None:
        """The next customer's question, in the default language again: the next customer starts fresh."""
        self._cancel(self._back_event)
        self._start_customer()
        self.set_language(self.kiosk_config.default_language)
        self.switch_to("ask" if self.check_open() else "closed")

    def _start_customer(self) -> None:
        """A new customer: the flow picks their question (:meth:`kiosk.flow.KioskFlow.start_customer`)."""
        self.flow.start_customer()
        self._show_asked()

    def _show_asked(self) -> None:
        """The text and scale of the question on screen; a customer's first question gets the ask screen's
        faces (an aspect question's are set by :meth:`kiosk.ui.screens.AspectScreen.open`)."""
        asking = self.flow.asking
        self.question_text = question_text(self.kiosk_config, asking.question, self.language)
        if not asking.aspect:
            ask: AskScreen = self._screen("ask")
            ask.show_scale(asking.question.scale)

    def _finish_followup(self, *, timed_out: bool) -> None:
        """Complete the held tap, if there is one (see :meth:`kiosk.ui.followup.FollowupScreen.finish`)."""
        if self.screens is not None:
            self._followup().finish(timed_out=timed_out)

    def _followup(self) -> FollowupScreen:
        screen: FollowupScreen = self._screen("followup")
        return screen

    # -- languages ----------------------------------------------------------------------------------------

    def next_language(self) -> None:
        """The language button: the next language of the config (wraps around)."""
        self.set_language(next_language(self.kiosk_config, self.language))

    def set_language(self, code: str) -> None:
        """Show every text in ``code`` (unknown codes fall back, see :func:`kiosk.texts.text_for`)."""
        self.language = code
        self.t = texts_in(self.kiosk_config, code)
        self.question_text = question_text(self.kiosk_config, self.flow.asking.question, code)
        self.thanks_text = self.t["thanks"]
        self.language_label = language_label(self.kiosk_config, code)

    # -- idle, attract, opening hours ---------------------------------------------------------------------

    def note_activity(self) -> None:
        """A touch or key: restart the idle timer."""
        self._cancel(self._idle_event)
        screen = self.screens.current if self.screens is not None else ""
        self._idle_event = Clock.schedule_once(self.on_idle, self.flow.idle_seconds(screen))

    def on_idle(self, *_: Any) -> None:
        """Nobody touched the kiosk for attract_after_seconds: the attract state (admin screens close)."""
        assert self.screens is not None
        target = after_idle(self.screens.current)
        if target == "ask":
            self.show_question()
            self.note_activity()
        elif target == "attract":
            self.set_language(self.kiosk_config.default_language)
            self.switch_to("attract")

    def leave_attract(self) -> None:
        """A touch on the attract screen: the question (nothing is recorded)."""
        self.note_activity()
        self.show_question()

    def check_open(self) -> bool:
        """Show the closed screen outside opening hours (the question again when it opens); return if open."""
        assert self.screens is not None
        config = self.kiosk_config
        open_now = is_open(config, config.timezone)
        target = after_hours_check(open_now, self.screens.current)
        if target == "closed":
            self._finish_followup(timed_out=True)
            self._cancel(self._back_event)
            self.switch_to("closed")
        elif target == "ask":
            self._start_customer()
            self.switch_to("ask")
        return open_now

    # -- config and status --------------------------------------------------------------------------------

    def apply_config(self, config: KioskConfig) -> None:
        """Use ``config`` now: texts, languages, questions and scales, follow-up, comment, opening hours, attract
        time. A customer mid-way keeps the questions they started with (:func:`kiosk.flow.new_config_applies_now`).
        """
        assert self.screens is not None
        self.flow.config = config
        self.comment_max = config.comment.max_chars
        if new_config_applies_now(self.screens.current):
            self._start_customer()
        self.set_language(self.language if self.language in config.texts else config.default_language)
        self.check_open()
        self.note_activity()

    def apply_status(self, status: SyncStatus) -> None:
        """UI thread: update the status label and apply a changed config."""
        self.last_status = status
        self.show_status(status.describe())
        if status.config is not None:
            self.apply_config(status.config)

    def show_status(self, text: str) -> None:
        """Put ``text`` on the status label, followed by the damaged-outbox note if there is one."""
        note = damage_note(self.store.recovered_from) if self.store is not None else None
        self.status_text = "; ".join(filter(None, [text, note]))

    # -- staff: pairing, PIN, admin -----------------------------------------------------------------------

    def show_pairing(self, *, cancellable: bool = False) -> None:
        """The pairing keypad (``cancellable`` when re-pairing a kiosk that already has a token)."""
        screen: PairingScreen = self._screen("pairing")
        screen.open(self.settings.server, cancellable=cancellable)
        self.switch_to("pairing")

    def save_pairing(self, server: str, kiosk_id: str, token: str) -> bool:
        """UI thread: keep the credentials from pairing and restart syncing with them. Returns False if they
        could not be stored (logged; the old token, if any, stays in use)."""
        assert self.store is not None
        try:
            self.store.save_credentials(server, kiosk_id, token)
        except sqlite3.Error:
            log.exception("could not save the pairing credentials")
            return False
        log.info("paired as kiosk %s with %s", kiosk_id, server)
        self.credentials = Credentials(server=server, kiosk_id=kiosk_id, token=token)
        self.settings = self.settings.model_copy(update={"token": None})  # the new token wins over the old one
        self._start_worker()
        return True

    def admin_gesture(self) -> None:
        """The hidden long press: the PIN pad, or the admin screen directly on a kiosk that is not paired."""
        assert self.screens is not None
        target = self.flow.admin_gesture(self.screens.current, paired=self.paired, fallback_pin=self.fallback_pin())
        if target == "admin":
            self.show_admin()
        elif target == "pin":
            self.show_pin()

    def show_pin(self) -> None:
        """The PIN pad (an open follow-up ends as a timeout); a locked pad shows why, then the question."""
        self._finish_followup(timed_out=True)
        screen: PinScreen = self._screen("pin")
        locked = screen.open()
        self.switch_to("pin")
        self.note_activity()
        if locked:
            self.back_to_question_in(self.pin_back_seconds)

    def fallback_pin(self) -> str | None:
        """SMILEPOST_KIOSK_ADMIN_PIN, the PIN used when the config sets no admin_pin_hash."""
        return self.settings.admin_pin.get_secret_value() if self.settings.admin_pin is not None else None

    def show_admin(self) -> None:
        """The admin screen, refreshed every second while it shows."""
        screen: AdminScreen = self._screen("admin")
        screen.open()
        self.switch_to("admin")
        self.note_activity()

    # -- keys (USB button boxes emulate a keypad) ---------------------------------------------------------

    def _on_key_down(self, _window: Any, key: int, _scancode: int, codepoint: str | None, _modifiers: Any) -> bool:
        """Digits act like the faces (1..n; 0-9 for NPS), type on the keypads, or go into a comment."""
        assert self.screens is not None
        self.note_activity()
        command = self.flow.key(self.screens.current, key, codepoint)
        if command is None:
            return False
        self._run_key(command)
        return True

    def _run_key(self, command: KeyCommand) -> None:
        assert self.screens is not None
        comment: CommentScreen = self._screen("comment")
        match command.kind:
            case "pad":  # the pairing or PIN keypad
                self._screen(self.screens.current).press(command.text)
            case "delete":
                comment.delete_char()
            case "send":
                comment.send()
            case "type":
                comment.type_char(command.text)
            case "tap":
                self.tap(command.score)

    # -- helpers ------------------------------------------------------------------------------------------

    def _screen(self, name: str) -> Any:
        assert self.screens is not None
        return self.screens.get_screen(name)

    def switch_to(self, name: str) -> None:
        """Make screen ``name`` current (noted in ``events`` with its time)."""
        assert self.screens is not None
        if self.screens.current != name:
            self.screens.current = name
            self.events.append((f"screen:{name}", time.perf_counter()))
            self._pace(name)

    def _pace(self, screen: str) -> None:
        """Full frame rate now; on a resting screen the slower one (:func:`kiosk.flow.frame_rate`) from
        RESTING_AFTER_SECONDS on, once the screen has been drawn."""
        self._cancel(self._rest_event)
        full = Config.getint("graphics", "maxfps")
        _pace_frames(full)
        fps = frame_rate(screen, full)
        if fps < full:
            self._rest_event = Clock.schedule_once(lambda _dt: _pace_frames(fps), RESTING_AFTER_SECONDS)

    def back_to_question_in(self, seconds: float) -> None:
        """Show the question after ``seconds`` (replacing an earlier such timer)."""
        self._cancel(self._back_event)
        self._back_event = Clock.schedule_once(self.show_question, seconds)

    @staticmethod
    def _cancel(event: ClockEvent | None) -> None:
        if event is not None:
            event.cancel()


def _pace_frames(fps: float) -> None:
    """Tick Kivy's clock (and poll input) ``fps`` times a second from the next frame on; the frame rate is
    otherwise fixed at start from Config's ``maxfps``, so this sets the clock's own copy of it (#15: an idle
    kiosk's CPU is this loop, see :func:`kiosk.flow.frame_rate`)."""
    if fps > 0 and hasattr(Clock, "_max_fps"):
        Clock._max_fps = float(fps)


def _load_kv() -> None:
    """Load the .kv rules (again, if a previous app in this process loaded them). Raises kivy's ParserException."""
    for name in KV_FILES:
        path = str(KV_DIR / name)
        Builder.unload_file(path)
        Builder.load_file(path)


def configure_window(settings: KioskSettings, *, touch_probe: bool = True) -> None:
    """Kivy Config that must be set before the window exists: fullscreen, no multitouch emulation, Escape never
    closes the kiosk, and without ``touch_probe`` no hardware touchscreen probe (Kivy's ``probesysfs`` input
    providers, see :func:`kiosk.ui.display.wants_touch_probe`)."""
    Config.set("input", "mouse", "mouse,multitouch_on_demand")
    Config.set("kivy", "exit_on_escape", "0")
    if not touch_probe:
        for name, value in Config.items("input"):
            if value.split(",", 1)[0] == "probesysfs":
                Config.remove_option("input", name)
    if settings.fullscreen:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "show_cursor", "0")


def run_app(
    settings: KioskSettings, *, transport: httpx.BaseTransport | None = None, touch_probe: bool | None = None
) -> None:
    """Build and run the kiosk app until its window closes or Ctrl-C (SIGINT) stops it.

    ``touch_probe``: probe for hardware touchscreens (None: where :func:`kiosk.ui.display.wants_touch_probe` says).
    Ctrl-C stops the app the way closing its window does (:meth:`SmilepostKioskApp.on_stop` finishes an open
    follow-up, stops the sync worker and closes the outbox), not with a KeyboardInterrupt in Kivy's main loop.
    Raises OSError or sqlite3.Error if the outbox in ``settings.data_dir`` cannot be opened.
    """
    if OFFSCREEN:
        log.info("rendering offscreen: no display was found")
    # Kivy's handler sits on the root logger; the HTTP client's per-request debug lines are noise there.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    configure_window(settings, touch_probe=wants_touch_probe() if touch_probe is None else touch_probe)
    app = SmilepostKioskApp(settings, transport=transport)
    with _stopped_by_interrupt(app):
        app.run()


@contextmanager
def _stopped_by_interrupt(app: App) -> Iterator[None]:
    """While inside, SIGINT asks ``app`` to stop on its next frame (only the main thread may handle signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: Clock.schedule_once(lambda _dt: app.stop()))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


__all__ = ["SmilepostKioskApp", "configure_window", "run_app"]
