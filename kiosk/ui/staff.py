"""The staff screens: pairing (type the 8-digit code; the server answers on a background thread), the admin PIN
pad, and the admin screen. Each holds what its ``.kv`` shows as Kivy properties; the decisions (keypad entry,
the PIN lock, what a failed pairing says) come from :mod:`kiosk.flow`, the work from the app.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, cast

import kiosk.ui.kivy_env  # noqa: F401  (prepares the environment Kivy reads on import)

# isort: split

import httpx
from kivy.app import App
from kivy.clock import Clock, ClockEvent
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk import __version__
from kiosk.flow import NO_NOTICE, PAIRING, SAVE_FAILED, Notice, admin_rows, code_problem, paired_notice, pairing_failure
from kiosk.recovery import damage_note
from kiosk.sync import SyncError, pair

if TYPE_CHECKING:
    from kiosk.ui.app import SmilepostKioskApp

log = logging.getLogger(__name__)

ADMIN_REFRESH_SECONDS = 1.0


def _app() -> SmilepostKioskApp:
    return cast("SmilepostKioskApp", App.get_running_app())


class PairingScreen(Screen):
    """Eight-digit code on a numeric keypad; shows the server it will pair with and the answer."""

    code = StringProperty("")  # the digits typed
    message = StringProperty("")
    message_ok = BooleanProperty(False)  # the message is progress or success (green), not a problem (red)
    busy = BooleanProperty(False)  # a pairing request is under way: the keypad is disabled
    can_cancel = BooleanProperty(False)
    server = StringProperty("")

    def open(self, server: str, *, cancellable: bool) -> None:
        """Start over: no digits, no message; ``cancellable`` when re-pairing a kiosk that keeps its old token."""
        _app().flow.pair_code.take()
        self.code = ""
        self._notify(NO_NOTICE)
        self.can_cancel = cancellable
        self.server = server

    def press(self, key: str) -> None:
        """A keypad key: a digit, "back" or "ok" (ignored while a request is under way)."""
        if self.busy:
            return
        entry = _app().flow.pair_code
        result = entry.press(key)
        self.code = entry.text
        if result == "submit":
            self.submit()
        elif result == "typed":
            self._notify(NO_NOTICE)

    def submit(self) -> None:
        """Send the code from a background thread; the answer comes back through Clock.schedule_once."""
        problem = code_problem(self.code)
        if problem is not None:
            self._notify(problem)
            return
        self.busy = True
        self._notify(PAIRING)
        app = _app()
        args = (app.settings.server, self.code, app.settings.request_timeout, app.transport)
        threading.Thread(target=self._pair_in_background, args=args, name="smilepost-pair", daemon=True).start()

    def cancel(self) -> None:
        """Leave the pairing screen of a kiosk that keeps its old token."""
        app = _app()
        if app.paired:
            app.show_question()

    def _pair_in_background(
        self, server: str, code: str, timeout: float, transport: httpx.BaseTransport | None
    ) -> None:
        """Pairing thread: ask the server, then hop to the UI thread with the outcome."""
        try:
            kiosk_id, token = pair(server, code, None, timeout=timeout, transport=transport)
        except Exception as error:  # never let the thread die silently
            if not isinstance(error, SyncError):
                log.exception("pairing failed")
            notice = pairing_failure(error, server)
            Clock.schedule_once(lambda _dt: self._failed(notice))
        else:
            Clock.schedule_once(lambda _dt: self._paired(server, kiosk_id, token))

    def _failed(self, notice: Notice) -> None:
        self.busy = False
        self._notify(notice)
        _app().flow.pair_code.take()
        self.code = ""

    def _paired(self, server: str, kiosk_id: str, token: str) -> None:
        """UI thread: keep the credentials (the app restarts syncing with them), show the question."""
        self.busy = False
        app = _app()
        if not app.save_pairing(server, kiosk_id, token):
            self._notify(SAVE_FAILED)
            return
        self.server = server
        self._notify(paired_notice(kiosk_id))
        app.show_question()

    def _notify(self, notice: Notice) -> None:
        self.message, self.message_ok = notice.text, notice.ok


class PinScreen(Screen):
    """The admin PIN pad; the entry shows as dots. A wrong PIN shows its message, then the question returns."""

    entry = StringProperty("")  # the digits typed
    message = StringProperty("")

    def open(self) -> bool:
        """Start over with no digits; return whether the pad is locked (its message then shows)."""
        gate = _app().flow.pin
        gate.entry.take()
        self.entry = ""
        self.message = gate.lock_message()
        return bool(self.message)

    def press(self, key: str) -> None:
        """A keypad key: a digit, "back" or "ok" (ignored while locked)."""
        gate = _app().flow.pin
        result = gate.press(key)
        self.entry = gate.entry.text
        if result == "submit":
            self.submit()
        elif result == "typed":
            self.message = ""

    def submit(self) -> None:
        """Check the PIN: the admin screen, or a message and back to the question (five misses lock 60 s)."""
        app = _app()
        fallback = app.fallback_pin()
        outcome = app.flow.pin.submit(lambda entry: app.flow.pin_matches(entry, fallback))
        self.entry = app.flow.pin.entry.text
        if outcome is None:  # locked
            return
        if outcome.accepted:
            app.show_admin()
            return
        self.message = outcome.message
        log.warning("wrong admin PIN entered")
        app.back_to_question_in(app.pin_back_seconds)


class AdminScreen(Screen):
    """Kiosk id, location, server, status, queue, quarantined taps, outbox, last sync and error, version; refreshed
    every second while it shows. Buttons: sync now, re-pair, back (the question) and exit."""

    info = StringProperty("")  # Kivy markup, one "[b]name[/b]   value" line per row

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._refresh: ClockEvent | None = None

    def open(self) -> None:
        """Fill the rows now and refresh them every second until the screen is left."""
        self.refresh()
        self._stop_refreshing()
        self._refresh = Clock.schedule_interval(lambda _dt: self.refresh(), ADMIN_REFRESH_SECONDS)

    def refresh(self) -> None:
        """Fill ``info`` from the store, the config and the sync worker's last report."""
        app = _app()
        assert app.store is not None
        config = app.kiosk_config
        kiosk_id = app.credentials.kiosk_id if app.credentials else config.kiosk_id
        rows = admin_rows(
            kiosk_id=kiosk_id if app.paired else None,
            config=config,
            server=app.server_url,
            status_text=app.status_text,
            counts=app.store.counts(),
            last_status=app.last_status,
            outbox_note=damage_note(app.store.recovered_from),
            version=__version__,
        )
        self.info = "\n".join(f"[b]{name}[/b]   {value}" for name, value in rows)

    def sync_now(self) -> None:
        """Wake the sync worker now."""
        app = _app()
        if app.worker is not None:
            app.worker.wake()
            app.show_status("syncing…")

    def repair(self) -> None:
        """Pair again (the old token keeps working until the new pairing succeeds)."""
        app = _app()
        app.show_pairing(cancellable=app.paired)

    def on_leave(self, *_: Any) -> None:
        self._stop_refreshing()

    def _stop_refreshing(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
        self._refresh = None


__all__ = ["AdminScreen", "PairingScreen", "PinScreen"]
