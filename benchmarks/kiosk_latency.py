"""Kiosk latency benchmark (not a test; run by hand): ``.venv/bin/python -m benchmarks.kiosk_latency``.

Prints, all measured in this one run on this machine:

1. **touch → thank-you frame**: a simulated touch on a face (``UnitTestTouch``, the same path as a finger)
   until the first ``Window.on_flip`` whose frame shows the thank-you screen; p50/p99 over ``--taps`` taps.
   The app runs for real (Kivy window, offscreen without a display; outbox on disk; sync worker on a thread
   with an in-memory server), so the figure includes the SQLite commit and the redraw.
2. **record_tap latency** vs a **raw sqlite3 INSERT** with the same pragmas (WAL, synchronous=FULL,
   autocommit, one row per transaction) on the same disk: p50/p99 and the ratio, baseline measured in this run.
3. **idle CPU % and RSS** of the running app over ``--idle-seconds`` (the attract screen appears after
   ``attract_after_seconds`` = 30 s, as on a real kiosk), from ``/proc/self`` (no psutil needed).

For the kiosk's memory, idle CPU and cold start beside a bare Kivy app's, in fresh processes on a private Xvfb,
use :mod:`benchmarks.kiosk` (#15); this process imports pytest (``kivy.tests.common``), so its RSS is ~5 MiB above
the kiosk's own.

Run it on a real display, or under Xvfb (``xvfb-run -s "-screen 0 1280x800x24" python -m benchmarks.kiosk_latency``),
for figures that mean something: SDL's *offscreen* driver on Mesa/EGL grows the process by ~1 MiB per
redrawn frame (a bare Kivy app with one changing colour does it too; under Xvfb/GLX the same app stays
flat), so with no display the RSS and idle-CPU figures measure that driver, not the kiosk.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.ui.clockscript import ClockScript


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(values: list[float]) -> str:
    return f"p50 {percentile(values, 50) * 1000:7.3f} ms   p99 {percentile(values, 99) * 1000:7.3f} ms"


# -- 2. record_tap vs raw sqlite3 ---------------------------------------------------------------------------


def bench_store(folder: Path, n: int) -> dict[str, float]:
    from kiosk.store import Store

    store_times: list[float] = []
    with Store.open(folder / "store") as store:
        for i in range(n):
            start = time.perf_counter()
            store.record_tap(i % 5 + 1, 5)
            store_times.append(time.perf_counter() - start)

    raw = sqlite3.connect(folder / "raw.db", isolation_level=None)  # autocommit: one transaction per INSERT
    raw.execute("PRAGMA busy_timeout = 5000")
    raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("PRAGMA synchronous = FULL")
    raw.execute(
        "CREATE TABLE taps (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, score INTEGER NOT NULL,"
        " scale INTEGER NOT NULL, tapped_at TEXT NOT NULL, mono_ns INTEGER NOT NULL)"
    )
    raw_times: list[float] = []
    for i in range(n):
        start = time.perf_counter()
        raw.execute(
            "INSERT INTO taps (id, score, scale, tapped_at, mono_ns) VALUES (?, ?, ?, ?, ?)",
            (str(uuid.uuid4()), i % 5 + 1, 5, datetime.now(UTC).isoformat(), time.monotonic_ns()),
        )
        raw_times.append(time.perf_counter() - start)
    raw.close()
    print(f"record_tap      ({n:5d}) {ms(store_times)}")
    print(f"raw sqlite3     ({n:5d}) {ms(raw_times)}")
    ratio50 = percentile(store_times, 50) / percentile(raw_times, 50)
    ratio99 = percentile(store_times, 99) / percentile(raw_times, 99)
    print(f"ratio record_tap / raw:  p50 {ratio50:.2f}x   p99 {ratio99:.2f}x")
    return {"record_tap_p50": percentile(store_times, 50), "raw_p50": percentile(raw_times, 50)}


# -- 1 and 3. the running app ---------------------------------------------------------------------------


def _proc_cpu_seconds() -> float:
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _proc_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class AppBench(ClockScript):
    """Drives the app on Kivy's Clock: taps with frame timing, then an idle period."""

    def __init__(self, app: Any, taps: int, idle_seconds: float) -> None:
        super().__init__(app)
        self.taps, self.idle_seconds = taps, idle_seconds
        self.latencies: list[float] = []
        self.pressed_at: float | None = None
        self.idle: dict[str, float] = {}

    def on_flip(self, *_: Any) -> None:
        if self.pressed_at is not None and self.app.screens.current == "thanks":
            self.latencies.append(time.perf_counter() - self.pressed_at)
            self.pressed_at = None

    def steps(self) -> Any:
        from kivy.core.window import Window
        from kivy.tests.common import UnitTestTouch

        Window.bind(on_flip=self.on_flip)
        yield 1.0
        faces = self.app.screens.get_screen("ask").faces
        for i in range(self.taps):
            face = faces[i % len(faces)]
            x, y = face.to_window(*face.center)
            touch = UnitTestTouch(x, y)
            self.pressed_at = time.perf_counter()
            touch.touch_down()
            touch.touch_up()
            while self.pressed_at is not None:
                yield 0
            while self.app.screens.current != "ask":
                yield 0.01
            yield 0.03
        self.app.apply_config(self.app.kiosk_config.model_copy(update={"attract_after_seconds": 30.0}))
        self.app.show_question()
        yield 2.0  # settle
        cpu0, wall0, rss0 = _proc_cpu_seconds(), time.monotonic(), _proc_rss_mib()
        yield self.idle_seconds
        cpu1, wall1 = _proc_cpu_seconds(), time.monotonic()
        self.idle = {
            "cpu_percent": 100 * (cpu1 - cpu0) / (wall1 - wall0),
            "rss_start_mib": rss0,
            "rss_end_mib": _proc_rss_mib(),
            "seconds": wall1 - wall0,
            "screen_at_end": self.app.screens.current,
        }


