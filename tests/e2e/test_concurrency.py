"""Several real server processes on one database, the same batches delivered to all of them at once.

Each batch goes out three times, the copies spread over the instances and sent at the same moment;
batches also overlap each other. Afterwards every tap is stored exactly once, the rollups equal
the raw counts, and the answers add up: sum(accepted) == distinct taps, accepted + duplicates ==
taps delivered. Runs on PostgreSQL (the deployment this is for) and on SQLite (two processes, one file).
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server.db import kiosks, rollups, taps
from tests.support.live import LiveServer, launch_server

INSTANCES = 3
COPIES = 3
BATCHES = 24
BATCH_TAPS = 60
OVERLAP = 15  # each batch repeats the last taps of the one before (a kiosk re-batching after a failure)


@pytest.fixture
def instances(database_url: str, engine: Any, tmp_path: Path) -> Iterator[list[str]]:
    """INSTANCES `smilepost server` processes on the test database (already at head: no auto-migrate)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMILEPOST_")}
    env.update(SMILEPOST_DATABASE_URL=database_url, SMILEPOST_AUTO_MIGRATE="false", SMILEPOST_LOG_LEVEL="warning")
    started: list[LiveServer] = []
    try:
        for i in range(INSTANCES):
            started.append(launch_server(env, tmp_path / f"server-{i}.log"))
        yield [server.url for server in started]
    finally:
        for server in started:
            server.stop(timeout=10)


def _taps(tap: Any) -> list[dict[str, Any]]:
    rng = random.Random(6)
    days = ["2026-03-28", "2026-03-29", "2026-11-22"]
    count = BATCHES * (BATCH_TAPS - OVERLAP) + OVERLAP
    return [
        tap(id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), score=rng.randint(1, 5),
            question_id=rng.choice(["main", "toilets"]), flags=["repeat"] if rng.random() < 0.1 else [],
            tapped_at=f"{rng.choice(days)}T{rng.randint(0, 23):02}:{rng.randint(0, 59):02}:00Z")
        for _ in range(count)
    ]  # fmt: skip


def test_instances_receiving_the_same_batches_at_once_store_each_tap_exactly_once(
    instances, kiosk, tap, make_batch, engine
):
    sent = _taps(tap)
    step = BATCH_TAPS - OVERLAP
    bodies = [make_batch(sent[i * step : i * step + BATCH_TAPS]) for i in range(BATCHES)]
    deliveries = [(b, (b + copy) % INSTANCES) for b in range(BATCHES) for copy in range(COPIES)]
    start_together = [threading.Barrier(COPIES) for _ in range(BATCHES)]
    headers = {"Authorization": f"Bearer {kiosk.token}"}
    clients = [httpx.Client(base_url=url, headers=headers, timeout=60) for url in instances]

    def deliver(delivery: tuple[int, int]) -> dict[str, Any]:
        batch, instance = delivery
        shuffled = random.Random(batch * COPIES + instance).sample(bodies[batch]["taps"], k=BATCH_TAPS)
        body = dict(bodies[batch], taps=shuffled)  # each copy in its own order: lock order must not matter
        start_together[batch].wait(timeout=60)  # the copies of one batch hit different instances at once
        response = clients[instance].post("/api/v1/taps", json=body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    with ThreadPoolExecutor(max_workers=COPIES * 4) as pool:
        answers = list(pool.map(deliver, deliveries))
    for client in clients:
        client.close()

    delivered = sum(len(bodies[b]["taps"]) for b, _ in deliveries)
    assert sum(a["accepted"] for a in answers) == len(sent)
    assert sum(a["accepted"] + a["duplicates"] for a in answers) == delivered
    assert all(a["conflicts"] == [] for a in answers)
    with engine.connect() as conn:
        stored = conn.execute(select(taps.c.id, taps.c.question_id, taps.c.score, taps.c.flags)).all()
        key = (taps.c.location_id, taps.c.question_id, taps.c.local_date, taps.c.local_hour, taps.c.scale, taps.c.score)
        raw = conn.execute(select(*key, func.count()).where(taps.c.flags != "repeat").group_by(*key)).all()
        rolled = conn.execute(select(rollups)).all()
    assert sorted(str(row.id) for row in stored) == sorted(t["id"] for t in sent)
    assert {tuple(r[:-1]): r[-1] for r in raw} == {tuple(r[:-2]): r[-1] for r in rolled}  # kiosk taps: drop channel
    assert sum(r.count for r in rolled) == sum(1 for t in sent if t["flags"] != ["repeat"])
    assert Counter(r.score for r in stored) == Counter(t["score"] for t in sent)
    with engine.connect() as conn:  # completeness counters, kept in SQL by every instance, add up too
        counted = conn.execute(select(kiosks.c.received, kiosks.c.max_seq).where(kiosks.c.id == kiosk.kiosk_id)).one()
    assert tuple(counted) == (len(sent), max(t["seq"] for t in sent))
