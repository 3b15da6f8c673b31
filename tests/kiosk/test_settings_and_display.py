"""KioskSettings from SMILEPOST_KIOSK_* and the pre-Kivy environment check (no Kivy imported here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.settings import KioskSettings
from kiosk.ui.display import has_display, prepare_kivy_environment

REPO = Path(__file__).resolve().parents[2]


def test_settings_read_kiosk_prefixed_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMILEPOST_KIOSK_SERVER", "http://127.0.0.1:9999")
    monkeypatch.setenv("SMILEPOST_KIOSK_TOKEN", "s3cr3t-kiosk-token")
    monkeypatch.setenv("SMILEPOST_KIOSK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SMILEPOST_KIOSK_BATCH_SIZE", "250")
    monkeypatch.setenv("SMILEPOST_KIOSK_FULLSCREEN", "true")
    settings = KioskSettings()
    assert settings.server == "http://127.0.0.1:9999"
    assert settings.token is not None and settings.token.get_secret_value() == "s3cr3t-kiosk-token"
    assert "s3cr3t" not in repr(settings)
    assert (settings.data_dir, settings.batch_size, settings.fullscreen) == (tmp_path, 250, True)


@pytest.mark.parametrize("size", ["0", "1001"])
def test_batch_size_outside_1_to_1000_is_refused(monkeypatch: pytest.MonkeyPatch, size: str) -> None:
    monkeypatch.setenv("SMILEPOST_KIOSK_BATCH_SIZE", size)
    with pytest.raises(ValidationError):
        KioskSettings()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"DISPLAY": ":0"}, True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, True),
        ({"SDL_VIDEODRIVER": "kmsdrm"}, True),
        ({"DISPLAY": ""}, False),
    ],
)
def test_has_display(env: dict[str, str], expected: bool) -> None:
    assert has_display(env) is expected


def test_headless_environment_gets_the_offscreen_driver() -> None:
    env: dict[str, str] = {}
    assert prepare_kivy_environment(env) is True
    assert env == {"KIVY_NO_ARGS": "1", "SDL_VIDEODRIVER": "offscreen"}


def test_environment_with_display_is_left_alone() -> None:
    env = {"DISPLAY": ":0", "KIVY_NO_ARGS": "0"}
    assert prepare_kivy_environment(env) is False
    assert env == {"DISPLAY": ":0", "KIVY_NO_ARGS": "0"}


KIVY_FREE = [
    "kiosk",
    "kiosk.cli",
    "kiosk.flow",
    "kiosk.hours",
    "kiosk.recovery",
    "kiosk.settings",
    "kiosk.simulate",
    "kiosk.store",
    "kiosk.sync",
    "kiosk.texts",
    "kiosk.ui",
    "kiosk.ui.clockscript",
    "kiosk.ui.display",
    "kiosk.ui.faces",
    "kiosk.ui.screenshots",
]


def test_kiosk_library_modules_do_not_import_kivy() -> None:
    code = (
        f"import sys, {', '.join(KIVY_FREE)};"
        "print(sorted(m for m in sys.modules if m == 'kivy' or m.startswith('kivy.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_admin_pin_is_read_from_the_environment_and_kept_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.settings import KioskSettings

    monkeypatch.setenv("SMILEPOST_KIOSK_ADMIN_PIN", "246813")
    settings = KioskSettings()
    assert settings.admin_pin is not None and settings.admin_pin.get_secret_value() == "246813"
    assert "246813" not in repr(settings)
