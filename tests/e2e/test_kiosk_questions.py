"""Several questions (#13) from the kiosk to a real server on 127.0.0.1: a paired kiosk whose location asks a
sequence sends each answer as its own tap, the aspect answers linked to the customer's first tap."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from tests.support.kiosk_driver import run_driver
from tests.support.live import Cli, LiveServer, start_server

pytestmark = pytest.mark.kivy

SEQUENCE = {
    "texts": {"en": {"question": "How was security today?"}},
    "question_mode": "sequence",
    "questions": [
        {"id": "staff", "scale": 3, "texts": {"en": {"question": "Were the staff friendly?"}}},
        {"id": "recommend", "scale": 11},
    ],
    "repeat_press_seconds": 0,
}


@pytest.fixture
def server(cli: Cli, tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(cli, tmp_path / "server.log")
    yield live
    live.stop()


def test_sequence_answers_reach_the_server_linked_to_the_customers_first_tap(
    cli: Cli, server: LiveServer, tmp_path: Path
) -> None:
    location = cli.json("location", "add", "Oslo Security A", "--timezone", "Europe/Oslo", "--json")
    config = tmp_path / "sequence.json"
    config.write_text(json.dumps(SEQUENCE))
    cli.run("location", "configure", str(location["id"]), "--file", str(config))
    code = str(cli.json("kiosk", "pair-code", "--location", str(location["id"]), "--json")["code"])

    outcome = run_driver(tmp_path / "kiosk", ["pair_real", "sequence_real"], "--server", server.url, "--code", code)

    seen = outcome["sequence_real"]
    assert seen["mode"] == "sequence"
    assert (seen["aspect"]["question"], seen["aspect"]["step"]) == ("Were the staff friendly?", "2 / 3")
    main, staff = seen["rows"]  # recommend was skipped
    assert [(r["question_id"], r["scale"], r["score"], r["synced"]) for r in (main, staff)] == [
        ("main", 5, 1, True),
        ("staff", 3, 3, True),
    ]
    assert staff["first_tap_id"] == main["id"]

    with sqlite3.connect(cli.data_dir / "smilepost.db") as db:
        stored = {
            str(UUID(tap_id)): (question_id, scale, score, str(UUID(first)) if first else None)
            for tap_id, question_id, scale, score, first in db.execute(
                "SELECT id, question_id, scale, score, first_tap_id FROM taps"
            )
        }
    assert stored[main["id"]] == ("main", 5, 1, None)
    assert stored[staff["id"]] == ("staff", 3, 3, main["id"])
