"""Drive the real kiosk app in a real (offscreen) Kivy window; run in a subprocess by :func:`run_driver`.

A Kivy Window is a per-process singleton, so each run gets its own process, and runs several scenarios one
after the other (the app's config is changed live between them, as the sync worker would). Buttons are pressed
with simulated touches (``UnitTestTouch``) at their centres, keys go through ``Window.dispatch("on_key_down")``.
Each scenario writes what it saw (screens, texts, outbox rows, what the fake server received) into the result
JSON; screenshots go to OUT_DIR. The test asserts on that.

Without ``--server`` the kiosk is paired with a fake server (``httpx.MockTransport``, :class:`FakeServer`)
that serves config with an ETag, accepts taps, and answers pairing codes. With ``--server URL`` the kiosk starts
unpaired against a real server and the ``pair_real`` scenario types ``--code`` on the keypad.

Usage: python -m tests.support.kiosk_driver DATA_DIR OUT_DIR RESULT_JSON --scenarios a,b,c [--server URL
--code CODE] [--size WxH]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kiosk.ui.clockscript import ClockScript

WATCHDOG_SECONDS = 100
THANKS = 0.3  # thank_you_seconds in the scenarios
PIN = "246813"
FAST_PIN_HASH = "scrypt$1024$8$1$00112233445566778899aabbccddeeff$"  # completed in main()

Steps = Iterator[float]


def base_config(**overrides: Any) -> Any:
    """The scenarios' config: quick thanks, no repeat window, no attract screen during a scenario."""
    from tests.support.kiosk_config import make_config

    defaults: dict[str, Any] = {
        "kiosk_id": "k-test",
        "location_id": 7,
        "scale": 5,
        "texts": {"en": {"question": "How was security today?", "thanks": "Thank you!"}},
        "thank_you_seconds": THANKS,
        "repeat_press_seconds": 0,
        "attract_after_seconds": 600,
    }
    return make_config(**{**defaults, **overrides})


ROTATE_QUESTIONS = [
    {"id": "staff", "scale": 3, "texts": {"en": {"question": "Were the staff friendly?"}}},
    {"id": "recommend", "scale": 11, "texts": {"nb": {"question": "Vil du anbefale oss?"}}},  # no English text
]
SEQUENCE_QUESTIONS = [
    {
        "id": "staff",
        "scale": 3,
        "texts": {"en": {"question": "Were the staff friendly?", "reason.rude": "Rude"}},
        "followup": {"negative_reasons": ["rude", "slow_staff"], "timeout_seconds": 5},
    },
    {"id": "recommend", "scale": 11},  # no texts at all: its id made readable
]


