"""`smilepost demo` on a machine without a display: server, demo kiosk offscreen, printed commands that work."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from kiosk.store import Store
from tests.support.live import SMILEPOST, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.kivy]


def _wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := predicate()) is not None:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_demo_runs_headless_and_its_printed_commands_work(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMILEPOST_", "SDL_")) and k != "DISPLAY"}
    env.update(SMILEPOST_DATA_DIR=str(tmp_path / "data"), KIVY_HOME=str(tmp_path / "kivy"), KIVY_NO_CONSOLELOG="1")
    out = (tmp_path / "demo.out").open("w+")
    demo = subprocess.Popen([SMILEPOST, "demo", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:

        def instructions() -> str | None:
            text = Path(out.name).read_text()
            return text if "Press Ctrl-C" in text else None

        text = _wait_for(instructions, 60, "the demo's instructions")
        assert "No display found: the kiosk window runs offscreen" in text
        simulate = shlex.split(re.search(r"more taps: (.+)", text).group(1))  # type: ignore[union-attr]
        simulate[simulate.index("--data") + 1] = str(tmp_path / "sim")
        simulate[0] = SMILEPOST
        report = json.loads(subprocess.run(simulate, env=env, capture_output=True, text=True, check=True).stdout)

        curl = shlex.split(re.search(r"summary:\s+(curl .+)", text).group(1))  # type: ignore[union-attr]
        headers = dict([curl[curl.index("-H") + 1].split(": ", 1)])
        summary = httpx.get(curl[-1], headers=headers).json()
        assert summary["responses"] == report["recorded"] == 100
        assert summary["counts"] == report["counts"]

        # The demo kiosk's own sync worker reached the server with its token: it cached the served config.
        def cached_location():  # type: ignore[no-untyped-def]
            with Store.open(tmp_path / "data" / "kiosk") as store:
                cached = store.cached_config()
            return cached[0].location_name if cached else None

        assert _wait_for(cached_location, 30, "the demo kiosk to fetch its config") == "Demo Store"
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=30)
        out.close()
    assert code == 0, (tmp_path / "demo.out").read_text()[-2000:]
