"""Drain: 100 000 taps queued on one kiosk (kiosk.store + kiosk.sync) sent to a loopback server; targets <= 10 s,
and <= 1.5 times the server alone.

Baseline in the same run: the same taps as pre-serialized 1000-tap bodies posted to a fresh server on one
connection (the server's share of the work), so the ratio shows what the kiosk side adds.

    python -m benchmarks.drain [--quick] [--taps 100000] [--rounds 2]
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

TARGET_SECONDS = 10.0  # for 100,000 taps
TARGET_RATIO = 1.5  # drain time over the server's alone


def fill(store: Store, total: int) -> None:
    """Queue ``total`` taps straight into the outbox in one transaction (record_tap would take minutes)."""
    start = datetime.now(UTC) - timedelta(seconds=10 * total)
    rows = [
        {"id": str(uuid.uuid4()), "question_id": "main", "score": 1 + i % 5, "scale": 5,
         "tapped_at": (start + timedelta(seconds=10 * i)).isoformat(), "mono_ns": i * 1_000_000,
         "boot_id": store.boot_id, "followup": None, "comment": None, "flags": json.dumps([]), "held": 0,
         "first_tap_id": None}
        for i in range(total)
    ]  # fmt: skip
    with store.db.conn:
        store.db.conn.executemany(_INSERT_TAP, rows)


def drain_seconds(tmp: Path, total: int) -> float:
    """Seconds for Syncer.drain to send ``total`` taps queued in a fresh outbox to a fresh server."""
    url = f"sqlite:///{tmp}/drain.db"
    _, (token,) = seed(url)
    store = Store(tmp / "outbox.db")
    fill(store, total)
    with server(url, tmp / "server.log") as base, make_client(base, token, timeout=60) as client:
        start = time.perf_counter()
        result = Syncer(store, client).drain(max_attempts=3)
        elapsed = time.perf_counter() - start
    assert result.accepted == total and store.counts().pending == 0, result
    store.close()
    return elapsed


def server_seconds(tmp: Path, bodies: list[bytes]) -> float:
    """Seconds for the same taps as pre-serialized 1000-tap bodies, posted one after the other to a fresh server."""
    url = f"sqlite:///{tmp}/baseline.db"
    _, (token,) = seed(url)
    with server(url, tmp / "baseline.log") as base:
        return len(bodies) * 1000 / via_api(base, token, bodies, streams=1)


def run(quick: bool = False, *, total: int | None = None, rounds: int | None = None) -> None:
    """The drain figure, best of ``rounds`` alternating drain and baseline runs; ``quick``: 20,000 taps, one round
    (the 10 s target scaled to them)."""
    total = total or (20_000 if quick else 100_000)
    rounds = rounds or (1 if quick else 2)
    bodies = make_bodies(total)
    drains, alone = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            drains.append(drain_seconds(Path(tmp), total))
        with tempfile.TemporaryDirectory() as tmp:
            alone.append(server_seconds(Path(tmp), bodies))
    elapsed, server_only = min(drains), min(alone)
    limit = TARGET_SECONDS * total / 100_000
    ratio = elapsed / server_only
    report(
        f"drain (best of {rounds}): {total:,} queued taps in {elapsed:.2f} s ({total / elapsed:,.0f} taps/s; target"
        f" <= {limit:g} s); server alone on the same batches {server_only:.2f} s, ratio {ratio:.2f}"
        f" (target <= {TARGET_RATIO})",
        met=elapsed <= limit and ratio <= TARGET_RATIO,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 taps")
    parser.add_argument("--taps", type=int, help="default 100,000 (20,000 with --quick)")
    parser.add_argument("--rounds", type=int, help="default 2 (1 with --quick)")
    args = parser.parse_args()
    run(args.quick, total=args.taps, rounds=args.rounds)


if __name__ == "__main__":
    main()
