"""Kiosk memory, idle CPU and cold start (#15): ``benchmarks.kiosk.run(quick)``, or by hand
``.venv/bin/python -m benchmarks.kiosk [--quick]``.

Each figure is measured in a fresh child process on a private Xvfb display (started here; SDL's offscreen driver
grows by ~1 MiB per redrawn frame, so only a real X server gives figures that mean something), with the kiosk
started the way ``smilepost kiosk run`` starts it (the ``smilepost`` program's imports, then
:func:`kiosk.ui.app.run_app`; paired, outbox on disk, sync worker on its thread against an in-memory server).
Its baseline, in the same run and on the same display: a bare Kivy app (one Label, the same window size) in a
child process of its own.

- **cold start**: process start (just before the child is spawned) to the first ``Window.on_flip`` while the
  question screen is current (bare app: its first frame); median of 3 starts (1 in quick mode).
- **RSS** after ``taps`` touches on the faces (simulated touches, as in the kiosk tests) and ``idle`` seconds without
  a touch (the attract screen comes half-way, as on a real kiosk: 200 taps and 60 s, quick 10 and 6 s); VmRSS
  from ``/proc/self/status``.
- **idle CPU %** of the whole process (every thread) from ``/proc/self/stat``: the mean of the two halves of the
  idle period (the kiosk: on the question, then on the attract screen once it has been drawn; the 2 s between
  the halves are not counted, in either app).

Needs ``Xvfb`` (Debian: ``apt-get install xvfb``); without it the figures are skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kiosk.ui.clockscript import ClockScript

TARGET_RSS_MIB = 150.0
TARGET_IDLE_CPU = 2.0
TARGET_COLD_START = 2.0
SIZE = (1024, 600)
SCREEN = "1280x800x24"
SETTLE = 1.0  # seconds after the taps (or the start) before the idle period
SWITCH = 2.0  # seconds between the two halves of the idle period, not measured: the attract screen comes


# -- parent: Xvfb and the child processes -------------------------------------------------------------------


@contextmanager
def xvfb() -> Iterator[str]:
    """A private Xvfb on a free display number; yields the DISPLAY value. Raises RuntimeError if it won't start."""
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", SCREEN, "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError(f"Xvfb did not start (exit code {process.wait(timeout=5)})")
        yield f":{number}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def child(kind: str, display: str | None, folder: Path, *, taps: int = 0, idle: float = 0.0) -> dict[str, Any]:
    """Run one measured app (``kind`` "kiosk" or "bare") in a fresh process on X ``display`` (None: SDL's
    offscreen driver, for tests); returns its figures.

    With ``idle`` 0 the app stops at its first frame (a cold start only). Raises RuntimeError if it fails.
    """
    result = folder / f"{kind}-{time.monotonic_ns()}.json"
    own = ("SMILEPOST_", "KIVY_", "SDL_", "DISPLAY", "WAYLAND_DISPLAY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env.update(KIVY_HOME=str(folder / "kivy-home"), PYTHONDONTWRITEBYTECODE="1")
    if display is not None:
        env["DISPLAY"] = display
    command = [sys.executable, "-m", "benchmarks.kiosk", "--child", kind, "--result", str(result),
               "--data", str(folder / f"{kind}-data"), "--taps", str(taps), "--idle", str(idle)]  # fmt: skip
    log = folder / f"{kind}.log"
    started = time.monotonic()
    with log.open("ab") as out:
        code = subprocess.run(command, env=env, stdout=out, stderr=out, timeout=120 + taps + idle, check=False)
    if code.returncode != 0 or not result.exists():
        raise RuntimeError(f"the {kind} app failed (exit {code.returncode}):\n{log.read_text()[-3000:]}")
    figures: dict[str, Any] = json.loads(result.read_text())
    figures["cold_start"] = figures["first_frame"] - started
    return figures


def run(quick: bool = False) -> None:
    """Measure the kiosk and the bare Kivy baseline and print one report line per figure."""
    from benchmarks._common import report

    taps, idle, starts = (10, 6.0, 1) if quick else (200, 60.0, 3)
    if shutil.which("Xvfb") is None:
        report("kiosk: skipped, Xvfb is not installed (Debian: apt-get install xvfb)")
        return
    with tempfile.TemporaryDirectory(prefix="smilepost-kiosk-bench-") as tmp, xvfb() as display:
        folder = Path(tmp)
        bare = child("bare", display, folder, idle=idle)
        kiosk = child("kiosk", display, folder, taps=taps, idle=idle)
        bare_starts = [bare["cold_start"]] + [child("bare", display, folder)["cold_start"] for _ in range(starts - 1)]
        kiosk_starts = [kiosk["cold_start"]] + [
            child("kiosk", display, folder)["cold_start"] for _ in range(starts - 1)
        ]
    rss, bare_rss = kiosk["rss_end_mib"], bare["rss_end_mib"]
    report(
        f"kiosk RSS after {taps} taps + {idle:.0f} s idle: {rss:.1f} MiB (start {kiosk['rss_start_mib']:.1f})"
        f"   bare Kivy app {bare_rss:.1f} MiB   ratio {rss / bare_rss:.2f}x   target <= {TARGET_RSS_MIB:.0f} MiB",
        met=rss <= TARGET_RSS_MIB,
    )
    cpu, bare_cpu = kiosk["cpu_percent"], bare["cpu_percent"]
    report(
        f"kiosk idle CPU over {idle:.0f} s: {cpu:.2f} % ({kiosk['screen_mid']} {kiosk['cpu_percent_first_half']:.2f} %,"
        f" then {kiosk['screen_at_end']} {kiosk['cpu_percent_second_half']:.2f} %)   bare Kivy app {bare_cpu:.2f} %"
        f"   ratio {cpu / max(bare_cpu, 0.01):.2f}x   target <= {TARGET_IDLE_CPU:.0f} %",
        met=cpu <= TARGET_IDLE_CPU,
    )
    start, bare_start = statistics.median(kiosk_starts), statistics.median(bare_starts)
    report(
        f"kiosk cold start to the question's first frame: {start:.2f} s   bare Kivy app {bare_start:.2f} s"
        f"   ratio {start / bare_start:.2f}x   target <= {TARGET_COLD_START:.0f} s   (median of {starts})",
        met=start <= TARGET_COLD_START,
    )


# -- child: the measured app ----------------------------------------------------------------------------------


def _cpu_seconds() -> float:
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, every thread


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Measure(ClockScript):
    """Runs on Kivy's Clock in the child: notes the first frame of the question, taps, idles, then stops the app.

    A :class:`kiosk.ui.clockscript.ClockScript` whose app is found once it runs (the kiosk's is made inside
    ``run_app``).
    """

    def __init__(self, kind: str, taps: int, idle: float) -> None:
        super().__init__(None)
        self.kind, self.taps, self.idle = kind, taps, idle
        self.figures: dict[str, Any] = {}
        self.pressed = False

    @property
    def app(self) -> Any:
        from kivy.app import App

        return App.get_running_app()

    @app.setter
    def app(self, _: Any) -> None:
        """The app is always the running one (ClockScript's constructor sets it)."""

    def current(self) -> str:
        screens = getattr(self.app, "screens", None)
        return str(screens.current) if screens is not None else "bare"

    def on_flip(self, *_: Any) -> None:
        if "first_frame" not in self.figures and self.current() in ("ask", "bare"):
            self.figures["first_frame"] = time.monotonic()
            self.figures["rss_first_frame_mib"] = _rss_mib()
            self.figures["fps_on_question"] = _clock_fps()
        if self.pressed and self.current() == "thanks":
            self.pressed = False

    def steps(self) -> Iterator[float]:
        from kivy.app import App
        from kivy.core.window import Window

        Window.bind(on_flip=self.on_flip)
        while "first_frame" not in self.figures:
            yield 0
        if not self.idle:
            return
        app: Any = App.get_running_app()
        yield 1.0
        if self.kind == "kiosk":
            faces = app.screens.get_screen("ask").faces
            for i in range(self.taps):
                yield from self._tap(app, faces[i % len(faces)])
            # The question for the first half of the idle period; then the attract screen comes, and the second
            # half is measured once it has been drawn and the kiosk has slowed down (SWITCH seconds, not counted).
            attract = SETTLE + self.idle / 2 + 0.1
            app.apply_config(app.kiosk_config.model_copy(update={"attract_after_seconds": attract}))
            app.show_question()
        yield SETTLE
        rss = _rss_mib()
        first = yield from self._idle(self.idle / 2)
        screen_first = self.current()
        yield SWITCH
        second = yield from self._idle(self.idle / 2)
        self.figures.update(
            cpu_percent=(first + second) / 2,
            cpu_percent_first_half=first,
            cpu_percent_second_half=second,
            screen_mid=screen_first,
            rss_start_mib=rss,
            rss_end_mib=_rss_mib(),
            screen_at_end=self.current(),
            fps_at_end=_clock_fps(),
        )
        if self.kind == "kiosk" and self.current() == "attract":  # a touch there brings the question back
            root = app.root
            yield from self._touch(root.center_x, root.center_y, until=lambda: self.current() == "ask")
            self.figures.update(screen_after_touch=self.current(), fps_after_touch=_clock_fps())

    @staticmethod
    def _idle(seconds: float) -> Generator[float, None, float]:
        """Wait ``seconds`` without a touch; returns the process's CPU % over them."""
        cpu, wall = _cpu_seconds(), time.monotonic()
        yield seconds
        return 100 * (_cpu_seconds() - cpu) / (time.monotonic() - wall)

    def _tap(self, app: Any, face: Any) -> Iterator[float]:
        """A finger on ``face``, then wait for the thank-you frame and the question again."""
        self.pressed = True
        x, y = face.to_window(*face.center)
        yield from self._touch(x, y, until=lambda: not self.pressed)
        while app.screens.current != "ask":
            yield 0.01
        yield 0.03

    @staticmethod
    def _touch(x: float, y: float, until: Any) -> Iterator[float]:
        """A finger down and up at window point (x, y); returns once ``until()``. The touch is made here, not
        with ``kivy.tests.common.UnitTestTouch``: that module imports pytest (+5 MiB in the measured process)."""
        from kivy.base import EventLoop
        from kivy.input.motionevent import MotionEvent

        class Touch(MotionEvent):  # type: ignore[misc]
            def depack(self, args: dict[str, float]) -> None:
                self.sx, self.sy = args["x"], args["y"]
                super().depack(args)

        window = EventLoop.window
        touch = Touch("bench", 99, {"x": x / (window.width - 1), "y": y / (window.height - 1)}, is_touch=True,
                      type_id="touch")  # fmt: skip
        touch.profile = ["pos"]
        EventLoop.post_dispatch_input("begin", touch)
        EventLoop.post_dispatch_input("end", touch)
        while not until():
            yield 0


def _clock_fps() -> float:
    from kivy.clock import Clock

    return float(getattr(Clock, "_max_fps", 0.0))


def _run_bare() -> None:
    from kivy.app import App
    from kivy.uix.label import Label

    class Bare(App):  # type: ignore[misc]
        def build(self) -> Label:
            return Label(text="Smilepost")

    Bare().run()


def _run_kiosk(data: Path) -> None:
    import httpx

    import server.cli  # noqa: F401  (what `smilepost kiosk run` has imported before it calls run_app)
    from kiosk.settings import KioskSettings
    from kiosk.store import Store
    from kiosk.ui.app import run_app
    from shared.protocol import KioskConfig, TapBatch

    def fake_server(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/config"):
            return httpx.Response(304)
        if not request.url.path.endswith("/taps"):
            return httpx.Response(204)
        batch = TapBatch.model_validate_json(request.content)
        body = {"accepted": len(batch.taps), "duplicates": 0, "conflicts": [], "server_time": "2026-11-22T10:00:05Z"}
        return httpx.Response(200, json=body)

    if not data.exists():
        config = KioskConfig(kiosk_id="k-bench", location_id=1, location_name="Bench", timezone="UTC",
                             thank_you_seconds=0.05, repeat_press_seconds=0)  # fmt: skip
        with Store.open(data) as store:
            store.save_config(config, etag='"bench"')
            store.save_credentials("http://bench", "k-bench", "tok")
    run_app(KioskSettings(data_dir=data, server="http://bench"), transport=httpx.MockTransport(fake_server))


def child_main(kind: str, result: Path, data: Path, taps: int, idle: float) -> None:
    """The child process: size the window, run the app with a :class:`Measure` on its Clock, write the figures."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    if kind == "kiosk":  # as in `smilepost kiosk run`: the kiosk prepares the environment before Kivy's import
        import kiosk.ui.kivy_env  # noqa: F401
    from kivy.config import Config

    Config.set("graphics", "width", str(SIZE[0]))
    Config.set("graphics", "height", str(SIZE[1]))
    from kivy.clock import Clock

    measure = Measure(kind, taps, idle)
    Clock.schedule_once(measure.advance, 0)
    if kind == "bare":
        _run_bare()
    else:
        _run_kiosk(data)
    if measure.error:
        raise RuntimeError(measure.error)
    result.write_text(json.dumps(measure.figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 taps, 6 s idle, one cold start each")
    parser.add_argument("--child", choices=("kiosk", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--taps", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--idle", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.result, args.data, args.taps, args.idle)
    else:
        run(quick=args.quick)


if __name__ == "__main__":
    main()
