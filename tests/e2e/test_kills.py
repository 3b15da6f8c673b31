"""Attack: SIGKILL the kiosk while it records and syncs, and the server while it ingests.

Counts are small enough for `make test`; raise them with SMILEPOST_ATTACK_KIOSK_KILLS and
SMILEPOST_ATTACK_SERVER_KILLS (e.g. 1000 and 100) for the long run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from kiosk.store import Store
from kiosk.sync import Syncer, Unreachable, make_client
from tests.support.live import SMILEPOST, Cli, LiveServer, free_port, location_summary, setup_location, start_server

pytestmark = pytest.mark.e2e

KIOSK_KILLS = int(os.environ.get("SMILEPOST_ATTACK_KIOSK_KILLS", "20"))
SERVER_KILLS = int(os.environ.get("SMILEPOST_ATTACK_SERVER_KILLS", "8"))


def _kiosk_counts(data: Path) -> tuple[dict[str, int], int]:
    with Store.open(data) as store:
        counts = Counter(str(tap.score) for tap in store.iter_all())
        pending = store.counts().pending
    return {str(s): counts[str(s)] for s in range(1, 6)}, pending


def test_kiosk_killed_at_random_points_loses_and_doubles_nothing(
    cli: Cli, live_server: LiveServer, tmp_path: Path
) -> None:
    location_id, token, key = setup_location(cli)
    data = tmp_path / "kiosk"
    rng = random.Random(1123)
    kills = 0
    for run in range(KIOSK_KILLS):
        process = subprocess.Popen(
            [SMILEPOST, "kiosk", "simulate", "--server", live_server.url, "--token", token,
             "--taps", str(rng.randint(500, 3000)), "--data", str(data), "--seed", str(run)],
            env=cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.5, 1.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()

    cli.run("kiosk", "sync", "--server", live_server.url, "--token", token, "--data", str(data))

    kiosk_counts, pending = _kiosk_counts(data)
    integrity = sqlite3.connect(data / "outbox.db").execute("PRAGMA integrity_check").fetchone()[0]
    print(f"\nkiosk kills: {kills} of {KIOSK_KILLS} runs killed, {sum(kiosk_counts.values())} taps recorded")
    assert integrity == "ok"
    assert pending == 0
    assert location_summary(live_server.url, key, location_id)["counts"] == kiosk_counts
    assert kills >= KIOSK_KILLS // 2, "most runs must be killed mid-way for this test to mean anything"


class _BatchLog:
    """Seq numbers of every batch the kiosk sent, read from the request bodies."""

    def __init__(self) -> None:
        self.batches: list[set[int]] = []

    def __call__(self, request: httpx.Request) -> None:
        if request.url.path == "/api/v1/taps":
            self.batches.append({tap["seq"] for tap in json.loads(request.content)["taps"]})


def _server_database_state(database: Path) -> tuple[set[int], bool, str]:
    """(stored seqs, hourly and daily rollups == raw counts for every key, integrity) of a closed server database."""
    db = sqlite3.connect(database)
    try:
        seqs = {row[0] for row in db.execute("SELECT seq FROM taps")}
        raw = set(
            db.execute(
                "SELECT location_id, question_id, local_date, local_hour, scale, score, count(*) FROM taps "
                "WHERE ',' || flags || ',' NOT LIKE '%,repeat,%' "
                "GROUP BY location_id, question_id, local_date, local_hour, scale, score"
            )
        )
        rolled = set(
            db.execute("SELECT location_id, question_id, local_date, local_hour, scale, score, count FROM rollups")
        )
        daily_key = "location_id, question_id, local_date, kiosk_id, scale, score, COALESCE(followup, '')"
        raw_daily = set(
            db.execute(
                f"SELECT {daily_key}, count(*) FROM taps WHERE ',' || flags || ',' NOT LIKE '%,repeat,%' "
                f"GROUP BY {daily_key}"
            )
        )
        daily = set(db.execute(f"SELECT {daily_key}, count FROM daily_rollups"))
        return seqs, raw == rolled and raw_daily == daily, db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def test_server_killed_mid_ingest_never_leaves_a_partial_batch_or_a_wrong_rollup(cli: Cli, tmp_path: Path) -> None:
    location_id, token, key = setup_location(cli)
    port = free_port()
    log_path = tmp_path / "server.log"
    server = start_server(cli, log_path, port)
    batch_log = _BatchLog()
    stop = threading.Event()
    errors: list[BaseException] = []

    def sync_forever() -> None:
        with Store.open(tmp_path / "kiosk") as store, make_client(server.url, token, timeout=2) as client:
            client.event_hooks["request"] = [batch_log]
            syncer = Syncer(store, client, batch_size=500)
            while not (stop.is_set() and store.counts().pending == 0):
                try:
                    syncer.send_pending()
                except Unreachable:
                    time.sleep(0.02)
                except BaseException as exc:  # surfaced by the assertion below
                    errors.append(exc)
                    return
                time.sleep(0.005)

    syncing = threading.Thread(target=sync_forever, daemon=True)
    syncing.start()
    rng = random.Random(7)
    with Store.open(tmp_path / "kiosk") as store:
        for _ in range(SERVER_KILLS):
            for _ in range(3000):
                store.record_tap(rng.randint(1, 5), 5)
            time.sleep(rng.uniform(0.05, 0.4))
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            seqs, rollups_match, integrity = _server_database_state(cli.data_dir / "smilepost.db")
            assert integrity == "ok"
            assert rollups_match, "rollup counts differ from raw tap counts after a kill"
            partial = [b for b in batch_log.batches if seqs & b and not b <= seqs]
            assert partial == [], f"{len(partial)} batches stored in part"
            server = start_server(cli, log_path, port)
    stop.set()
    syncing.join(timeout=120)
    assert errors == []
    kiosk_counts, pending = _kiosk_counts(tmp_path / "kiosk")
    print(f"\nserver kills: {SERVER_KILLS}, {len(batch_log.batches)} batch deliveries, {len(seqs)} taps stored")
    assert pending == 0
    assert location_summary(server.url, key, location_id)["counts"] == kiosk_counts
    server.process.terminate()
    server.process.wait(timeout=10)
