"""Dashboard: p50/p95 page load of the overview (``/?range=7d|30d|365d``) and of a location page
(``/locations/{id}?range=365d``) signed in as an admin, with 200 locations and a year of taps.

The data is the demo dataset (:func:`server.demo.seed.seed`: 200 sites in eight time zones, 365 local days,
``--taps-per-day`` taps per location and day on average, stored through ingest so the rollups are the
production ones) in a SQLite file; the seed's own speed is reported too. The server is a real
``smilepost server`` on loopback; the client signs in through the login form like a browser (CSRF field,
session cookie). Baseline in the same run: ``GET /healthz`` (one database round trip) on the same server.

    python -m benchmarks.dashboard [--locations 200] [--days 365] [--taps-per-day 20] [--requests 20]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks._common import percentile, report, server
from server.db import make_engine, upgrade
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


def run(locations: int = 200, days: int = 365, taps_per_day: int = 20, requests: int = 20) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'dashboard.db'}"
        result = fill(url, locations, days, taps_per_day)
        admin = next(user for user in result.users if user.role == "admin")
        busiest = max(result.locations, key=lambda location: location.taps)
        pages = ["/?range=7d", "/?range=30d", "/?range=365d", f"/locations/{busiest.id}?range=365d"]
        with server(url, Path(tmp) / "server.log") as base, httpx.Client(base_url=base, timeout=120) as client:
            sign_in(client, admin.email, admin.password)
            health, _ = latencies(client, "/healthz", requests)
            baseline = percentile(health, 95)
            for page in pages:
                times, size = latencies(client, page, requests)
                p50, p95 = percentile(times, 50), percentile(times, 95)
                report(
                    f"dashboard {page} ({locations} locations, {days} days, {result.taps:,} taps, {size // 1024} KiB):"
                    f" p50 {p50:.0f} ms, p95 {p95:.0f} ms; /healthz p95 {baseline:.1f} ms, ratio {p95 / baseline:.0f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--locations", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--taps-per-day", type=int, default=20)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    run(args.locations, args.days, args.taps_per_day, args.requests)


if __name__ == "__main__":
    main()
