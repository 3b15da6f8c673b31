"""Ingest with alert rules: taps/s through ``POST /api/v1/taps`` while the server evaluates 1,000 active rules over
200 locations, against the same server and data without rules, measured in the same run.

The server runs as users run it (``smilepost server`` with its background worker and scheduler), evaluating every
``--evaluate-seconds`` (default 15 s, the server's default; ``--taps`` is large enough for several evaluations to
fall inside the measured ingest). It also times one evaluation of the 1,000 rules on the ingested data, and says
what share of one core that is at the interval; run with ``--evaluate-seconds 1`` to see the cost magnified. Each round
seeds a fresh SQLite database with 200 locations, a kiosk each and, for the "rules" side, 1,000 rules (5 per location:
negative, index, responses, silence, offline with 15m-2h windows), then posts taps of the last hour to every location
from the kiosks' tokens. The figure is the best of ``--rounds`` rounds that alternate the two sides. Target: the rate
with rules is >= 90 % of the rate without.

    python -m benchmarks.alert_rules [--taps 400000] [--rounds 1] [--evaluate-seconds 15]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from benchmarks._common import report, server
from server.alerts.evaluate import evaluate
from server.alerts.rules import add_rule
from server.auth.tokens import hash_secret
from server.db import kiosks, make_engine, upgrade
from server.locations import add_location

LOCATIONS = 200
RULES_PER_LOCATION = 5
BATCH = 500
TARGET = 0.9
RULES = (
    {"metric": "negative", "above": 40, "window": "15m"},
    {"metric": "index", "below": 50, "window": "30m"},
    {"metric": "responses", "below": 1, "window": "1h"},
    {"metric": "silence", "window": "2h"},
    {"metric": "offline", "window": "1h"},
)


def seed(database_url: str, *, with_rules: bool) -> list[str]:
    """200 locations with a kiosk each (and 5 rules each); the kiosks' tokens."""
    engine = make_engine(database_url)
    upgrade(engine)
    tokens = []
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for i in range(LOCATIONS):
            location_id = add_location(conn, name=f"Bench {i}", timezone="Europe/Oslo", scale=5)
            token = f"spk_{secrets.token_urlsafe(32)}"
            conn.execute(kiosks.insert().values(id=f"bench{i:08d}", location_id=location_id, name=f"bench {i}",
                                                token_hash=hash_secret(token), created_at=now))  # fmt: skip
            tokens.append(token)
            for rule in RULES if with_rules else ():
                add_rule(conn, location_id=location_id, created_by="bench", **rule)  # type: ignore[arg-type]
    engine.dispose()
    return tokens


def bodies_for(tokens: list[str], total: int) -> list[tuple[str, bytes]]:
    """(token, JSON body) batches spreading ``total`` taps of the last hour over every location's kiosk."""
    import json

    now = datetime.now(UTC)
    per_kiosk = max(1, total // len(tokens))
    out = []
    for token in tokens:
        for start in range(0, per_kiosk, BATCH):
            taps = [
                {"id": str(uuid.uuid4()), "seq": seq + 1, "scale": 5, "score": 1 + seq % 5,
                 "tapped_at": (now - timedelta(seconds=3600 * (per_kiosk - seq) / per_kiosk)).isoformat(),
                 "mono_ns": seq, "boot_id": "bench"}
                for seq in range(start, min(per_kiosk, start + BATCH))
            ]  # fmt: skip
            body = {"sent_at": now.isoformat(), "boot_id": "bench", "mono_ns": per_kiosk + 1, "taps": taps}
            out.append((token, json.dumps(body).encode()))
    return out


def rate(url: str, batches: list[tuple[str, bytes]], streams: int = 2) -> float:
    """taps/s posting the batches over ``streams`` connections."""
    clients = [httpx.Client(base_url=url, timeout=120) for _ in range(streams)]
    taps = sum(body.count(b'"seq"') for _, body in batches)

    def send(stream: int) -> None:
        for token, body in batches[stream::streams]:
            answer = clients[stream].post("/api/v1/taps", content=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
            answer.raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(streams) as pool:
        list(pool.map(send, range(streams)))
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    return taps / elapsed


def one_round(with_rules: bool, taps: int, evaluate_seconds: float) -> tuple[float, float]:
    """taps/s through the API, and (with rules) the seconds one evaluation of the rules takes on the data."""
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        tokens = seed(database_url, with_rules=with_rules)
        batches = bodies_for(tokens, taps)
        log = Path(folder) / "server.log"
        with server(database_url, log, SMILEPOST_EVALUATE_SECONDS=str(evaluate_seconds),
                    SMILEPOST_SECRET_KEY="b" * 64) as url:  # fmt: skip
            time.sleep(2.0)  # the scheduler has made its first round before the clock starts
            taps_per_second = rate(url, batches)
        return taps_per_second, evaluation_seconds(database_url) if with_rules else 0.0


def evaluation_seconds(database_url: str) -> float:
    """The best of three timed evaluations of every rule, on the ingested data."""
    engine = make_engine(database_url)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        evaluate(engine)
        best = min(best, time.perf_counter() - started)
    engine.dispose()
    return best


def run(taps: int = 400_000, rounds: int = 1, evaluate_seconds: float = 15.0) -> None:
    best = {False: 0.0, True: 0.0}
    evaluation = float("inf")
    for _ in range(rounds):
        for with_rules in (False, True):
            taps_per_second, seconds = one_round(with_rules, taps, evaluate_seconds)
            best[with_rules] = max(best[with_rules], taps_per_second)
            evaluation = min(evaluation, seconds) if with_rules else evaluation
    ratio = best[True] / best[False]
    report(f"alert rules: ingest without rules          {best[False]:9,.0f} taps/s (best of {rounds})")
    report(f"alert rules: with 1,000 rules, eval {evaluate_seconds:g} s {best[True]:9,.0f} taps/s")
    report(f"alert rules: ratio                          {ratio:9.0%} (target >= {TARGET:.0%})", met=ratio >= TARGET)
    report(
        f"alert rules: one evaluation of 1,000 rules  {evaluation:9.2f} s = {evaluation / evaluate_seconds:.0%} of "
        f"one core every {evaluate_seconds:g} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taps", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--evaluate-seconds", type=float, default=15.0)
    args = parser.parse_args()
    run(args.taps, args.rounds, args.evaluate_seconds)


if __name__ == "__main__":
    main()
