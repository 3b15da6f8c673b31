"""KioskSettings from SMILEPOST_KIOSK_* and the pre-Kivy environment check (no Kivy imported here)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.settings import KioskSettings
from kiosk.ui.display import (
    IMAGE_PROVIDERS,
    MTDEV_MISSING,
    MissingMtdevFilter,
    has_display,
    prepare_demo_environment,
    prepare_kivy_environment,
    wants_touch_probe,
)

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
    assert env == {"KIVY_NO_ARGS": "1", "KIVY_IMAGE": IMAGE_PROVIDERS, "SDL_VIDEODRIVER": "offscreen"}


def test_environment_with_display_is_left_alone() -> None:
    env = {"DISPLAY": ":0", "KIVY_NO_ARGS": "0", "KIVY_IMAGE": "pil"}
    assert prepare_kivy_environment(env) is False
    assert env == {"DISPLAY": ":0", "KIVY_NO_ARGS": "0", "KIVY_IMAGE": "pil"}


def test_kivy_loads_no_pillow_for_the_kiosk(tmp_path: Path) -> None:
    """The kiosk shows no pictures: Kivy's image loaders are its own and SDL2's, so Pillow stays out (#15)."""
    env = {"PATH": os.environ.get("PATH", ""), "KIVY_HOME": str(tmp_path), "KIVY_NO_CONSOLELOG": "1"}
    code = "import sys, kiosk.ui.kivy_env, kivy.core.image as i; print(i.libs_loaded, 'PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['img_tex',", "'img_dds',", "'img_sdl2']", "False"]


@pytest.mark.parametrize(
    ("env", "devices", "expected"),
    [
        ({"DISPLAY": ":0"}, ["event0"], True),  # a Pi's desktop with its touchscreen
        ({"SDL_VIDEODRIVER": "kmsdrm"}, ["event3", "mouse0"], True),  # a Pi without a desktop
        ({"DISPLAY": ":0"}, [], False),  # a container or a VM: nothing to open
        ({"DISPLAY": ":0"}, None, False),  # no /dev/input at all
        ({}, ["event0"], False),  # no display: nobody touches a window that is not shown
        ({"SDL_VIDEODRIVER": "offscreen"}, ["event0"], False),
        ({"SDL_VIDEODRIVER": "dummy"}, ["event0"], False),
    ],
)
def test_the_touchscreen_probe_is_wanted_only_with_a_display_and_input_devices(
    tmp_path: Path, env: dict[str, str], devices: list[str] | None, expected: bool
) -> None:
    dev_input = tmp_path / "input"
    if devices is not None:
        dev_input.mkdir()
        for name in devices:
            (dev_input / name).touch()
    assert wants_touch_probe(env, dev_input) is expected


def test_the_demo_environment_sends_kivy_through_python_logging_without_its_config_file() -> None:
    env = {"KIVY_NO_FILELOG": "0"}
    prepare_demo_environment("WARNING", env)
    assert env == {"KIVY_LOG_MODE": "PYTHON", "KIVY_NO_CONFIG": "1", "KIVY_NO_FILELOG": "0",
                   "KCFG_KIVY_LOG_LEVEL": "warning"}  # fmt: skip


def test_a_missing_libmtdev_becomes_one_info_line_without_traceback() -> None:
    try:
        raise OSError("libmtdev.so.1: cannot open shared object file: No such file or directory")
    except OSError:
        record = logging.LogRecord("kivy", logging.ERROR, __file__, 1, MTDEV_MISSING, None, sys.exc_info())
    other = logging.LogRecord("kivy", logging.ERROR, __file__, 1, "GL: something else", None, None)
    assert MissingMtdevFilter().filter(record) and MissingMtdevFilter().filter(other)
    assert (record.levelno, record.levelname, record.exc_info) == (logging.INFO, "INFO", None)
    assert record.getMessage() == (
        f"{MTDEV_MISSING} (libmtdev.so.1: cannot open shared object file: No such file or directory);"
        " touchscreens are read through hidinput"
    )
    assert other.levelno == logging.ERROR


@pytest.mark.kivy
def test_kivy_without_libmtdev_and_without_the_touch_probe_prints_no_traceback(tmp_path: Path) -> None:
    code = """
import ctypes
load = ctypes.cdll.LoadLibrary
def without_mtdev(name):
    if "mtdev" in name:
        raise OSError(name + ": cannot open shared object file: No such file or directory")
    return load(name)
ctypes.cdll.LoadLibrary = without_mtdev
from kiosk.settings import KioskSettings
from kiosk.ui.app import configure_window
from kivy.config import Config
configure_window(KioskSettings(), touch_probe=False)
import kivy.input  # what App.run imports before it starts the input providers
print(sorted(value for _, value in Config.items("input")))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIVY_", "SDL_")) and k != "DISPLAY"}
    env["KIVY_HOME"] = str(tmp_path / "kivy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "MTDev is not supported" in result.stderr and "touchscreens are read through hidinput" in result.stderr
    assert result.stdout.strip() == "['mouse,multitouch_on_demand']"


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
