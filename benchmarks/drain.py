"""Drain: 100 000 taps queued on one kiosk (kiosk.store + kiosk.sync) sent to a loopback server; target <= 10 s.

Baseline in the same run: the same taps as pre-serialized 1000-tap bodies posted to a fresh server on one
connection (the server's share of the work), so the ratio shows what the kiosk side adds.

    python -m benchmarks.drain [--taps 100000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks._common import report, seed, server
from benchmarks.ingest import make_bodies, via_api
from kiosk.store import _INSERT_TAP, Store
from kiosk.sync import Syncer, make_client

TARGET_SECONDS = 10.0


def fill(store: Store, total: int) -> None:
    """Queue ``total`` taps straight into the outbox in one transaction (record_tap would take minutes)."""
    start = datetime.now(UTC) - timedelta(seconds=10 * total)
    rows = [
        {"id": str(uuid.uuid4()), "question_id": "main", "score": 1 + i % 5, "scale": 5,
         "tapped_at": (start + timedelta(seconds=10 * i)).isoformat(), "mono_ns": i * 1_000_000,
         "boot_id": store.boot_id, "followup": None, "comment": None, "flags": json.dumps([]), "held": 0}
        for i in range(total)
    ]  # fmt: skip
    with store.db.conn:
        store.db.conn.executemany(_INSERT_TAP, rows)


def run(total: int = 100_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/drain.db"
        _, (token,) = seed(url)
        store = Store(Path(tmp) / "outbox.db")
        fill(store, total)
        with server(url, Path(tmp) / "server.log") as base, make_client(base, token, timeout=60) as client:
            start = time.perf_counter()
            result = Syncer(store, client).drain(max_attempts=3)
            elapsed = time.perf_counter() - start
        assert result.accepted == total and store.counts().pending == 0, result
        store.close()

        url = f"sqlite:///{tmp}/baseline.db"
        _, (token,) = seed(url)
        bodies = make_bodies(total)
        with server(url, Path(tmp) / "baseline.log") as base:
            server_only = total / via_api(base, token, bodies, streams=1)
    report(
        f"drain: {total:,} queued taps in {elapsed:.2f} s ({total / elapsed:,.0f} taps/s; target <= "
        f"{TARGET_SECONDS:.0f} s); server alone on the same batches {server_only:.2f} s,"
        f" ratio {elapsed / server_only:.2f}",
        met=elapsed <= TARGET_SECONDS,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--taps", type=int, default=100_000)
    run(parser.parse_args().taps)


if __name__ == "__main__":
    main()
