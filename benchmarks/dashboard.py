"""Dashboard: p50/p95 page load of the overview (``/?range=7d|30d|365d``) and of a location page
(``/locations/{id}?range=365d``) signed in as an admin, with 200 locations and a year of taps; and the overview
of 2,000 locations over 365 days.

The 200-location data is the demo dataset (:func:`server.demo.seed.seed`: 200 sites in eight time zones, 365 local
days, ``--taps-per-day`` taps per location and day on average, stored through ingest so the rollups are the
production ones) in a SQLite file; the seed's own speed is reported too. The 2,000-location data is filled straight
into the tables (:func:`fill_bulk`: taps rows stored, and every rollup counted from them, by ingest's own writers),
so that run stays short. The server is a real
``smilepost server`` on loopback; the client signs in through the login form like a browser (CSRF field,
session cookie). Baseline in the same run: ``GET /healthz`` (one database round trip) on the same server.

Targets (p95): overview 7d and 30d <= 100 ms, 365d <= 150 ms; location page 365d <= 80 ms; 2,000 locations
365d <= 500 ms. ``quick``: both filled in bulk with about one tap a location and day, 2,000 locations with 60 days
of history, fewer requests (a first look; the full run is what the targets are judged on).

    python -m benchmarks.dashboard [--locations 200] [--days 365] [--taps-per-day 20] [--requests 20] [--quick]
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import insert

from benchmarks._common import percentile, report, server
from server import ingest
from server.auth import accounts
from server.db import make_engine, tables, upgrade
from server.demo.seed import SeedResult, seed

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def fill(url: str, locations: int, days: int, taps_per_day: int) -> SeedResult:
    """Seed the database at ``url`` and report how fast the seed stored its taps."""
    engine = make_engine(url)
    upgrade(engine)
    done, total, started = 0, locations * days, time.perf_counter()

    def progress(steps: int) -> None:
        nonlocal done
        done += steps
        if done % (total // 10 or 1) == 0:
            print(f"  seeding: {100 * done // total}% ({time.perf_counter() - started:.0f} s)", flush=True)

    result = seed(engine, locations=locations, days=days, taps_per_day=taps_per_day, progress=progress)
    elapsed = time.perf_counter() - started
    engine.dispose()
    report(
        f"dashboard seed: {result.taps:,} taps ({locations} locations x {days} days, {result.kiosks} kiosks)"
        f" stored through ingest in {elapsed:.0f} s, {result.taps / elapsed:,.0f} taps/s"
    )
    return result


def sign_in(client: httpx.Client, email: str, password: str) -> None:
    """Sign in through the login form as a browser does. Raises AssertionError unless a session starts."""
    form = client.get("/login")
    form.raise_for_status()
    match = CSRF_FIELD.search(form.text)
    assert match, "no csrf_token field on /login"
    answer = client.post("/login", data={"email": email, "password": password, "csrf_token": match.group(1)})
    assert answer.status_code == 303 and "smilepost_session" in client.cookies, answer.text[:500]


def latencies(client: httpx.Client, path: str, requests: int) -> tuple[list[float], int]:
    """Milliseconds of ``requests`` GETs of ``path`` after three warm-up ones, and the page's size in bytes."""
    for _ in range(3):
        client.get(path).raise_for_status()
    times, size = [], 0
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        size = len(response.content)
    return times, size


ADMIN_EMAIL, ADMIN_PASSWORD = "bench-admin@smilepost.example", "bench-password-not-secret"
ZONES = ("Europe/Oslo", "America/New_York", "Asia/Kolkata", "Australia/Sydney")


def fill_bulk(url: str, locations: int, days: int, taps_per_day: int, rng_seed: int = 15) -> tuple[int, int]:
    """Fill an empty database with ``locations`` locations (one kiosk each, four time zones) and ``days`` local days
    of taps ending today, about ``taps_per_day`` a day each between 06:00 and 22:00 local time, with an admin
    (ADMIN_EMAIL): taps rows stored, and every rollup counted from them, by ingest's own writers (no HTTP, no
    batches, one transaction). Returns (taps, busiest location id); reports the fill's speed."""
    started, rng = time.perf_counter(), random.Random(rng_seed)
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        accounts.add_user(conn, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, role="admin")
        ids = [int(row[0]) for row in conn.execute(
            insert(tables.locations).returning(tables.locations.c.id),
            [{"name": f"Site {i:04d}", "timezone": ZONES[i % len(ZONES)], "scale": 5, "created_at": now}
             for i in range(locations)],
        )]  # fmt: skip
        conn.execute(insert(tables.kiosks), [{"id": f"bulk{i:08d}", "location_id": location_id, "name": "lane 1",
                                              "token_hash": f"unused-{i}", "created_at": now}
                                             for i, location_id in enumerate(ids)])  # fmt: skip
        total, busiest = 0, (0, ids[0])
        for i, location_id in enumerate(ids):
            rows = _bulk_taps(
                rng, f"bulk{i:08d}", location_id, ZoneInfo(ZONES[i % len(ZONES)]), days, taps_per_day, now
            )
            # Stored and counted by ingest's own writers, as a batch of new taps would be.
            stored = ingest._insert_new(conn.dialect, rows)(conn)
            assert len(stored) == len(rows), "the bulk fill needs an empty database"
            ingest._add_to_rollups(conn, ingest.rollup_writes(conn.dialect.name, rows))
            total, busiest = total + len(rows), max(busiest, (len(rows), location_id))
    engine.dispose()
    elapsed = time.perf_counter() - started
    report(f"dashboard bulk fill: {total:,} taps ({locations} locations x {days} days) in {elapsed:.0f} s")
    return total, busiest[1]


