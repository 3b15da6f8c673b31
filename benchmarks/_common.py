"""Shared by the benchmarks: a server process on loopback, bulk seeding, percentiles, one report line each."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from server.auth.tokens import hash_secret
from server.db import kiosks, make_engine, upgrade
from server.locations import add_location
from tests.support.live import launch_server
from tests.support.pg_cluster import fresh_database, running_cluster

RESULTS: list[str] = []


@contextmanager
def server(database_url: str, log_path: Path, *, workers: int = 1, **env: str) -> Iterator[str]:
    """`smilepost server [--workers N]` on a free loopback port (the way users run it), stopped afterwards;
    yields its URL."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMILEPOST_")}
    # The per-kiosk rate limit protects a real fleet; a benchmark that drives one token flat out would
    # measure the limiter, so it is off here.
    environ.update(
        SMILEPOST_DATABASE_URL=database_url, SMILEPOST_LOG_LEVEL="warning", SMILEPOST_KIOSK_RATE_LIMIT="0", **env
    )
    log_path.unlink(missing_ok=True)
    server = launch_server(environ, log_path, "--workers", str(workers), timeout=60)
    try:
        yield server.url
    finally:
        server.stop()


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A private, durable (fsync on) PostgreSQL cluster on loopback; yields its admin URL."""
    with running_cluster(durable=True) as admin_url:
        yield admin_url


def postgres_database(admin_url: str) -> contextlib.AbstractContextManager[str]:
    """A fresh, empty database on that cluster for the block; yields its URL."""
    return fresh_database(admin_url, prefix="smilepost_bench")


def seed(database_url: str, *, kiosk_count: int = 1, timezone: str = "Europe/Oslo") -> tuple[int, list[str]]:
    """Migrate, create one location and ``kiosk_count`` kiosks (bulk); returns (location id, kiosk tokens)."""
    engine = make_engine(database_url)
    upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        location_id = add_location(conn, name="Bench Gate", timezone=timezone, scale=5)
        tokens = [f"spk_{secrets.token_urlsafe(32)}" for _ in range(kiosk_count)]
        conn.execute(
            kiosks.insert(),
            [{"id": f"bench{i:08d}", "location_id": location_id, "name": f"bench {i}",
              "token_hash": hash_secret(token), "created_at": now} for i, token in enumerate(tokens)],
        )  # fmt: skip
    engine.dispose()
    return location_id, tokens


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values; nan for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def report(line: str, *, met: bool | None = None) -> None:
    """Print one result line (and keep it for the summary at the end)."""
    verdict = "" if met is None else ("  [target met]" if met else "  [target MISSED]")
    RESULTS.append(line + verdict)
    print(line + verdict, flush=True)
