"""The kiosk starts without the server's heavy dependencies: its run path imports neither SQLAlchemy, argon2 nor
FastAPI (checked in a fresh interpreter, so nothing imported by the test run counts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVER_ONLY = ("sqlalchemy", "argon2", "fastapi")
CODE = """
import json, sys
import kiosk.cli
import kiosk.ui.app
from kiosk.settings import KioskSettings
kiosk.ui.app.SmilepostKioskApp(KioskSettings(data_dir=sys.argv[1]))
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Top-level packages loaded by importing the kiosk's run path (kiosk.cli, kiosk.ui.app) and making the App."""
    tmp = tmp_path_factory.mktemp("imports")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMILEPOST_", "KIVY_", "SDL_"))}
    env.update(SDL_VIDEODRIVER="offscreen", KIVY_HOME=str(tmp / "kivy"), KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1")
    done = subprocess.run(
        [sys.executable, "-c", CODE, str(tmp / "data")], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_kiosk_run_path_imports_kivy_and_the_kiosk(imported: set[str]) -> None:
    assert {"kivy", "kiosk", "shared", "httpx", "sqlite_utils"} <= imported


@pytest.mark.parametrize("package", SERVER_ONLY)
def test_the_kiosk_run_path_imports_no_server_dependency(imported: set[str], package: str) -> None:
    assert package not in imported