def bench_app(folder: Path, taps: int, idle_seconds: float, size: str) -> AppBench:
    from kivy.config import Config

    width, height = size.split("x")
    Config.set("graphics", "width", width)
    Config.set("graphics", "height", height)

    import httpx
    from kivy.clock import Clock

    from kiosk.settings import KioskSettings
    from kiosk.store import Store
    from kiosk.ui.app import SmilepostKioskApp, configure_window
    from shared.protocol import KioskConfig, TapBatch

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/config"):
            return httpx.Response(304)
        batch = TapBatch.model_validate_json(request.content)
        body = {"accepted": len(batch.taps), "duplicates": 0, "conflicts": [], "server_time": "2026-11-22T10:00:05Z"}
        return httpx.Response(200, json=body)

    config = KioskConfig(
        kiosk_id="k-bench",
        location_id=1,
        location_name="Bench",
        timezone="UTC",
        thank_you_seconds=0.05,
        repeat_press_seconds=0,
    )
    data = folder / "app"
    with Store.open(data) as store:
        store.save_config(config, etag='"bench"')
        store.save_credentials("http://bench", "k-bench", "tok")
    settings = KioskSettings(data_dir=data, server="http://bench", sync_interval=10)
    configure_window(settings)
    app = SmilepostKioskApp(settings, transport=httpx.MockTransport(server))
    bench = AppBench(app, taps, idle_seconds)
    Clock.schedule_once(bench.advance, 0)
    app.run()
    if bench.error:
        raise RuntimeError(f"the benchmark script failed:\n{bench.error}")
    return bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--taps", type=int, default=200, help="touches for the frame-time figure")
    parser.add_argument("--inserts", type=int, default=2000, help="rows for record_tap vs raw sqlite3")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--size", default="1024x600", help="window size WIDTHxHEIGHT")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")

    with tempfile.TemporaryDirectory(prefix="smilepost-bench-") as tmp:
        folder = Path(tmp)
        print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, temp dir {folder}")
        store = bench_store(folder, args.inserts)
        bench = bench_app(folder, args.taps, args.idle_seconds, args.size)
    from kiosk.ui.kivy_env import OFFSCREEN

    print(f"touch -> thanks frame ({len(bench.latencies)} taps, {'offscreen' if OFFSCREEN else 'on screen'}) "
          f"{ms(bench.latencies)}   mean {statistics.mean(bench.latencies) * 1000:.3f} ms")  # fmt: skip
    idle = bench.idle
    print(
        f"idle {idle['seconds']:.0f} s: CPU {idle['cpu_percent']:.2f} %   RSS {idle['rss_start_mib']:.1f} -> "
        f"{idle['rss_end_mib']:.1f} MiB   (screen at the end: {idle['screen_at_end']})"
    )
    if args.json:
        figures = {
            **store,
            "frame_p50": percentile(bench.latencies, 50),
            "frame_p99": percentile(bench.latencies, 99),
            **idle,
        }
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
