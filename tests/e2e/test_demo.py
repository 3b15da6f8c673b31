"""`smilepost demo` as a newcomer sees it, on a machine without a display: a year of data behind a printed sign-in,
the live kiosk's taps arriving at a seeded location, a quiet console, Ctrl-C ending it with exit code 0, and a
second start reusing the first one's sign-in without seeding again.

The first start seeds 2 locations (``--locations 2``) instead of 8 to keep the test short; still a whole year.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kiosk.store import Store
from tests.support.live import SMILEPOST, free_port, location_summary

pytestmark = [pytest.mark.e2e, pytest.mark.kivy]

SMALLER_SEED = ("--locations", "2", "--days", "365")
ACCESS_LINE = re.compile(r'"(GET|POST|PUT|DELETE) \S+ HTTP/1\.[01]" \d{3}')


def _wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := predicate()) is not None:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class DemoRun:
    """One `smilepost demo` process, its stdout and stderr together in ``output``."""

    process: subprocess.Popen[bytes]
    output: Path

    @classmethod
    def start(cls, tmp_path: Path, port: int, name: str) -> DemoRun:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMILEPOST_", "SDL_", "KIVY_"))}
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        env.update(SMILEPOST_DATA_DIR=str(tmp_path / "data"), KIVY_HOME=str(tmp_path / "kivy"))
        output = tmp_path / f"{name}.out"
        with output.open("wb") as out:
            process = subprocess.Popen(
                [SMILEPOST, "demo", "--port", str(port), *SMALLER_SEED], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        return cls(process, output)

    def instructions(self, timeout: float) -> str:
        def ready() -> str | None:
            if self.process.poll() is not None:
                raise AssertionError(f"the demo exited {self.process.returncode}:\n{self.output.read_text()}")
            text = self.output.read_text()
            return text if "Press Ctrl-C" in text else None

        text: str = _wait_for(ready, timeout, "the demo's instructions")
        return text

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C, as a terminal sends it; the exit code and the whole output."""
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return code, self.output.read_text()


def _field(text: str, label: str) -> str:
    match = re.search(rf"^\s*{label}:\s+(.+)$", text, re.MULTILINE)
    assert match, text
    return match.group(1).strip()


def _sign_in(base: str, text: str) -> httpx.Client:
    """A client signed in with the printed demo sign-in (POST /login with the form's CSRF cookie)."""
    match = re.search(r"sign in as (\S+), password (\S+)", _field(text, "Dashboard"))
    assert match, text
    email, password = match.groups()
    client = httpx.Client(base_url=base, timeout=30)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    answer = client.post("/login", data={"email": email, "password": password, "csrf_token": token.group(1)})
    assert answer.status_code == 303 and "smilepost_session" in client.cookies, answer.text
    return client


def _assert_quiet(output: str) -> None:
    assert "Traceback" not in output, output
    assert "mtdev" not in output.lower(), output
    assert not ACCESS_LINE.search(output), output
    assert not re.search(r"^\[?(INFO|DEBUG)", output, re.MULTILINE), output


def test_demo_serves_a_year_of_data_a_live_kiosk_at_a_seeded_location_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    first = DemoRun.start(tmp_path, port, "first")
    try:
        text = first.instructions(timeout=180)
        base = f"http://127.0.0.1:{port}"
        assert _field(text, "Dashboard").startswith(f"{base}/ ")
        assert "No display found: the kiosk window runs offscreen" in text
        assert "First start: seeded 2 locations" in text and "over 365 days" in text
        demo = json.loads((tmp_path / "data" / "demo.json").read_text())
        assert demo["email"] in text and demo["password"] in text

        # Signed in with what was printed, the 12-month overview has a year of answers at every seeded location.
        browser = _sign_in(base, text)
        overview = browser.get("/", params={"range": "365d"}).text
        browser.close()
        rows = dict(re.findall(r'<tr data-location="(\d+)">.*?<td class="num responses">(\d+)</td>', overview, re.S))
        assert len(rows) == 2 and all(int(responses) > 1000 for responses in rows.values()), overview
        key = re.search(r"Bearer (spa_\S+)'", _field(text, "API")).group(1)  # type: ignore[union-attr]
        today = date.today()
        year_ago = {"start": str(today - timedelta(days=364)), "end": str(today - timedelta(days=334))}
        for location in rows:  # the first month of the year has answers too
            summary = httpx.get(f"{base}/api/v1/locations/{location}/summary", params=year_ago,
                                headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
            assert summary["responses"] > 0, summary

        # The demo kiosk stands at a seeded location: its taps land on top of that location's history.
        location = demo["location_id"]
        assert str(location) in rows and f"{base}/locations/{location}" in _field(text, "Kiosk")
        before = location_summary(base, key, location)["responses"]
        simulate = shlex.split(_field(text, "More taps"))
        simulate[0] = SMILEPOST
        report = json.loads(subprocess.run(simulate, capture_output=True, text=True, check=True).stdout)
        assert report["recorded"] == report["acknowledged"] == 100
        assert location_summary(base, key, location)["responses"] == before + 100
        fleet = httpx.get(f"{base}/api/v1/kiosks", params={"location_id": location},
                          headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
        assert {kiosk["kiosk_id"]: kiosk["received"] for kiosk in fleet}[demo["kiosk_id"]] == 100

        # The window's own sync worker reached the server with the same token: it cached the location's config.
        def cached_location() -> str | None:
            with Store.open(tmp_path / "data" / "kiosk") as store:
                cached = store.cached_config()
            return cached[0].location_name if cached else None

        assert _wait_for(cached_location, 30, "the demo kiosk to fetch its config") == demo["location_name"]
    finally:
        code, output = first.interrupt()
    assert code == 0, output
    _assert_quiet(output)

    started = datetime.now(UTC)
    second = DemoRun.start(tmp_path, port, "second")
    try:
        again = second.instructions(timeout=60)

        # Ctrl-C once the kiosk window runs (it syncs again), as after the first start.
        def synced_again() -> bool | None:
            fleet = httpx.get(f"{base}/api/v1/kiosks", headers={"Authorization": f"Bearer {key}"}).json()
            seen = {kiosk["kiosk_id"]: kiosk["last_seen_at"] for kiosk in fleet}[demo["kiosk_id"]]
            return True if seen and datetime.fromisoformat(seen.replace("Z", "+00:00")) >= started else None

        _wait_for(synced_again, 30, "the demo kiosk to sync after the second start")
    finally:
        code, output = second.interrupt()
    assert code == 0, output
    _assert_quiet(output)
    assert "First start" not in again and f"password {demo['password']}" in again
