"""Two installs from one wheel: a kiosk without the server, a server without Kivy, and the core alone.

Each install is a fresh virtual environment filled from a wheelhouse that ``make wheelhouse`` (run by ``.ci/run``)
prepared beforehand, with ``pip install --no-index``: the test itself downloads nothing. Run with
``make test-installs`` (marker ``installs``; not part of ``make test``, which leaves it out).
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.live import LiveServer, launch_server

pytestmark = pytest.mark.installs


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    """The folder of wheels (Smilepost's and its dependencies') named by SMILEPOST_TEST_WHEELHOUSE."""
    folder = os.environ.get("SMILEPOST_TEST_WHEELHOUSE")
    if not folder or not Path(folder).is_dir():
        pytest.fail("set SMILEPOST_TEST_WHEELHOUSE to a folder made by `make wheelhouse` (make test-installs does)")
    return Path(folder)


def install(folder: Path, wheelhouse: Path, requirement: str) -> Path:
    """A fresh venv in ``folder`` with ``requirement`` installed from the wheelhouse only; its bin folder."""
    venv.create(folder, with_pip=True)
    bin_dir = folder / "bin"
    subprocess.run(
        [bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-index", "--find-links", wheelhouse, requirement],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return bin_dir


def env_without_smilepost(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMILEPOST_", "VIRTUAL_ENV", "PYTHONPATH"))}
    return {**env, **extra}


def run(bin_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]], capture_output=True, text=True, timeout=300,
        env=env or env_without_smilepost(), cwd=bin_dir.parent,
    )  # fmt: skip


def imports(bin_dir: Path, module: str) -> bool:
    return run(bin_dir, "python", "-c", f"import {module}").returncode == 0


@pytest.fixture(scope="module")
def kiosk_bin(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Path:
    return install(tmp_path_factory.mktemp("kiosk-venv"), wheelhouse, "smilepost[kiosk]")


@pytest.fixture(scope="module")
def server_bin(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Path:
    return install(tmp_path_factory.mktemp("server-venv"), wheelhouse, "smilepost[server]")


@pytest.fixture
def server(server_bin: Path, tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """`smilepost server` from the server install on a fresh data folder, and that folder's environment."""
    env = env_without_smilepost(SMILEPOST_DATA_DIR=str(tmp_path / "server-data"))
    started = launch_server(env, tmp_path / "server.log", command=str(server_bin / "smilepost"))
    yield started, env
    started.stop()


def test_the_kiosk_install_has_no_server_and_the_server_install_no_kivy(kiosk_bin: Path, server_bin: Path) -> None:
    assert imports(kiosk_bin, "kivy") and imports(kiosk_bin, "sqlite_utils") and imports(kiosk_bin, "kiosk.ui.app")
    for module in ("fastapi", "sqlalchemy", "argon2", "uvicorn", "alembic"):
        assert not imports(kiosk_bin, module), module
    assert imports(server_bin, "fastapi") and imports(server_bin, "server.app")
    assert not imports(server_bin, "kivy") and not imports(server_bin, "sqlite_utils")


def test_each_install_says_in_one_line_what_the_other_commands_need(kiosk_bin: Path, server_bin: Path) -> None:
    no_server = run(kiosk_bin, "smilepost", "server")
    no_kiosk = run(server_bin, "smilepost", "kiosk", "run")

    assert (no_server.returncode, no_server.stderr) == (1, "the server needs: pip install 'smilepost[server]'\n")
    assert (no_kiosk.returncode, no_kiosk.stderr) == (1, "the kiosk needs: pip install 'smilepost[kiosk]'\n")
    assert run(kiosk_bin, "smilepost", "--help").returncode == 0


def test_the_core_alone_installs_the_command_which_says_what_to_add(
    tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path
) -> None:
    core = install(tmp_path_factory.mktemp("core-venv"), wheelhouse, "smilepost")

    listing = run(core, "smilepost", "--help")
    enroll = run(core, "smilepost", "kiosk", "enroll", "--location", "1")

    assert listing.returncode == 0 and "kiosk" in listing.stdout and "server" in listing.stdout
    assert (enroll.returncode, enroll.stderr) == (1, "the server needs: pip install 'smilepost[server]'\n")
    assert imports(core, "pydantic") and imports(core, "typer")  # the core's own dependencies are there
    assert not imports(core, "kivy") and not imports(core, "fastapi")


def test_a_kiosk_install_simulates_taps_that_a_server_install_counts(
    kiosk_bin: Path, server_bin: Path, server: tuple[LiveServer, dict[str, str]], tmp_path: Path
) -> None:
    live, env = server
    location = json.loads(run(server_bin, "smilepost", "location", "add", "Gate", "--timezone", "Europe/Oslo",
                              "--json", env=env).stdout)  # fmt: skip
    kiosk = json.loads(run(server_bin, "smilepost", "kiosk", "enroll", "--location", str(location["id"]), "--json",
                           env=env).stdout)  # fmt: skip
    key = json.loads(run(server_bin, "smilepost", "apikey", "create", "--name", "t", "--json", env=env).stdout)["key"]

    simulated = run(kiosk_bin, "smilepost", "kiosk", "simulate", "--server", live.url, "--token", kiosk["token"],
                    "--taps", "25", "--data", str(tmp_path / "kiosk-data"), "--seed", "3")  # fmt: skip

    assert simulated.returncode == 0, simulated.stderr
    around_today = {"start": str(date.today() - timedelta(days=2)), "end": str(date.today() + timedelta(days=3))}
    summary = httpx.get(
        f"{live.url}/api/v1/locations/{location['id']}/summary", params=around_today,
        headers={"Authorization": f"Bearer {key}"},
    ).json()  # fmt: skip
    fleet = httpx.get(f"{live.url}/api/v1/kiosks", headers={"Authorization": f"Bearer {key}"}).json()
    assert summary["responses"] + summary["filtered"]["repeat"] == 25
    assert [(k["received"], k["queue_depth"], k["missing"]) for k in fleet] == [(25, 0, 0)]


def test_the_kiosk_install_renders_every_screen(kiosk_bin: Path, tmp_path: Path) -> None:
    env = env_without_smilepost(SDL_VIDEODRIVER="offscreen", KIVY_HOME=str(tmp_path / "kivy"), KIVY_NO_ARGS="1")

    shot = run(kiosk_bin, "smilepost", "kiosk", "screenshot", "--out", str(tmp_path / "shots"), env=env)

    assert shot.returncode == 0, shot.stderr[-2000:]
    pngs = sorted((tmp_path / "shots").glob("*.png"))
    assert {p.stem for p in pngs} >= {"ask", "thanks", "followup", "pin", "pairing"}
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
