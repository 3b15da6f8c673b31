"""Summary: p50/p95 latency of a one-year location summary (``GET /api/v1/locations/{id}/summary``) at 100k
and at 10M taps; targets p95 <= 25 ms at 10M and latency(10M) / latency(100k) <= 1.5.

Data goes straight into the tables with SQL (taps with sequential ids, and their hourly and daily rollups
as ingest leaves them), on SQLite. Baseline in the same run: ``GET /healthz`` (one database round trip) on the
same server.

    python -m benchmarks.summary [--sizes 100000 10000000] [--requests 300]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

from benchmarks._common import percentile, report, seed, server
from server.auth import keys
from server.db import make_engine

YEAR_START = date(2025, 1, 1)
DAYS = 365
P95_TARGET_MS = 25.0
GROWTH_TARGET = 1.5


def fill(path: str, location_id: int, taps: int) -> None:
    """``taps`` taps spread evenly over a year of local hours and five scores, and the matching hourly and
    daily rollups (the summary reads the daily ones)."""
    keys = DAYS * 24 * 5
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN")
    # Tap n falls on key n % keys: day, hour, score; ids are sequential so the B-trees only append.
    conn.execute(
        """
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :taps)
        INSERT INTO taps (id, kiosk_id, location_id, seq, question_id, scale, score, tapped_at, effective_at,
                          local_date, local_hour, mono_ns, boot_id, followup, comment, flags, received_at)
        SELECT printf('%032x', i), 'bench00000000', :loc, i + 1, 'main', 5, 1 + (i % :keys) % 5,
               datetime(:start, '+' || ((i % :keys) / 120) || ' days', '+' || ((i % :keys) / 5 % 24) || ' hours'),
               datetime(:start, '+' || ((i % :keys) / 120) || ' days', '+' || ((i % :keys) / 5 % 24) || ' hours'),
               date(:start, '+' || ((i % :keys) / 120) || ' days'), (i % :keys) / 5 % 24, i, 'bench', NULL, NULL, '',
               datetime(:start, '+' || ((i % :keys) / 120) || ' days')
        FROM n
        """,
        {"taps": taps, "loc": location_id, "keys": keys, "start": YEAR_START.isoformat()},
    )
    conn.execute(
        """
        INSERT INTO rollups (location_id, question_id, local_date, local_hour, scale, score, count)
        SELECT location_id, question_id, local_date, local_hour, scale, score, count(*)
        FROM taps WHERE location_id = :loc GROUP BY 1, 2, 3, 4, 5, 6
        """,
        {"loc": location_id},
    )
    conn.execute(
        """
        INSERT INTO daily_rollups (location_id, question_id, local_date, kiosk_id, scale, score, followup, count)
        SELECT location_id, question_id, local_date, kiosk_id, scale, score, coalesce(followup, ''), count(*)
        FROM taps WHERE location_id = :loc GROUP BY 1, 2, 3, 4, 5, 6, 7
        """,
        {"loc": location_id},
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def latencies(client: httpx.Client, path: str, requests: int) -> list[float]:
    for _ in range(10):  # warm up
        client.get(path).raise_for_status()
    out = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        out.append((time.perf_counter() - start) * 1000)
    return out


def measure(taps: int, requests: int, tmp: Path) -> tuple[float, float, float]:
    """(p50, p95, healthz p95) in ms for a one-year summary at ``taps`` taps."""
    path = tmp / f"summary-{taps}.db"
    url = f"sqlite:///{path}"
    location_id, _ = seed(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        key = keys.create_api_key(conn, name="bench")
    engine.dispose()
    started = time.perf_counter()
    fill(str(path), location_id, taps)
    print(f"  filled {taps:,} taps and their rollups in {time.perf_counter() - started:.1f} s", flush=True)
    end = YEAR_START + timedelta(days=DAYS)
    summary = f"/api/v1/locations/{location_id}/summary?start={YEAR_START}&end={end}"
    with (
        server(url, tmp / f"server-{taps}.log") as base,
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client,
    ):
        assert client.get(summary).json()["responses"] == taps
        times = latencies(client, summary, requests)
        health = latencies(client, "/healthz", requests)
    return percentile(times, 50), percentile(times, 95), percentile(health, 95)


def run(sizes: list[int], requests: int = 300) -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for taps in sizes:
            p50, p95, health = measure(taps, requests, Path(tmp))
            results[taps] = (p50, p95)
            report(
                f"summary at {taps:,} taps (one year, one location): p50 {p50:.1f} ms, p95 {p95:.1f} ms;"
                f" /healthz p95 {health:.1f} ms, ratio {p95 / health:.1f}",
                met=p95 <= P95_TARGET_MS if taps == max(sizes) else None,
            )
    small, large = min(sizes), max(sizes)
    growth = results[large][1] / results[small][1]
    report(
        f"summary growth: p95({large:,}) / p95({small:,}) = {growth:.2f} (target <= {GROWTH_TARGET})",
        met=growth <= GROWTH_TARGET,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 10_000_000])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    run(args.sizes, args.requests)


if __name__ == "__main__":
    main()
