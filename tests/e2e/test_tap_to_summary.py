"""One tap travels from the kiosk to a location summary: CLI, kiosk store and sync, real uvicorn, SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.store import Store
from tests.support.live import Cli, LiveServer, location_summary, setup_location, start_server

pytestmark = pytest.mark.e2e


def test_simulated_taps_all_reach_the_location_summary(cli: Cli, live_server: LiveServer, tmp_path: Path) -> None:
    location_id, token, key = setup_location(cli)
    kiosk_data = tmp_path / "kiosk"

    result = cli.run(
        "kiosk", "simulate", "--server", live_server.url, "--token", token,
        "--taps", "2000", "--data", str(kiosk_data), "--seed", "7",
    )  # fmt: skip

    report = json.loads(result.stdout)
    assert report["recorded"] == 2000
    assert report["acknowledged"] == 2000
    assert report["pending"] == 0
    assert sum(report["counts"].values()) == 2000
    summary = location_summary(live_server.url, key, location_id)
    assert summary["responses"] == 2000
    assert summary["counts"] == report["counts"]
    with Store.open(kiosk_data) as store:
        counts = store.counts()
    assert (counts.total, counts.pending, counts.synced) == (2000, 0, 2000)


def test_simulation_on_a_three_face_location_uses_the_served_scale(
    cli: Cli, live_server: LiveServer, tmp_path: Path
) -> None:
    location_id, token, key = setup_location(cli, timezone="Asia/Kathmandu", scale="3")
    result = cli.run("kiosk", "simulate", "--server", live_server.url, "--token", token, "--taps", "300",
                     "--data", str(tmp_path / "k3"), "--seed", "3")  # fmt: skip
    report = json.loads(result.stdout)
    assert set(report["counts"]) == {"1", "2", "3"}
    summary = location_summary(live_server.url, key, location_id)
    assert summary["scale"] == 3
    assert summary["counts"] == report["counts"]


def test_kiosk_sync_drains_taps_recorded_while_the_server_was_down(
    cli: Cli, live_server: LiveServer, tmp_path: Path
) -> None:
    location_id, token, key = setup_location(cli)
    kiosk_data = tmp_path / "offline-kiosk"
    with Store.open(kiosk_data) as store:  # recorded with no network, as the app does
        for score in (1, 2, 2, 5, 5, 5):
            store.record_tap(score, 5)

    first = cli.run("kiosk", "sync", "--server", live_server.url, "--token", token, "--data", str(kiosk_data))
    again = cli.run("kiosk", "sync", "--server", live_server.url, "--token", token, "--data", str(kiosk_data))

    assert '"accepted": 6' in first.stdout and '"pending": 0' in first.stdout
    assert '"sent": 0' in again.stdout
    summary = location_summary(live_server.url, key, location_id)
    assert summary["counts"] == {"1": 1, "2": 2, "3": 0, "4": 0, "5": 3}


def test_rejected_token_keeps_every_tap_and_fails(cli: Cli, live_server: LiveServer, tmp_path: Path) -> None:
    setup_location(cli)
    kiosk_data = tmp_path / "bad-token"
    with Store.open(kiosk_data) as store:
        store.record_tap(4, 5)

    result = cli.run("kiosk", "sync", "--server", live_server.url, "--token", "spk_wrong", "--data", str(kiosk_data),
                     check=False)  # fmt: skip

    assert result.returncode == 1
    assert "401" in result.stderr and "1 taps still queued" in result.stderr
    with Store.open(kiosk_data) as store:
        assert store.counts().pending == 1


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc; no extra dependency)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_server_with_two_workers_counts_every_tap_once(cli: Cli, tmp_path: Path) -> None:
    location_id, token, key = setup_location(cli)
    server = start_server(cli, tmp_path / "workers.log", None, "--workers", "2")
    try:
        workers = [pid for pid in _children(server.process.pid) if "spawn_main" in _cmdline(pid)]
        result = cli.run("kiosk", "simulate", "--server", server.url, "--token", token, "--taps", "3000",
                         "--data", str(tmp_path / "k"), "--seed", "11")  # fmt: skip
        report = json.loads(result.stdout)
        summary = location_summary(server.url, key, location_id)
    finally:
        server.process.terminate()
        server.process.wait(timeout=20)
    assert len(workers) >= 2, workers
    assert report["acknowledged"] == 3000
    assert summary["responses"] == 3000
    assert summary["counts"] == report["counts"]