def _bulk_taps(
    rng: random.Random, kiosk_id: str, location_id: int, zone: ZoneInfo, days: int, per_day: int, now: datetime
) -> list[dict[str, Any]]:
    """One location's taps rows: scores leaning to the location's own mood, received a minute after each tap."""
    today, mood, rows = now.astimezone(zone).date(), rng.uniform(2.5, 4.5), []
    for age in range(days):
        day = today - timedelta(days=age)
        for _ in range(rng.randint(0, 2 * per_day)):
            local = datetime(day.year, day.month, day.day, rng.randint(6, 21), rng.randint(0, 59), tzinfo=zone)
            at = local.astimezone(UTC)
            rows.append({
                "id": uuid.UUID(int=rng.getrandbits(128)), "kiosk_id": kiosk_id, "location_id": location_id,
                "seq": len(rows) + 1, "question_id": "main", "scale": 5,
                "score": min(5, max(1, round(rng.gauss(mood, 1.1)))), "tapped_at": at, "effective_at": at,
                "local_date": day, "local_hour": local.hour, "mono_ns": len(rows), "boot_id": "bulk",
                "followup": None, "comment": None, "flags": "", "received_at": at + timedelta(minutes=1),
                "channel": "kiosk", "touchpoint_id": None, "first_tap_id": None, "comment_hidden": False,
            })  # fmt: skip
    return rows


def measure(url: str, email: str, password: str, pages: list[tuple[str, float]], label: str, requests: int) -> None:
    """Sign in and report p50/p95 of each (page, target p95 ms) against /healthz on the same server."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(url, Path(tmp) / "server.log") as base,
        httpx.Client(base_url=base, timeout=120) as client,
    ):
        sign_in(client, email, password)
        health, _ = latencies(client, "/healthz", requests)
        baseline = percentile(health, 95)
        for page, target in pages:
            times, size = latencies(client, page, requests)
            p50, p95 = percentile(times, 50), percentile(times, 95)
            report(
                f"dashboard {page} ({label}, {size // 1024} KiB): p50 {p50:.0f} ms, p95 {p95:.0f} ms"
                f" (target <= {target:.0f} ms); /healthz p95 {baseline:.1f} ms, ratio {p95 / baseline:.0f}",
                met=p95 <= target,
            )


def run(
    locations: int = 200, days: int = 365, taps_per_day: int = 20, requests: int = 20, *, quick: bool = False
) -> None:
    """The 200-location pages (the demo data, or a bulk fill when ``quick``), then 2,000 locations."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'dashboard.db'}"
        if quick:
            taps_per_day, requests = 1, 10
            taps, busiest = fill_bulk(url, locations, days, taps_per_day)
            email, password = ADMIN_EMAIL, ADMIN_PASSWORD
        else:
            result = fill(url, locations, days, taps_per_day)
            admin = next(user for user in result.users if user.role == "admin")
            taps, busiest = result.taps, max(result.locations, key=lambda location: location.taps).id
            email, password = admin.email, admin.password
        pages = [(f"/?range={r}", target) for r, target in (("7d", 100.0), ("30d", 100.0), ("365d", 150.0))]
        pages.append((f"/locations/{busiest}?range=365d", 80.0))
        measure(url, email, password, pages, f"{locations} locations, {days} days, {taps:,} taps", requests)
    with tempfile.TemporaryDirectory() as tmp:
        url, many = f"sqlite:///{Path(tmp) / 'chain.db'}", 10 * locations
        chain_days = 60 if quick else days  # quick: the same pages, less history to fill
        taps, _ = fill_bulk(url, many, chain_days, 1 if quick else 4)
        label = f"{many:,} locations, {chain_days} days, {taps:,} taps"
        measure(url, ADMIN_EMAIL, ADMIN_PASSWORD, [("/?range=365d", 500.0)], label, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--locations", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--taps-per-day", type=int, default=20)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="bulk-filled data, fewer requests: a first look")
    args = parser.parse_args()
    run(args.locations, args.days, args.taps_per_day, args.requests, quick=args.quick)


if __name__ == "__main__":
    main()