class FakeServer:
    """The server's side of the protocol, in memory: config with ETag, taps, pairing (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.config = base_config()
        self.token = "tok-1"
        self.received: list[dict[str, Any]] = []
        self.pair_answers: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {}
        self.refused_scores: set[int] = set()  # taps with these scores get a 422 naming them

    def handle(self, request: Any) -> Any:
        import httpx

        with self.lock:
            if request.url.path == "/api/v1/pair":
                code = json.loads(request.content)["code"]
                status, body, headers = self.pair_answers.get(
                    code, (403, {"message": "invalid or expired pairing code"}, {})
                )
                if status == 200:
                    self.token = body["token"]
                return httpx.Response(status, json=body, headers=headers)
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                return httpx.Response(401, json={"message": "unknown or revoked token"})
            if request.url.path == "/api/v1/kiosk/config":
                etag = f'"{hash(self.config.model_dump_json()) & 0xFFFFFFFF:x}"'
                if request.headers.get("If-None-Match") == etag:
                    return httpx.Response(304)
                return httpx.Response(200, content=self.config.model_dump_json(), headers={"ETag": etag})
            if request.url.path == "/api/v1/kiosk/heartbeat":
                return httpx.Response(204)
            taps = json.loads(request.content)["taps"]
            bad = [i for i, tap in enumerate(taps) if tap["score"] in self.refused_scores]
            if bad:
                detail = [{"loc": ["body", "taps", i, "score"], "msg": "refused", "type": "value_error"} for i in bad]
                return httpx.Response(422, json={"message": f"taps.{bad[0]}.score: refused", "detail": detail})
            self.received.extend(taps)
            return httpx.Response(
                200,
                json={"accepted": len(taps), "duplicates": 0, "conflicts": [], "server_time": "2026-11-22T10:00:05Z"},
            )


class Driver(ClockScript):
    """Runs the scenarios on Kivy's Clock; each step yields how many seconds to wait."""

    def __init__(self, app: Any, out_dir: Path, scenarios: list[str], fake: FakeServer | None, code: str) -> None:
        super().__init__(app)
        self.out_dir, self.fake, self.code = out_dir, fake, code
        self.scenarios = scenarios
        self.result: dict[str, Any] = {"error": None, "screenshots": []}

    # -- plumbing ---------------------------------------------------------------------------------------

    def start(self, *_: Any) -> None:
        from kivy.clock import Clock

        Clock.schedule_once(self.watchdog, WATCHDOG_SECONDS)
        self.advance()

    def watchdog(self, *_: Any) -> None:
        self.fail(f"watchdog: scenarios did not finish in {WATCHDOG_SECONDS} s")

    def steps(self) -> Steps:
        yield 0.3  # let the layout settle
        with sqlite3.connect(self.app.store.path) as db:
            first = db.execute("SELECT score, flags, held FROM taps WHERE seq = 1").fetchone()
        self.result["start"] = {"screen": self.screen, "status": self.app.status_text, "first_tap": first}
        for name in self.scenarios:
            self.seq0 = self.max_seq()
            self.out: dict[str, Any] = {}
            self.result[name] = self.out
            yield from getattr(self, f"scenario_{name}")()
            self.out["rows"] = self.rows()

    # -- helpers ----------------------------------------------------------------------------------------

    @property
    def screen(self) -> str:
        return str(self.app.screens.current)

    def widget(self, screen: str, wid: str) -> Any:
        return self.app.screens.get_screen(screen).ids[wid]

    def press(self, widget: Any) -> None:
        """A simulated finger on the widget's centre, down and up."""
        from kivy.tests.common import UnitTestTouch

        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def key(self, keycode: int, char: str = "") -> None:
        from kivy.core.window import Window

        Window.dispatch("on_key_down", keycode, 0, char, [])
        Window.dispatch("on_key_up", keycode, 0)

    def shot(self, name: str) -> None:
        """Save the current frame. Slow (PNG encoding): yield before a step that starts a timer."""
        from kivy.core.window import Window

        target = self.out_dir / f"{name}.png"
        Path(Window.screenshot(name=str(target))).replace(target)
        self.result["screenshots"].append(str(target))

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> Steps:
        end = time.monotonic() + timeout
        while not condition() and time.monotonic() < end:
            yield 0.05

    def configure(self, **overrides: Any) -> Steps:
        """A new config, applied as the sync worker applies one; back on the question, no repeat memory."""
        self.app.apply_config(base_config(**overrides))
        self.app.show_question()
        self.app.flow.forget_last_press()
        yield 0.1  # ScreenManager ignores touches until its (zero-length) transition has finished a frame

    def back_to_ask(self) -> Steps:
        yield from self.wait_for(lambda: self.screen == "ask", 10)
        yield 0.1

    def max_seq(self) -> int:
        with sqlite3.connect(self.app.store.path) as db:
            return int(db.execute("SELECT coalesce(max(seq), 0) FROM taps").fetchone()[0])

    def rows(self) -> list[dict[str, Any]]:
        """Outbox rows made during the current scenario."""
        with sqlite3.connect(self.app.store.path) as db:
            db.row_factory = sqlite3.Row
            found = db.execute(
                "SELECT id, question_id, score, scale, flags, followup, comment, held, synced_at, first_tap_id"
                " FROM taps WHERE seq > ? ORDER BY seq",
                (self.seq0,),
            ).fetchall()
        return [{**dict(r), "flags": json.loads(r["flags"]), "synced": r["synced_at"] is not None} for r in found]

    def tap_face(self, index: int) -> dict[str, Any]:
        face = self.app.screens.get_screen("ask").faces[index]
        self.press(face)
        return {"score": int(face.score), "screen_after_release": self.screen}

    # -- scenarios --------------------------------------------------------------------------------------

    def scenario_faces(self) -> Steps:
        """Every face of scales 3, 4, 5 pressed by touch: thanks on the next frame, back to the question."""
        from kivy.core.window import Window

        self.out["window_size"] = list(Window.size)
        for scale in (3, 4, 5):
            yield from self.configure(scale=scale)
            faces = self.app.screens.get_screen("ask").faces
            presses: list[dict[str, Any]] = []
            self.out[f"scale{scale}"] = {
                "scores": [int(f.score) for f in faces],
                "sizes": [list(f.size) for f in faces],
                "presses": presses,
            }
            self.shot(f"ask-scale{scale}")
            yield 0.05  # Clock times a schedule_once from the frame's start: a slow screenshot would eat it
            for index in range(len(faces)):
                pressed_at = time.perf_counter()
                press = self.tap_face(index)
                yield 0  # the next frame
                press["screen_next_frame"] = self.screen
                press["frame_ms"] = round((time.perf_counter() - pressed_at) * 1000, 1)
                if index == 0 and scale == 5:
                    yield 0.05
                    self.shot("thanks")
                yield from self.back_to_ask()
                press["returned_to_ask"] = self.screen == "ask"
                presses.append(press)

    def scenario_nps(self) -> Steps:
        """The 0-10 scale: 11 buttons (0 left), touches and the keys 0-9."""
        yield from self.configure(scale=11, texts={"en": {"question": "Would you recommend us to a friend?"}})
        buttons = self.app.screens.get_screen("ask").faces
        self.out["labels"] = [b.text for b in buttons]
        self.out["x"] = [b.x for b in buttons]
        self.shot("nps")
        for index in (0, 10):
            self.press(buttons[index])
            yield 0
            yield from self.back_to_ask()
        for digit in range(10):
            self.key(48 + digit, str(digit))
            yield 0
        self.out["screen_after_keys"] = self.screen
        yield from self.back_to_ask()

    def scenario_keys(self) -> Steps:
        """Keys 1..n act like the faces (number row and keypad); other digits do nothing."""
        yield from self.configure(scale=4)
        for keycode, char in ((49, "1"), (50, "2"), (51, "3"), (52, "4"), (258, "2"), (53, "5"), (48, "0")):
            self.key(keycode, char)
            yield 0
        self.key(27)  # escape: no way out
        yield 0.1
        self.out["running_after_escape"] = self.app.root is not None
        yield from self.back_to_ask()

    def scenario_repeat(self) -> Steps:
        """Presses inside repeat_press_seconds are flagged, and get no follow-up question."""
        yield from self.configure(
            scale=3, repeat_press_seconds=60, followup={"negative_reasons": ["rude"], "timeout_seconds": 1}
        )
        for _ in range(3):
            self.tap_face(0)
            self.out.setdefault("screens", []).append(self.screen)  # at once, as above
            yield 0
            if self.screen == "followup":
                self.press(self.widget("followup", "skip"))
            yield from self.back_to_ask()

    def scenario_language(self) -> Steps:
        """The language button cycles the languages; after the customer the default language is back."""
        texts = {
            "en": {"question": "How was it?", "thanks": "Thank you!"},
            "nb": {"question": "Hvordan var det?", "thanks": "Tusen takk!"},
            "de": {"question": "Wie war es?"},  # no thanks text: falls back to the default language
        }
        yield from self.configure(texts=texts, default_language="en")
        button = self.widget("ask", "language")
        seen = self.out["seen"] = [(self.app.language, self.widget("ask", "question").text, button.text)]
        for _ in range(3):
            self.press(button)
            yield 0.05
            seen.append((self.app.language, self.widget("ask", "question").text, button.text))
        self.press(button)  # to nb
        yield 0.05
        self.shot("ask-nb")
        self.tap_face(3)
        yield 0.05
        self.out["thanks_shown"] = self.widget("thanks", "thanks").text
        yield from self.back_to_ask()
        self.out["after_customer"] = (self.app.language, self.widget("ask", "question").text)
        self.press(button)  # nb, then the customer walks away: attract resets it as well
        yield 0.05
        self.app.on_idle()
        yield 0.05
        self.out["after_idle"] = (self.screen, self.app.language)
        self.app.leave_attract()
        yield 0.05

    def scenario_closed(self) -> Steps:
        """Outside opening hours: the closed screen, and neither touches nor keys record anything."""
        yield from self.configure(
            opening_hours={}, texts={"en": {"question": "Q?", "closed": "Closed. Back at 06:00."}}
        )
        self.out["screen"] = self.screen
        self.out["text"] = self.widget("closed", "closed").text
        self.shot("closed")
        from kivy.core.window import Window
        from kivy.tests.common import UnitTestTouch

        for x in (0.1, 0.5, 0.9):
            touch = UnitTestTouch(Window.width * x, Window.height * 0.4)
            touch.touch_down()
            touch.touch_up()
            yield 0
        self.key(49, "1")
        yield 0.1
        self.out["tap_returned"] = self.app.tap(3)  # even a direct call records nothing
        self.out["screen_after"] = self.screen
        yield from self.configure(opening_hours=None)
        self.out["screen_when_open"] = self.screen

    def scenario_attract(self) -> Steps:
        """Idle for attract_after_seconds: the attract screen; a touch brings the question, recording nothing."""
        yield from self.configure(attract_after_seconds=0.5, texts={"en": {"question": "Q?", "attract": "Hello!"}})
        yield 0.9
        self.out["screen_idle"] = self.screen
        self.out["text"] = self.widget("attract", "attract").text
        self.shot("attract")
        from kivy.core.window import Window
        from kivy.tests.common import UnitTestTouch

        touch = UnitTestTouch(Window.width / 2, Window.height / 2)
        touch.touch_down()
        touch.touch_up()
        yield 0.05
        self.out["screen_after_touch"] = self.screen
        yield from self.configure(attract_after_seconds=600)

    def scenario_live_config(self) -> Steps:
        """The server's config changes; the worker fetches it and the screen follows without a restart."""
        assert self.fake is not None
        yield from self.wait_for(lambda: self.app.status_text == "synced", 10)
        with self.fake.lock:
            self.fake.config = base_config(
                scale=3,
                texts={"en": {"question": "Changed question?", "thanks": "Danke!"}},
                followup={"negative_reasons": ["slow"]},
                opening_hours={"mon": [("00:00", "24:00")]},
            )
        self.app.worker.wake()
        yield from self.wait_for(lambda: self.app.question_text == "Changed question?", 10)
        ask = self.app.screens.get_screen("ask")
        self.out["after"] = {
            "question": self.widget("ask", "question").text,
            "thanks": self.app.t["thanks"],
            "scores": [int(f.score) for f in ask.faces],
            "followup": self.app.kiosk_config.followup.negative_reasons,
            "opening_hours": self.app.kiosk_config.opening_hours,
            "status": self.app.status_text,
        }
        cached = self.app.store.cached_config()
        self.out["cached_question"] = cached[0].texts["en"]["question"]
        with self.fake.lock:
            self.fake.config = base_config()
        self.app.worker.wake()
        yield from self.wait_for(lambda: self.app.question_text == "How was security today?", 10)

    def scenario_followup(self) -> Steps:
        """A face, then a reason: the tap is held (not sent) until the reason is stored, then sent once."""
        fake = self.fake
        assert fake is not None
        yield from self.configure(
            # 3 s: long enough that a sync round fits while the question is open, even on a loaded machine
            followup={"negative_reasons": ["queue_time", "staff"], "positive_reasons": ["fast"], "timeout_seconds": 3},
            texts={"en": {"question": "Q?", "thanks": "Thanks!", "reason.staff": "The staff"}},
        )
        self.tap_face(0)  # score 1: negative
        yield 0
        self.out["screen"] = self.screen
        screen = self.app.screens.get_screen("followup")
        self.out["reasons"] = [(b.reason, b.text) for b in screen.reason_buttons]
        self.out["header"] = self.widget("followup", "thanks").text
        self.app.worker.wake()
        yield 0.5  # a sync round while the follow-up is open must not send the held tap
        self.out["while_open"] = self.rows()
        self.out["sent_while_open"] = [t["id"] for t in fake.received]
        self.shot("followup")
        self.press(screen.reason_buttons[1])
        self.out["screen_after_answer"] = self.screen  # read at once: under load the next frame may come after the
        yield 0  # thank-you screen's 0.3 s are over
        yield from self.wait_for(lambda: len(fake.received) >= 1, 30)  # generous: CI machines get loaded
        yield 0.3
        self.out["received"] = [(t["score"], t["followup"], t["flags"]) for t in fake.received]
        yield from self.back_to_ask()
        # a positive face gets the positive reasons; a middle face none
        self.tap_face(4)
        yield 0
        self.out["positive_reasons"] = [b.reason for b in screen.reason_buttons]
        self.press(screen.reason_buttons[0])
        yield from self.back_to_ask()
        self.tap_face(2)
        self.out["middle_screen"] = self.screen  # at once, as above
        yield 0
        yield from self.back_to_ask()
        # a button-box key while a follow-up is open: that one ends as a timeout, the key is a new answer
        self.tap_face(0)
        yield 0
        self.key(52, "4")
        yield 0
        self.out["screen_after_key"] = self.screen
        yield from self.back_to_ask()

    def scenario_followup_timeout(self) -> Steps:
        """No answer within followup.timeout_seconds: recorded as a timeout, back to the question."""
        yield from self.configure(followup={"negative_reasons": ["queue_time"], "timeout_seconds": 1.5})
        self.tap_face(0)
        yield 0.1
        self.out["screen_before"] = self.screen
        yield from self.wait_for(lambda: self.screen == "ask", 10)
        self.out["screen_after"] = self.screen

    def scenario_comment(self) -> Steps:
        """A comment typed on the on-screen keys, cut at comment.max_chars, stored with the tap."""
        yield from self.configure(
            followup={"negative_reasons": ["queue_time"], "timeout_seconds": 5},
            comment={"enabled": True, "max_chars": 10},
            texts={"en": {"question": "Q?"}, "nb": {"question": "Spm?"}},
        )
        self.tap_face(1)
        yield 0.05
        self.press(self.widget("followup", "comment"))
        yield 0.05
        self.out["screen"] = self.screen
        comment = self.app.screens.get_screen("comment")
        for char in "hello world!":
            self.press(self.widget("comment", "space") if char == " " else comment.key(char))
            yield 0
        self.out["typed"] = comment.text
        self.out["counter"] = self.widget("comment", "counter").text
        self.shot("comment")
        self.press(self.widget("comment", "backspace"))
        yield 0
        self.out["after_backspace"] = comment.text
        self.press(self.widget("comment", "send"))
        self.out["screen_after_send"] = self.screen  # at once: the thank-you screen is short
        yield 0
        yield from self.back_to_ask()
        # the keyboard follows the language: Norwegian letters
        self.press(self.widget("ask", "language"))
        yield 0.05
        self.tap_face(0)
        yield 0.05
        self.press(self.widget("followup", "comment"))
        yield 0.05
        self.out["nb_keys"] = [comment.key(c).text for c in "æøå"]
        self.press(self.widget("comment", "cancel"))
        yield 0.05
        self.out["screen_after_cancel"] = self.screen
        self.press(self.widget("followup", "skip"))
        yield from self.back_to_ask()

    def scenario_admin(self) -> Steps:
        """Long press in the corner, wrong PINs (five lock the pad), the right PIN, the admin screen."""
        from kivy.core.window import Window
        from kivy.tests.common import UnitTestTouch

        self.app.pin_back_seconds = 0.5
        yield from self.configure(admin_pin_hash=FAST_PIN_HASH)
        assert self.fake is not None
        self.fake.refused_scores = {3}  # the server refuses the 3 by name: quarantined, the 4 still goes out
        for index in (2, 3):
            self.tap_face(index)
            yield from self.back_to_ask()
        yield from self.wait_for(lambda: self.app.store.counts().pending == 0, 10)
        self.fake.refused_scores = set()
        self.out["quarantine"] = {
            "counts": [self.app.store.counts().quarantined, self.app.store.counts().pending],
            "quarantined_scores": [q.tap.score for q in self.app.store.quarantined()],
            "received_last": self.fake.received[-1]["score"],
        }

        def hold(seconds: float) -> Steps:
            touch = UnitTestTouch(8, Window.height - 8)
            touch.touch_down()
            yield seconds
            touch.touch_up()
            yield 0.05

        yield from hold(1.0)
        self.out["after_short_press"] = self.screen
        yield from hold(3.2)
        self.out["after_long_press"] = self.screen
        for digit in "1111":
            self.press(self.pad("pin", digit))
            yield 0
        self.out["dots"] = self.widget("pin", "dots").text
        self.press(self.pad("pin", "OK"))
        yield 0.05
        self.out["wrong"] = (self.screen, self.widget("pin", "message").text)
        self.shot("pin-wrong")
        yield 0.6
        self.out["after_wrong"] = self.screen
        for _ in range(4):
            self.app.admin_gesture()
            for key in (49, 50, 13):  # typed on a keyboard this time
                self.key(key)
            yield 0.05
        self.out["locked"] = self.widget("pin", "message").text
        self.app.admin_gesture()
        for digit in PIN:
            self.key(48 + int(digit))
        self.key(13)
        yield 0.05
        self.out["right_pin_while_locked"] = self.screen
        yield 0.6
        self.app.flow.pin.locked_until = 0.0  # the minute is over
        self.app.admin_gesture()
        yield 0.1  # ScreenManager ignores touches until its (zero-length) transition has finished a frame
        for digit in PIN:
            self.press(self.pad("pin", digit))
            yield 0
        self.press(self.pad("pin", "OK"))
        yield 0.1
        self.out["after_right_pin"] = self.screen
        self.out["info"] = self.app.screens.get_screen("admin").info
        self.shot("admin")
        self.press(self.widget("admin", "sync_now"))
        yield 0.05
        self.press(self.widget("admin", "back"))
        yield 0.05
        self.out["after_back"] = self.screen

    def pad(self, screen: str, label: str) -> Any:
        keypad = self.widget(screen, "keypad")
        for child in keypad.children:
            if child.text == label or (label == "OK" and child.text == keypad.ok_text):
                return child
        raise LookupError(label)

    def scenario_rejected_then_repair(self) -> Steps:
        """The token is revoked: taps are kept, "token rejected" shows; re-pairing from the admin screen."""
        assert self.fake is not None
        yield from self.configure(admin_pin_hash=FAST_PIN_HASH)
        with self.fake.lock:
            self.fake.token = "revoked-elsewhere"
        for index in (0, 1):
            self.tap_face(index)
            yield from self.back_to_ask()
        yield from self.wait_for(lambda: self.app.status_text == "token rejected", 10)
        self.out["status"] = self.app.status_text
        self.out["kept"] = self.app.store.counts().pending
        self.app.admin_gesture()
        for digit in PIN:
            self.key(48 + int(digit))
        self.key(13)
        yield 0.1
        self.press(self.widget("admin", "repair"))
        yield 0.05
        self.out["screen"] = self.screen
        self.out["cancel_visible"] = self.widget("pairing", "cancel").opacity
        self.fake.pair_answers["22222222"] = (429, {"message": "too many attempts"}, {"Retry-After": "30"})
        self.fake.pair_answers["33333333"] = (
            200,
            {"kiosk_id": "k-new", "token": "tok-2", "server_time": "2026-11-23T10:00:00Z"},
            {},
        )
        pairing = self.app.screens.get_screen("pairing")
        for code in ("1234", "11111111", "22222222", "33333333"):
            for digit in code:
                self.press(self.pad("pairing", digit))
                yield 0
            self.out[f"code_{code}"] = self.widget("pairing", "code").text
            self.press(self.pad("pairing", "Pair"))
            yield from self.wait_for(lambda: not pairing.busy, 5)
            yield 0.05
            self.out[f"message_{code}"] = pairing.message
            self.out[f"good_news_{code}"] = pairing.message_ok  # green, not red
            if code == "22222222":
                self.shot("pairing-429")
        self.out["screen_after"] = self.screen
        yield from self.wait_for(lambda: self.app.status_text == "synced", 10)
        self.out["status_after"] = self.app.status_text
        creds = self.app.store.credentials()
        self.out["credentials"] = (creds.kiosk_id, creds.token)
        self.out["received_scores"] = [t["score"] for t in self.fake.received][-2:]

    # -- several questions (#13) --------------------------------------------------------------------------

    def asked(self, screen: str) -> dict[str, Any]:
        """What the customer sees on ``screen`` (ask or aspect): question, step, answer scores."""
        shown = self.app.screens.get_screen(screen)
        step = self.widget(screen, "step").text if screen == "aspect" else ""
        return {"screen": self.screen, "question": self.widget(screen, "question").text, "step": step,
                "scores": [int(b.score) for b in shown.faces]}  # fmt: skip

    def scenario_rotate(self) -> Steps:
        """rotate: each customer gets the next question in turn, with its own text and scale; a button-box press
        on the thank-you screen repeats the question just answered and does not move the turn."""
        yield from self.configure(
            question_mode="rotate", questions=ROTATE_QUESTIONS, repeat_press_seconds=0.5,
            texts={"en": {"question": "How was security today?"}},
        )  # fmt: skip
        self.out["turn_at_start"] = self.app.flow.turn
        seen = self.out["seen"] = []
        for customer in range(4):
            seen.append(self.asked("ask"))
            if customer == 1:
                self.shot("rotate-staff")
            if customer == 2:  # 0-10 after faces: the row sits in the middle of the answer area, not at its foot
                pad = self.widget("ask", "answers")
                self.out["nps_row_height_in_pad"] = (pad.ids.nps_row.center_y - pad.y) / pad.height
            self.press(self.app.screens.get_screen("ask").faces[-1])  # the happiest face, or 10
            if customer == 0:
                self.key(49, "1")  # at once, on the thank-you screen: a repeat of the same question
            yield 0
            yield from self.back_to_ask()
        self.out["turn_at_end"] = self.app.flow.turn
        self.out["saved_turn"] = self.app.store.question_turn()

    def scenario_sequence(self) -> Steps:
        """sequence: the main question (and its reason), then each aspect question with its own faces and
        reasons, skippable and timing out; every answer is its own tap, linked to the customer's first."""
        assert self.fake is not None
        yield from self.configure(
            question_mode="sequence", questions=SEQUENCE_QUESTIONS, question_timeout_seconds=1.5,
            followup={"negative_reasons": ["queue_time"], "timeout_seconds": 5}, comment={"enabled": True},
            texts={"en": {"question": "How was security today?", "skip": "Skip", "reason.queue_time": "Queue"}},
        )  # fmt: skip
        followup = self.app.screens.get_screen("followup")
        aspect = self.app.screens.get_screen("aspect")
        # customer 1: main 1 with a reason, staff 1 with staff's own reason, recommend skipped
        self.tap_face(0)
        yield 0
        self.out["main_reasons"] = [(b.reason, b.text) for b in followup.reason_buttons]
        self.out["main_comment_offered"] = followup.comment_offered
        self.press(followup.reason_buttons[0])
        yield 0.5  # past the aspect question's settle time
        self.out["staff"] = self.asked("aspect")
        self.out["skip_label"] = self.widget("aspect", "skip").text
        self.shot("aspect")
        yield 0.05
        self.press(aspect.faces[0])
        yield 0
        self.out["staff_followup"] = (self.screen, [(b.reason, b.text) for b in followup.reason_buttons])
        self.out["staff_comment_offered"] = followup.comment_offered
        self.press(followup.reason_buttons[1])
        yield 0.5
        self.out["recommend"] = self.asked("aspect")
        self.press(self.widget("aspect", "skip"))
        self.out["after_skip"] = self.screen  # at once: the thank-you screen is short
        yield from self.back_to_ask()
        # customer 2: main 5 (no positive reasons: only the comment button, declined), staff 3, recommend left
        # unanswered until it times out
        self.tap_face(4)
        yield 0
        self.out["main_positive"] = (self.screen, len(followup.reason_buttons), followup.comment_offered)
        self.press(self.widget("followup", "skip"))
        yield 0.5
        self.press(aspect.faces[2])
        yield 0.1
        self.out["before_timeout"] = self.asked("aspect")
        yield from self.wait_for(lambda: self.screen != "aspect", 10)
        self.out["after_timeout"] = self.asked("ask")
        yield 0.1
        # customer 3: main 3, comment declined; a second press at once (a bouncing finger) lands on the aspect
        # question and is ignored
        self.tap_face(2)
        yield 0
        self.press(self.widget("followup", "skip"))
        self.out["bounce"] = {"screen": self.screen, "stored": self.app.tap(1) is not None}
        yield 0.5
        for _ in range(2):
            self.press(self.widget("aspect", "skip"))
            yield 0.1
        self.out["after_skips"] = self.screen
        yield from self.back_to_ask()
        yield from self.wait_for(lambda: self.app.store.counts().pending == 0, 30)
        with self.fake.lock:
            self.out["received"] = {t["id"]: t.get("first_tap_id", "absent") for t in self.fake.received}

    def scenario_sequence_real(self) -> Steps:
        """After pair_real, against a real server whose location asks a sequence: a customer answers the main
        question and the first aspect question, and skips the rest; the kiosk sends everything."""
        yield from self.wait_for(lambda: self.app.kiosk_config.question_mode == "sequence", 10)
        self.app.show_question()
        self.app.flow.forget_last_press()
        yield 0.1
        self.out["mode"] = self.app.kiosk_config.question_mode
        self.tap_face(0)
        yield 0.5
        self.out["aspect"] = self.asked("aspect")
        self.press(self.app.screens.get_screen("aspect").faces[-1])
        yield 0.5
        while self.screen == "aspect":
            self.press(self.widget("aspect", "skip"))
            yield 0.1
        yield from self.wait_for(lambda: self.app.store.counts().pending == 0, 10)

    def scenario_pair_real(self) -> Steps:
        """A fresh kiosk against a real server: the pairing screen, the code typed, a tap synced."""
        self.out["screen_at_start"] = self.screen
        self.out["status_at_start"] = self.app.status_text
        self.out["server_shown"] = self.widget("pairing", "server").text
        self.shot("pairing")
        for digit in self.code:
            self.press(self.pad("pairing", digit))
            yield 0
        self.press(self.pad("pairing", "Pair"))
        yield from self.wait_for(lambda: self.screen != "pairing", 10)
        self.out["screen_after_pair"] = self.screen
        yield from self.wait_for(lambda: self.app.status_text == "synced", 10)
        self.out["status_after_pair"] = self.app.status_text
        yield 0.2
        self.tap_face(4)
        yield from self.wait_for(lambda: self.app.store.counts().pending == 0 and bool(self.rows()), 10)
        creds = self.app.store.credentials()
        self.out["credentials"] = [creds.kiosk_id, creds.token[:4]] if creds else None


REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "test-output" / "kiosk"


def run_driver(tmp_path: Path, scenarios: list[str], *extra: str) -> dict[str, Any]:
    """Run this module (``python -m tests.support.kiosk_driver``, from the repository) on a fresh offscreen window
    for ``scenarios``; the driver's result, after checking it finished without error and its screenshots are PNGs.
    Raises AssertionError otherwise."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    data_dir, result = tmp_path / "data", tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMILEPOST_", "KIVY_", "SDL_"))}
    env.update(
        SDL_VIDEODRIVER="offscreen", KIVY_HOME=str(tmp_path / "kivy-home"), KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1"
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    args = [str(data_dir), str(OUTPUT), str(result), "--scenarios", ",".join(scenarios), *extra]
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.kiosk_driver", *args], env=env, cwd=REPO, capture_output=True,
        text=True, timeout=150,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(result.read_text())
    assert outcome["error"] is None, outcome["error"]
    for png in outcome["screenshots"]:
        data = Path(png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2048, png
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("result", type=Path)
    parser.add_argument("--scenarios", required=True)
    parser.add_argument("--server")
    parser.add_argument("--code", default="")
    parser.add_argument("--size", default="1024x600")
    args = parser.parse_args()
    width, height = args.size.split("x")

    from kivy.config import Config

    Config.set("graphics", "width", width)
    Config.set("graphics", "height", height)

    import httpx
    from kivy.clock import Clock

    from kiosk.settings import KioskSettings
    from kiosk.store import Store
    from kiosk.ui.app import SmilepostKioskApp, configure_window
    from shared.pins import hash_pin

    global FAST_PIN_HASH
    FAST_PIN_HASH = hash_pin(PIN, n=2**10)  # cheap scrypt
    fake: FakeServer | None = None
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.server:
        settings = KioskSettings(data_dir=args.data_dir, server=args.server, sync_interval=0.5)
        app = SmilepostKioskApp(settings)
    else:
        fake = FakeServer()
        with Store.open(args.data_dir) as store:
            store.save_config(base_config(), etag=None)
            store.save_credentials("http://fake", "k-test", fake.token)
            store.record_tap(2, 5, hold=True)  # a follow-up left open by a crash: released as a timeout at start
        settings = KioskSettings(data_dir=args.data_dir, server="http://fake", sync_interval=0.5)
        app = SmilepostKioskApp(settings, transport=httpx.MockTransport(fake.handle))
    configure_window(settings)
    driver = Driver(app, args.out_dir, args.scenarios.split(","), fake, args.code)
    Clock.schedule_once(driver.start, 0)
    app.run()
    driver.result["error"] = driver.error
    args.result.write_text(json.dumps(driver.result, indent=2, default=str))


if __name__ == "__main__":
    main()
