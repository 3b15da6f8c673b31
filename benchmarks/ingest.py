"""Ingest: taps/s through ``POST /api/v1/taps`` (1000-tap batches, durable, with rollups) vs raw inserts.

Baselines, same rows, same schema, same durability, one transaction per 1000 rows:
SQLite — ``sqlite3`` executemany (WAL, synchronous=FULL); PostgreSQL — psycopg executemany and COPY
(fsync and synchronous_commit on). Targets: the API reaches >= 50 % of raw executemany on SQLite, >= 60 % of
COPY on PostgreSQL.

The machine is shared (two cores here), so each figure is the best of ``--rounds`` rounds that alternate
API and raw runs, each on a fresh database: a burst of someone else's load hits one round, not one side.

    python -m benchmarks.ingest [--quick] [--taps 100000] [--rounds 3] [--postgres/--no-postgres]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
from sqlalchemy.engine import make_url

from benchmarks._common import postgres_cluster, postgres_database, report, seed, server
from server.auth.kiosk_tokens import KioskIdentity
from server.ingest import tap_row
from shared.protocol import TapBatch

BATCH = 1000
STREAMS = 2  # concurrent connections: one request's parsing overlaps another's commit
TARGET = 0.5  # SQLite: API / raw executemany
PG_TARGET = 0.6  # PostgreSQL: API / COPY (#15)
COLUMNS = (
    "id", "kiosk_id", "location_id", "seq", "question_id", "scale", "score", "tapped_at", "effective_at",
    "local_date", "local_hour", "mono_ns", "boot_id", "followup", "comment", "flags", "received_at",
)  # fmt: skip


def make_bodies(total: int) -> list[bytes]:
    """JSON bodies of 1000-tap batches from one kiosk, one tap every 10 s (a busy kiosk's backlog)."""
    sent_at = datetime.now(UTC)
    first = sent_at - timedelta(seconds=10 * total)
    bodies = []
    for start in range(0, total, BATCH):
        taps = [
            {"id": str(uuid.uuid4()), "seq": seq + 1, "question_id": "main", "scale": 5, "score": 1 + seq % 5,
             "tapped_at": (first + timedelta(seconds=10 * seq)).isoformat().replace("+00:00", "Z"),
             "mono_ns": seq * 1_000_000, "boot_id": "bench", "followup": None, "comment": None, "flags": []}
            for seq in range(start, min(total, start + BATCH))
        ]  # fmt: skip
        body = {"sent_at": sent_at.isoformat().replace("+00:00", "Z"), "boot_id": "bench",
                "mono_ns": total * 1_000_000, "taps": taps}  # fmt: skip
        bodies.append(TapBatch.model_validate(body).model_dump_json().encode())
    return bodies


def rows_of(bodies: list[bytes], location_id: int) -> list[list[dict[str, Any]]]:
    """The taps rows the server stores for these bodies (computed by the server's own code)."""
    kiosk = KioskIdentity("bench00000000", location_id, ZoneInfo("Europe/Oslo"))
    now = datetime.now(UTC)
    out = []
    for body in bodies:
        batch = TapBatch.model_validate_json(body)
        out.append([tap_row(tap, kiosk, batch, now, 120.0) for tap in batch.taps])
    return out


def via_api(url: str, token: str, bodies: list[bytes], streams: int = STREAMS) -> float:
    """taps/s posting the bodies over ``streams`` concurrent connections (one kiosk's backlog, split)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    clients = [httpx.Client(base_url=url, headers=headers, timeout=120) for _ in range(streams)]
    for client in clients:
        client.get("/healthz")

    def send(stream: int) -> int:
        accepted = 0
        for body in bodies[stream::streams]:
            response = clients[stream].post("/api/v1/taps", content=body)
            response.raise_for_status()
            accepted += response.json()["accepted"]
        return accepted

    start = time.perf_counter()
    with ThreadPoolExecutor(streams) as pool:
        count = sum(pool.map(send, range(streams)))
    elapsed = time.perf_counter() - start
    for client in clients:
        client.close()
    assert count == sum(len(TapBatch.model_validate_json(body).taps) for body in bodies), count
    return count / elapsed


def _sqlite_params(row: dict[str, Any]) -> tuple[Any, ...]:
    def value(name: str) -> Any:
        v = row[name]
        if isinstance(v, uuid.UUID):
            return v.hex
        if isinstance(v, datetime):
            return v.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        return v.isoformat() if hasattr(v, "isoformat") else v

    return tuple(value(name) for name in COLUMNS)


def raw_sqlite(path: str, batches: list[list[dict[str, Any]]]) -> float:
    """taps/s of sqlite3 executemany of the same rows, one durable transaction per batch."""
    params = [[_sqlite_params(row) for row in rows] for rows in batches]
    sql = f"INSERT INTO taps ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    start = time.perf_counter()
    for rows in params:
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return sum(map(len, params)) / elapsed


def _pg_params(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name] for name in COLUMNS)


def raw_postgres(url: str, batches: list[list[dict[str, Any]]], copy: bool) -> float:
    """taps/s of psycopg executemany (or COPY) of the same rows, one transaction per batch."""
    params = [[_pg_params(row) for row in rows] for rows in batches]
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    sql = f"INSERT INTO taps ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    with psycopg.connect(libpq) as conn:
        start = time.perf_counter()
        for rows in params:
            with conn.transaction(), conn.cursor() as cur:
                if copy:
                    with cur.copy(f"COPY taps ({', '.join(COLUMNS)}) FROM STDIN") as out:
                        for row in rows:
                            out.write_row(row)
                else:
                    cur.executemany(sql, rows)
        elapsed = time.perf_counter() - start
    return sum(map(len, params)) / elapsed


def _measure(database_url: str, log: Path, bodies: list[bytes]) -> tuple[float, list[list[dict[str, Any]]]]:
    location_id, (token,) = seed(database_url)
    with server(database_url, log) as url:
        api = via_api(url, token, bodies)
    return api, rows_of(bodies, location_id)


def _sqlite_round(tmp: str, round_: int, bodies: list[bytes]) -> tuple[float, float]:
    """(API taps/s, raw executemany taps/s), each on a fresh SQLite file."""
    api, batches = _measure(f"sqlite:///{tmp}/api{round_}.db", Path(tmp) / f"server{round_}.log", bodies)
    seed(f"sqlite:///{tmp}/raw{round_}.db")
    return api, raw_sqlite(f"{tmp}/raw{round_}.db", batches)


def _postgres_round(cluster: str, tmp: str, round_: int, bodies: list[bytes]) -> tuple[float, float, float]:
    """(API, raw executemany, raw COPY) taps/s, each on a fresh database of the cluster."""
    with postgres_database(cluster) as url:
        api, batches = _measure(url, Path(tmp) / f"server{round_}.log", bodies)
    raw = []
    for copy in (False, True):
        with postgres_database(cluster) as raw_url:
            seed(raw_url)
            raw.append(raw_postgres(raw_url, batches, copy=copy))
    return api, raw[0], raw[1]


def run(quick: bool = False, *, total: int | None = None, postgres: bool = True, rounds: int | None = None) -> None:
    """Both figures; ``quick``: 20,000 taps, one round (a first look, about 25 s with PostgreSQL)."""
    total = total or (20_000 if quick else 100_000)
    rounds = rounds or (1 if quick else 3)
    bodies = make_bodies(total)
    best = f"best of {rounds}"
    with tempfile.TemporaryDirectory() as tmp:
        api, raw = map(max, zip(*(_sqlite_round(tmp, r, bodies) for r in range(rounds)), strict=True))
    report(
        f"ingest sqlite ({best}): API {api:,.0f} taps/s vs raw sqlite3 executemany {raw:,.0f} taps/s"
        f" = {api / raw:.0%} (target >= {TARGET:.0%})",
        met=api / raw >= TARGET,
    )
    if not postgres:
        return
    with tempfile.TemporaryDirectory() as tmp, postgres_cluster() as cluster:
        runs = [_postgres_round(cluster, tmp, r, bodies) for r in range(rounds)]
    api, many, copy = map(max, zip(*runs, strict=True))
    report(
        f"ingest postgresql ({best}): API {api:,.0f} taps/s vs raw psycopg executemany {many:,.0f} taps/s"
        f" = {api / many:.0%}, vs COPY {copy:,.0f} taps/s = {api / copy:.0%} (target >= {PG_TARGET:.0%} of COPY)",
        met=api / copy >= PG_TARGET,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 taps, one round")
    parser.add_argument("--taps", type=int, help="default 100,000 (20,000 with --quick)")
    parser.add_argument("--rounds", type=int, help="default 3 (1 with --quick)")
    parser.add_argument("--postgres", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    run(args.quick, total=args.taps, postgres=args.postgres, rounds=args.rounds)


if __name__ == "__main__":
    main()
