"""One instance leads the scheduler through a lease row; background loops keep going through errors."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.db import leases
from server.scheduler import Loop, hold_lease, release_lease

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_a_lease_is_held_by_one_holder_until_it_expires(engine):
    assert hold_lease(engine, "scheduler", "a", 30, now=NOW)
    assert not hold_lease(engine, "scheduler", "b", 30, now=NOW + timedelta(seconds=10))
    assert hold_lease(engine, "scheduler", "a", 30, now=NOW + timedelta(seconds=20))  # renewed to 50 s
    assert not hold_lease(engine, "scheduler", "b", 30, now=NOW + timedelta(seconds=49))
    assert hold_lease(engine, "scheduler", "b", 30, now=NOW + timedelta(seconds=51))  # expired: taken over
    assert not hold_lease(engine, "scheduler", "a", 30, now=NOW + timedelta(seconds=52))


def test_a_released_lease_is_free_at_once(engine):
    hold_lease(engine, "scheduler", "a", 300, now=NOW)
    release_lease(engine, "scheduler", "b")  # not b's: nothing happens
    assert not hold_lease(engine, "scheduler", "b", 30, now=NOW)

    release_lease(engine, "scheduler", "a")

    assert hold_lease(engine, "scheduler", "b", 30, now=NOW)


def test_instances_racing_for_a_free_lease_give_it_to_exactly_one(engine):
    start = threading.Barrier(8)

    def race(holder: str) -> bool:
        start.wait(timeout=10)
        return hold_lease(engine, "scheduler", holder, 30, now=NOW)

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(race, [f"h{i}" for i in range(8)]))

    assert won.count(True) == 1
    with engine.connect() as conn:
        assert conn.execute(select(leases.c.holder)).scalars().all() == [f"h{won.index(True)}"]


def test_a_loop_ticks_until_stopped_and_a_failing_tick_does_not_end_it():
    ticks: list[int] = []
    twice = threading.Event()

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 1:
            raise RuntimeError("a database hiccup")
        twice.set()

    loop = Loop("test-loop", 3600, tick)  # an hour between ticks: only wake() makes the second one
    loop.start()
    loop.wake()

    assert twice.wait(5)
    loop.stop()
    assert len(ticks) == 2
