"""Web taps: taps/s of phone answers through ``POST /api/v1/touchpoints/{slug}/taps`` against kiosk batches through
``POST /api/v1/taps``, in the same run, on the same server (SQLite).

A phone sends one answer per post (a customer, a tap), from its own device id; the same-sized kiosk post (one tap)
is the fair baseline, and a kiosk's 100-tap batches show what batching buys. Each figure is the best of
``--rounds`` rounds (a shared machine); the web path also does the server's repeat check per phone.

    python -m benchmarks.web_ingest [--posts 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from benchmarks._common import report, seed, server
from server.db import make_engine
from server.touchpoints import add_touchpoint

WEB = {"X-Smilepost-Client": "web", "Content-Type": "application/json"}


def _tap(seq: int, device: str, at: datetime) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "seq": seq, "question_id": "main", "scale": 5, "score": 1 + seq % 5,
            "tapped_at": at.isoformat().replace("+00:00", "Z"), "mono_ns": int(at.timestamp() * 1e3) * 1_000_000,
            "boot_id": device, "followup": None, "comment": None, "flags": []}  # fmt: skip


def _batch(taps: list[dict[str, object]], device: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {"sent_at": now.isoformat().replace("+00:00", "Z"), "boot_id": device,
            "mono_ns": int(now.timestamp() * 1e3) * 1_000_000, "taps": taps}  # fmt: skip


def _timed(post: Callable[[int], None], count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        post(i)
    return time.perf_counter() - started


def _round(posts: int) -> dict[str, float]:
    """One round on a fresh database and server: taps/s of each kind of post."""
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        location_id, tokens = seed(database_url)
        engine = make_engine(database_url)
        with engine.begin() as conn:
            slug = add_touchpoint(conn, location_id=location_id).slug
        engine.dispose()
        # No per-address limit: every phone of the benchmark posts from 127.0.0.1.
        log = Path(folder) / "server.log"
        with server(database_url, log, SMILEPOST_WEB_RATE_LIMIT="0") as url, httpx.Client(base_url=url) as client:
            origin = {**WEB, "Origin": url}
            kiosk = {"Authorization": f"Bearer {tokens[0]}", "Content-Type": "application/json"}
            at = datetime.now(UTC) - timedelta(hours=1)

            def web(i: int) -> None:
                device = f"phone-{i}"  # every answer from another phone: none is a repeat
                body = _batch([_tap(1, device, at)], device)
                assert client.post(f"/api/v1/touchpoints/{slug}/taps", json=body, headers=origin).is_success

            def kiosk_one(i: int) -> None:
                body = _batch([_tap(i + 1, "bench", at)], "bench")
                assert client.post("/api/v1/taps", json=body, headers=kiosk).is_success

            def kiosk_hundred(i: int) -> None:
                taps = [_tap(posts + 100 * i + j + 1, "bench", at) for j in range(100)]
                assert client.post("/api/v1/taps", json=_batch(taps, "bench"), headers=kiosk).is_success

            client.get("/healthz")
            return {
                "web": posts / _timed(web, posts),
                "kiosk1": posts / _timed(kiosk_one, posts),
                "kiosk100": 100 * (posts // 10) / _timed(kiosk_hundred, posts // 10),
            }


def run(posts: int = 2000, rounds: int = 3) -> None:
    """Print web taps/s, kiosk taps/s at one tap per post and at 100 per post, and the ratios."""
    best = {"web": 0.0, "kiosk1": 0.0, "kiosk100": 0.0}
    for _ in range(rounds):
        best = {kind: max(best[kind], rate) for kind, rate in _round(posts).items()}
    report(
        f"web ingest: {best['web']:,.0f} taps/s (one answer per post, each from its own phone) vs kiosk "
        f"{best['kiosk1']:,.0f} taps/s at one tap per post ({best['web'] / best['kiosk1']:.0%}) and "
        f"{best['kiosk100']:,.0f} taps/s in 100-tap batches ({best['web'] / best['kiosk100']:.1%}); SQLite, best of "
        f"{rounds}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run(args.posts, args.rounds)


if __name__ == "__main__":
    main()
