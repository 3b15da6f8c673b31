"""The kiosk's Kivy app: an ask screen of faces drawn on the canvas, and a thank-you screen.

Kivy reads argv and the environment when it is imported, so this module prepares both first
(``KIVY_NO_ARGS=1``; the offscreen SDL driver when there is no display) and is the only module of the
kiosk that imports Kivy. Layout lives in ``kiosk/kv/*.kv`` (root, ask, thanks); the .kv files call named
methods of :class:`SmilepostKioskApp`, whose work is done by :mod:`kiosk.store` and :mod:`kiosk.sync`.

Threads: taps are committed on the UI thread (a local SQLite commit, well under a millisecond); the network
is only touched by the :class:`~kiosk.sync.SyncWorker` thread, whose reports reach the widgets through
``Clock.schedule_once``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("KIVY_NO_ARGS", "1")  # before any kivy import: kivy must not parse our argv

from kiosk.display import prepare_kivy_environment  # noqa: E402

OFFSCREEN = prepare_kivy_environment()  # before any kivy import: picks SDL's offscreen driver if headless

from kivy.app import App  # noqa: E402
from kivy.clock import Clock, ClockEvent  # noqa: E402
from kivy.config import Config  # noqa: E402
from kivy.graphics import Color, Ellipse, Line  # noqa: E402
from kivy.lang import Builder  # noqa: E402
from kivy.properties import NumericProperty, StringProperty  # noqa: E402
from kivy.uix.behaviors import ButtonBehavior  # noqa: E402
from kivy.uix.floatlayout import FloatLayout  # noqa: E402
from kivy.uix.screenmanager import Screen, ScreenManager  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402

from kiosk.faces import UNPAIRED_CONFIG, face_colour, mood, mouth, scores_for, text_for  # noqa: E402
from kiosk.settings import KioskSettings  # noqa: E402
from kiosk.store import Store  # noqa: E402
from kiosk.sync import SyncStatus, SyncWorker, make_client  # noqa: E402
from shared.protocol import KioskConfig, Tap  # noqa: E402

log = logging.getLogger(__name__)

KV_DIR = Path(__file__).parent / "kv"
KV_FILES = ("ask.kv", "thanks.kv", "root.kv")  # screens first, then the root that places them
BACKGROUND = (0.97, 0.96, 0.93, 1)
INK = (0.16, 0.11, 0.10, 1)


class FaceButton(ButtonBehavior, Widget):
    """One face, drawn on the canvas: colour and mouth follow ``mood`` (0 saddest .. 1 happiest).

    The whole widget is the touch target, so targets grow with the window.
    """

    score = NumericProperty(1)
    mood = NumericProperty(0.5)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self.redraw, size=self.redraw, mood=self.redraw, state=self.redraw)
        self.redraw()

    def redraw(self, *_: Any) -> None:
        """Draw face, eyes and mouth to fit the widget (slightly smaller while pressed)."""
        radius = min(self.width, self.height) * (0.42 if self.state == "down" else 0.45)
        cx, cy = self.center
        self.canvas.clear()
        with self.canvas:
            Color(0, 0, 0, 0.12)
            Ellipse(pos=(cx - radius, cy - radius * 1.06), size=(2 * radius, 2 * radius))
            Color(*face_colour(self.mood))
            Ellipse(pos=(cx - radius, cy - radius), size=(2 * radius, 2 * radius))
            Color(*INK)
            eye_w, eye_h = radius * 0.22, radius * 0.30
            for dx in (-0.34, 0.34):
                Ellipse(pos=(cx + dx * radius - eye_w / 2, cy + 0.12 * radius), size=(eye_w, eye_h))
            Line(bezier=mouth(self.mood).points(cx, cy, radius), width=max(1.5, radius * 0.075), cap="round")


class AskScreen(Screen):
    """The question and its faces."""

    def show_faces(self, scale: int) -> None:
        """Replace the faces with one FaceButton per score of ``scale``. Raises ValueError for an unknown scale."""
        box = self.ids.faces
        box.clear_widgets()
        for score in scores_for(scale):
            box.add_widget(FaceButton(score=score, mood=mood(score, scale)))

    @property
    def faces(self) -> list[FaceButton]:
        """The face buttons, saddest first."""
        return list(reversed(self.ids.faces.children))


class ThanksScreen(Screen):
    """Shown for ``thank_you_seconds`` after each tap."""


class KioskRoot(FloatLayout):
    """Screens plus the status label (see root.kv)."""


class SmilepostKioskApp(App):
    """The kiosk. Properties hold what the .kv files show; ``tap`` is what a face calls."""

    title = "Smilepost"
    question_text = StringProperty("")
    thanks_text = StringProperty("")
    status_text = StringProperty("")
    scale = NumericProperty(5)

    def __init__(self, settings: KioskSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.store: Store | None = None
        self.worker: SyncWorker | None = None
        self.kiosk_config: KioskConfig = UNPAIRED_CONFIG  # App.config is Kivy's own ConfigParser
        self.screens: ScreenManager | None = None
        self._last_tap_mono: float | None = None
        self._back_event: ClockEvent | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------

    def build(self) -> KioskRoot:
        """Open the outbox, load the cached config, build the screens and start syncing if paired.

        Raises OSError or sqlite3.Error if the outbox cannot be opened.
        """
        from kivy.core.window import Window  # creates the window: after run_app's Config.set calls

        Window.clearcolor = BACKGROUND
        _load_kv()
        self.store = Store.open(self.settings.data_dir)
        root = KioskRoot()
        self.screens = root.ids.screens
        cached = self.store.cached_config()
        self.apply_config(cached[0] if cached else UNPAIRED_CONFIG)
        self._start_worker()
        return root

    def on_stop(self) -> None:
        """Stop the worker and close the outbox (every tap is already committed)."""
        if self.worker is not None:
            self.worker.stop(timeout=2.0)
        if self.store is not None:
            self.store.close()

    def _start_worker(self) -> None:
        assert self.store is not None
        if self.settings.token is None:
            self.status_text = "not paired"
            return
        server, token = self.settings.server, self.settings.token.get_secret_value()
        timeout = self.settings.request_timeout
        self.worker = SyncWorker(
            self.store.path,
            lambda: make_client(server, token, timeout=timeout),
            interval=self.settings.sync_interval,
            on_status=self._on_worker_status,
            batch_size=self.settings.batch_size,
            boot_id=self.store.boot_id,
        )
        self.status_text = "connecting"
        self.worker.start()

    # -- what the screens call ----------------------------------------------------------------------------

    def tap(self, score: int) -> Tap | None:
        """Commit the tap (UI thread, before anything else), show thanks, wake the sync worker.

        Returns the stored tap, or None if SQLite failed (logged; the customer still sees thanks).
        Raises pydantic.ValidationError if ``score`` is not on the current scale (a bug, not a customer).
        """
        assert self.store is not None, "build() opens the store"
        config = self.kiosk_config
        now = time.monotonic()
        repeat = self._last_tap_mono is not None and now - self._last_tap_mono < config.repeat_press_seconds
        self._last_tap_mono = now
        stored: Tap | None = None
        try:
            stored = self.store.record_tap(
                int(score), config.scale, config.question_id, flags=["repeat"] if repeat else []
            )
        except (sqlite3.Error, OSError):
            log.exception("could not store a tap")
            self.status_text = "storage error"
        self.show_thanks()
        if self.worker is not None:
            self.worker.wake()
        return stored

    def show_thanks(self) -> None:
        """Switch to the thank-you screen now; come back to the question after thank_you_seconds."""
        assert self.screens is not None
        self.screens.current = "thanks"
        if self._back_event is not None:
            self._back_event.cancel()
        self._back_event = Clock.schedule_once(self.show_question, self.kiosk_config.thank_you_seconds)

    def show_question(self, *_: Any) -> None:
        """Switch to the ask screen."""
        assert self.screens is not None
        self.screens.current = "ask"

    def apply_config(self, config: KioskConfig) -> None:
        """Show ``config`` now: question and thanks texts, and the faces if the scale changed."""
        scale_changed = config.scale != self.kiosk_config.scale or not self._ask_screen().faces
        self.kiosk_config = config
        self.question_text = text_for(config, "question")
        self.thanks_text = text_for(config, "thanks")
        self.scale = config.scale
        if scale_changed:
            self._ask_screen().show_faces(config.scale)

    def _ask_screen(self) -> AskScreen:
        assert self.screens is not None
        screen: AskScreen = self.screens.get_screen("ask")
        return screen

    # -- from the sync worker -----------------------------------------------------------------------------

    def _on_worker_status(self, status: SyncStatus) -> None:
        """Called on the worker thread: hop to the UI thread before touching any property or widget."""
        Clock.schedule_once(lambda _dt: self.apply_status(status))

    def apply_status(self, status: SyncStatus) -> None:
        """UI thread: update the status label and apply a changed config."""
        self.status_text = status.describe()
        if status.config is not None:
            self.apply_config(status.config)


def _load_kv() -> None:
    """Load the .kv rules (again, if a previous app in this process loaded them). Raises kivy's ParserException."""
    for name in KV_FILES:
        path = str(KV_DIR / name)
        Builder.unload_file(path)
        Builder.load_file(path)


def configure_window(settings: KioskSettings) -> None:
    """Kivy Config that must be set before the window exists (fullscreen, no multitouch emulation)."""
    Config.set("input", "mouse", "mouse,multitouch_on_demand")
    if settings.fullscreen:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("kivy", "exit_on_escape", "0")


def run_app(settings: KioskSettings) -> None:
    """Build and run the kiosk app until its window closes.

    Raises OSError or sqlite3.Error if the outbox in ``settings.data_dir`` cannot be opened.
    """
    if OFFSCREEN:
        log.info("rendering offscreen: no display was found")
    # Kivy's handler sits on the root logger; the HTTP client's per-request debug lines are noise there.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    configure_window(settings)
    SmilepostKioskApp(settings).run()
