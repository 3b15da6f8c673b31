"""One ``smilepost`` command in every install: each command checks its extra and says in one line what to install.

The real installs (fresh venvs per extra) are tested by tests/e2e/test_installs.py (``make test-installs``); here the
missing packages are faked, and the import check runs in a fresh interpreter.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from server import cli

SERVER_SIDE = [["server"], ["db", "upgrade"], ["location", "add", "X", "--timezone", "UTC"],
               ["kiosk", "enroll", "--location", "1"], ["kiosk", "pair-code", "--location", "1"],
               ["kiosk", "revoke", "k1"], ["apikey", "create", "--name", "n"], ["group", "add", "g"],
               ["demo", "--seed-only"], ["worker"], ["alert", "list"], ["webhook", "list"],
               ["target", "set", "--location", "1", "--index", "80"]]  # fmt: skip
KIOSK_SIDE = [["kiosk", "run"], ["kiosk", "simulate", "--taps", "1"], ["kiosk", "sync"],
              ["kiosk", "screenshot", "--out", "shots"]]  # fmt: skip


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch):
    """``without(extra)``: make the packages of that extra look uninstalled."""

    def hide(extra: str) -> None:
        hidden = set(cli.EXTRAS[extra])
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in hidden else real(name, *a))

    return hide


@pytest.mark.parametrize("args", SERVER_SIDE, ids=lambda a: " ".join(a))
def test_server_commands_without_the_server_extra_say_what_to_install(without, args):
    without("server")

    result = CliRunner().invoke(cli.app, args)

    assert result.exit_code == 1
    assert result.output == "the server needs: pip install 'smilepost[server]'\n"


@pytest.mark.parametrize("args", KIOSK_SIDE, ids=lambda a: " ".join(a))
def test_kiosk_commands_without_the_kiosk_extra_say_what_to_install(without, args):
    without("kiosk")

    result = CliRunner().invoke(cli.app, args)

    assert result.exit_code == 1
    assert result.output == "the kiosk needs: pip install 'smilepost[kiosk]'\n"


def test_the_full_demo_needs_the_kiosk_too(without):
    without("kiosk")

    result = CliRunner().invoke(cli.app, ["demo"])

    assert (result.exit_code, result.output) == (1, "the demo needs: pip install 'smilepost[kiosk,server]'\n")


def test_the_command_imports_no_extra_until_a_command_runs():
    code = (
        "import sys, server.cli; "
        "print(sorted(m for m in ('sqlalchemy', 'argon2', 'fastapi', 'uvicorn', 'alembic', 'jinja2', 'kivy', "
        "'httpx', 'sqlite_utils') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "[]"


def test_one_version_number_for_the_package_the_server_and_the_kiosk():
    from importlib.metadata import version

    import kiosk
    import server
    import shared

    assert version("smilepost") == shared.__version__ == server.__version__ == kiosk.__version__


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [({}, [], ("127.0.0.1", 8000)), ({"SMILEPOST_HOST": "0.0.0.0", "SMILEPOST_PORT": "8123"}, [], ("0.0.0.0", 8123)),
     ({"SMILEPOST_PORT": "8123"}, ["--port", "9000", "--host", "::1"], ("::1", 9000))],
)  # fmt: skip
def test_the_server_listens_where_the_options_say_else_where_the_settings_say(monkeypatch, env, args, expected):
    served = []
    monkeypatch.setattr("server.serving.serve", lambda settings, workers: served.append(settings))
    for name in ("SMILEPOST_HOST", "SMILEPOST_PORT"):
        monkeypatch.delenv(name, raising=False)

    result = CliRunner().invoke(cli.app, ["server", *args], env=env)

    assert result.exit_code == 0, result.output
    assert [(s.host, s.port) for s in served] == [expected]
