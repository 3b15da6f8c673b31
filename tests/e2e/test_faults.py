"""Attack: a faulty network between kiosk and a real server never loses or doubles a tap."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kiosk.store import Store
from kiosk.sync import Syncer, Unreachable, make_client
from tests.support.fault_proxy import FAULTS, FaultProxy
from tests.support.live import Cli, LiveServer, location_summary, setup_location

pytestmark = pytest.mark.e2e

TAPS = 10_000


def test_ten_thousand_taps_through_drops_resets_stalls_and_error_answers_are_counted_exactly_once(
    cli: Cli, live_server: LiveServer, tmp_path: Path
) -> None:
    location_id, token, key = setup_location(cli)
    upstream = urlsplit(live_server.url)
    weights = [0.55, 0.12, 0.08, 0.02, 0.07, 0.06, 0.05, 0.05]  # in FAULTS order
    rng = random.Random(20261123)
    recorded: Counter[int] = Counter()
    failed_syncs = 0
    with (
        FaultProxy((upstream.hostname or "", upstream.port or 0), FAULTS, weights, seed=5) as proxy,
        Store.open(tmp_path / "kiosk") as store,
        make_client(proxy.url, token, timeout=0.5) as client,
    ):
        syncer = Syncer(store, client, batch_size=50, sleep=lambda _s: None, rand=lambda: 0.0)
        syncs = 0
        while sum(recorded.values()) < TAPS:
            for _ in range(min(rng.randint(1, 80), TAPS - sum(recorded.values()))):
                score = rng.randint(1, 5)
                store.record_tap(score, 5)
                recorded[score] += 1
            syncs += 1
            try:
                syncer.send_pending()
            except Unreachable:
                failed_syncs += 1
        syncer.drain(max_attempts=1000)
        assert store.counts().pending == 0
        served = dict(proxy.counts)

    summary = location_summary(live_server.url, key, location_id)
    print(f"\nfault proxy: {TAPS} taps, {syncs} syncs, {failed_syncs} failed, faults served {served}")
    assert summary["responses"] == TAPS
    assert summary["counts"] == {str(s): recorded[s] for s in range(1, 6)}
    # The attack really happened: every kind of fault was served, many syncs failed, the server stayed whole.
    assert set(served) == set(FAULTS), served
    assert served["drop"] >= 20 and failed_syncs >= 50, (served, failed_syncs)
    assert syncs >= 200
