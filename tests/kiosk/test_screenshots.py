"""`smilepost kiosk screenshot` renders every screen offscreen to PNG files of the asked size."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.ui.screenshots import SCREENS

SMILEPOST = str(Path(sys.executable).with_name("smilepost"))

pytestmark = pytest.mark.kivy


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMILEPOST_", "KIVY_", "SDL_"))}
    return subprocess.run(
        [SMILEPOST, "kiosk", "screenshot", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_screenshot_writes_every_screen_at_the_asked_size(tmp_path: Path) -> None:
    done = _run("--out", str(tmp_path / "shots"), "--scale", "3", "--lang", "de", "--size", "800x480")
    assert done.returncode == 0, done.stderr
    written = [Path(line) for line in done.stdout.split()]
    assert [p.stem for p in written] == list(SCREENS)
    for required in ("ask", "thanks", "followup", "comment", "pairing", "admin", "closed"):
        png = tmp_path / "shots" / f"{required}.png"
        assert _png_size(png) == (800, 480)
        assert png.stat().st_size > 5000, f"{png} looks empty"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "7"], "scale must be one of (3, 4, 5, 11)"),
        (["--lang", "xx"], "demo texts exist for en, nb, de"),
        (["--size", "big"], "expected WIDTHxHEIGHT"),
    ],
)
def test_screenshot_refuses_what_it_cannot_render(tmp_path: Path, args: list[str], message: str) -> None:
    done = _run("--out", str(tmp_path), *args)
    assert done.returncode == 2
    assert message in " ".join(done.stderr.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())
