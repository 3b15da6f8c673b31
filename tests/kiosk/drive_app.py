"""Drive the real kiosk app in a real (offscreen) Kivy window; run as a subprocess by test_app.py.

A Kivy Window is a per-process singleton, so each run gets its own process. The script saves a config
into the outbox (so the app starts offline with it), starts the app without a token, presses every face
with a simulated touch, records which screen was showing after each press, saves screenshots of the ask
and thank-you screens, and writes what it saw as JSON. The test asserts on that and on the outbox itself.

Usage: drive_app.py DATA_DIR OUT_DIR RESULT_JSON --scale N [--repeat-seconds S]
"""

from __future__ import annotations

import argparse
import json
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 1024, 768
THANK_YOU_SECONDS = 0.8
WATCHDOG_SECONDS = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("result", type=Path)
    parser.add_argument("--scale", type=int, default=5)
    parser.add_argument("--repeat-seconds", type=float, default=0.0)
    return parser.parse_args()


def seed_config(data_dir: Path, scale: int, repeat_seconds: float) -> None:
    from kiosk.store import Store
    from shared.protocol import KioskConfig

    config = KioskConfig(
        kiosk_id="kiosk-test",
        location_id=7,
        location_name="Gate 7",
        timezone="Europe/Berlin",
        scale=scale,  # type: ignore[arg-type]
        texts={"en": {"question": f"How was security today? ({scale} faces)", "thanks": "Thank you!"}},
        thank_you_seconds=THANK_YOU_SECONDS,
        repeat_press_seconds=repeat_seconds,
    )
    with Store.open(data_dir) as store:
        store.save_config(config, etag='"seeded"')


class Driver:
    """Steps through the scenario on Kivy's Clock; each step yields how many seconds to wait."""

    def __init__(self, app: Any, out_dir: Path, scale: int) -> None:
        self.app = app
        self.out_dir = out_dir
        self.scale = scale
        self.result: dict[str, Any] = {"presses": [], "screenshots": {}, "error": None}
        self._steps = self.steps()

    def start(self, *_: Any) -> None:
        from kivy.clock import Clock

        Clock.schedule_once(self.watchdog, WATCHDOG_SECONDS)
        self.advance()

    def advance(self, *_: Any) -> None:
        from kivy.clock import Clock

        try:
            delay = next(self._steps)
        except StopIteration:
            self.app.stop()
            return
        except Exception:
            self.result["error"] = traceback.format_exc()
            self.app.stop()
            return
        Clock.schedule_once(self.advance, delay)

    def watchdog(self, *_: Any) -> None:
        self.result["error"] = f"watchdog: scenario did not finish in {WATCHDOG_SECONDS} s"
        self.app.stop()

    def screenshot(self, name: str) -> None:
        from kivy.core.window import Window

        saved = Path(Window.screenshot(name=str(self.out_dir / f"{name}.png")))
        target = self.out_dir / f"{name}.png"
        saved.replace(target)
        self.result["screenshots"][name] = str(target)

    def steps(self) -> Iterator[float]:
        from kivy.core.window import Window
        from kivy.tests.common import UnitTestTouch

        app = self.app
        yield 0.3  # let the layout settle and a few frames render
        ask = app.screens.get_screen("ask")
        faces = ask.faces
        self.result.update(
            window_size=list(Window.size),
            current_at_start=app.screens.current,
            question_text=app.question_text,
            status_text=app.status_text,
            face_scores=[int(face.score) for face in faces],
            face_sizes=[list(face.size) for face in faces],
        )
        self.screenshot(f"ask-scale{self.scale}")
        for index, face in enumerate(faces):
            x, y = face.to_window(*face.center)
            touch = UnitTestTouch(x, y)
            touch.touch_down()
            touch.touch_up()
            press: dict[str, Any] = {"score": int(face.score), "screen_after_release": app.screens.current}
            yield 0  # next frame: the thank-you screen must be showing
            press["screen_next_frame"] = app.screens.current
            if index == 0:
                yield 0.15
                self.screenshot(f"thanks-scale{self.scale}")
            waited = 0.0
            while app.screens.current != "ask" and waited < 10:
                yield 0.05
                waited += 0.05
            press["returned_to_ask"] = app.screens.current == "ask"
            self.result["presses"].append(press)
            yield 0.1  # ScreenManager ignores touches until its (zero-length) transition has finished a frame
        yield from self.apply_new_config()

    def apply_new_config(self) -> Iterator[float]:
        """What the sync worker does when the server's config changed: the ask screen follows it live."""
        from kiosk.sync import SyncStatus
        from shared.protocol import KioskConfig

        app = self.app
        new_scale = 3 if self.scale != 3 else 5
        config = KioskConfig(
            kiosk_id="kiosk-test",
            location_id=7,
            location_name="Gate 7",
            timezone="Europe/Berlin",
            scale=new_scale,  # type: ignore[arg-type]
            texts={"en": {"question": "Changed question?", "thanks": "Danke!"}},
        )
        app.apply_status(SyncStatus("offline", 4, config=config))
        yield 0.1
        ask = app.screens.get_screen("ask")
        self.result["after_config"] = {
            "question_text": app.question_text,
            "thanks_text": app.thanks_text,
            "status_text": app.status_text,
            "face_scores": [int(face.score) for face in ask.faces],
        }


def main() -> None:
    args = parse_args()
    from kivy.config import Config

    Config.set("graphics", "width", str(WIDTH))
    Config.set("graphics", "height", str(HEIGHT))
    seed_config(args.data_dir, args.scale, args.repeat_seconds)

    from kivy.clock import Clock

    from kiosk.app import SmilepostKioskApp
    from kiosk.settings import KioskSettings

    args.out_dir.mkdir(parents=True, exist_ok=True)
    app = SmilepostKioskApp(KioskSettings(data_dir=args.data_dir, token=None))
    driver = Driver(app, args.out_dir, args.scale)
    Clock.schedule_once(driver.start, 0)
    app.run()
    args.result.write_text(json.dumps(driver.result, indent=2))


if __name__ == "__main__":
    main()
