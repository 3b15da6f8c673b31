"""The real kiosk app in a real Kivy window (SDL offscreen), driven in a subprocess by drive_app.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.store import Store

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("drive_app.py")
OUTPUT = REPO / "test-output" / "kiosk"

pytestmark = pytest.mark.kivy


def run_driver(tmp_path: Path, scale: int, repeat_seconds: float = 0.0) -> dict[str, object]:
    data_dir, result = tmp_path / "data", tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMILEPOST_", "KIVY_", "SDL_"))}
    env.update(
        SDL_VIDEODRIVER="offscreen",
        KIVY_HOME=str(tmp_path / "kivy-home"),
        KIVY_NO_ARGS="1",
        KIVY_NO_CONSOLELOG="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    args = [str(data_dir), str(OUTPUT), str(result), "--scale", str(scale), "--repeat-seconds", str(repeat_seconds)]
    done = subprocess.run(
        [sys.executable, str(DRIVER), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, object] = json.loads(result.read_text())
    assert outcome["error"] is None, outcome["error"]
    return outcome


@pytest.mark.parametrize("scale", [3, 4, 5])
def test_every_face_press_stores_one_tap_and_shows_thanks(tmp_path: Path, scale: int) -> None:
    outcome = run_driver(tmp_path, scale)

    assert outcome["current_at_start"] == "ask"
    assert outcome["question_text"] == f"How was security today? ({scale} faces)"
    assert outcome["status_text"] == "not paired"
    assert outcome["face_scores"] == list(range(1, scale + 1))
    presses = outcome["presses"]
    assert isinstance(presses, list)
    assert [p["score"] for p in presses] == list(range(1, scale + 1))
    assert all(p["screen_after_release"] == "thanks" for p in presses), presses
    assert all(p["screen_next_frame"] == "thanks" for p in presses), presses
    assert all(p["returned_to_ask"] for p in presses), presses

    with Store.open(tmp_path / "data") as store:
        taps = list(store.iter_all())
        assert store.counts().pending == scale  # no token: nothing was sent
    assert [(t.seq, t.score, t.scale, t.question_id, t.flags) for t in taps] == [
        (i, i, scale, "main", []) for i in range(1, scale + 1)
    ]

    for name in (f"ask-scale{scale}", f"thanks-scale{scale}"):
        png = OUTPUT / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 2048, f"{png} looks empty"


def test_faces_are_big_touch_targets(tmp_path: Path) -> None:
    outcome = run_driver(tmp_path, 5)
    width, height = outcome["window_size"]  # type: ignore[misc]
    for face_width, face_height in outcome["face_sizes"]:  # type: ignore[attr-defined]
        assert face_width >= width / 7 and face_height >= height / 3


def test_presses_inside_the_repeat_interval_are_flagged(tmp_path: Path) -> None:
    run_driver(tmp_path, 3, repeat_seconds=60)
    with Store.open(tmp_path / "data") as store:
        assert [t.flags for t in store.iter_all()] == [[], ["repeat"], ["repeat"]]


def test_changed_config_from_the_worker_is_applied_live(tmp_path: Path) -> None:
    outcome = run_driver(tmp_path, 4)
    assert outcome["after_config"] == {
        "question_text": "Changed question?",
        "thanks_text": "Danke!",
        "status_text": "offline, 4 queued",
        "face_scores": [1, 2, 3],
    }
