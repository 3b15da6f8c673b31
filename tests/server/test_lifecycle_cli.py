"""``smilepost location list|rename|set-timezone|archive|unarchive|delete``, ``kiosk list|rename|move``, ``group
add|list|add-child|add-location|remove-location`` and ``db rebuild-rollups`` in-process on a SQLite file
(tests.support.cli): each with ``--json``, a wrong argument answered with what was expected, and the audit trail
naming the CLI on this host. The library is tested in test_lifecycle.py, test_groups.py and test_rebuild.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from server.db import audit_log, make_engine
from tests.support.cli import cli_runner, said


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    invoke = cli_runner(tmp_path, monkeypatch)
    for name in ("Oslo Security A", "Bergen Flesland"):
        assert invoke("location", "add", name, "--timezone", "Europe/Oslo").exit_code == 0
    return invoke


@pytest.fixture
def engine(tmp_path: Path, run: Callable[..., Any]) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'smilepost.db'}")
    yield engine
    engine.dispose()


def js(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_locations_are_listed_renamed_rezoned_archived_and_brought_back(run, engine):
    renamed = js(run("location", "rename", "1", "Oslo Security North", "--json"))
    zoned = run("location", "set-timezone", "1", "America/New_York")
    archived = js(run("location", "archive", "1", "--json"))
    listed = js(run("location", "list", "--json"))
    back = js(run("location", "unarchive", "1", "--json"))

    assert renamed == {"id": 1, "name": "Oslo Security North", "timezone": "Europe/Oslo", "archived_at": None}
    assert zoned.exit_code == 0 and "rebuild-rollups --location 1" in zoned.output
    assert archived["archived_at"] is not None and back["archived_at"] is None
    assert [(p["id"], p["name"], p["timezone"], p["archived_at"] is not None) for p in listed] == [
        (1, "Oslo Security North", "America/New_York", True), (2, "Bergen Flesland", "Europe/Oslo", False)
    ]  # fmt: skip
    with engine.connect() as conn:
        actors = conn.execute(select(audit_log.c.actor_kind, audit_log.c.action).where(
            audit_log.c.target_kind == "location", audit_log.c.target_id == "1")).all()  # fmt: skip
    assert {("cli", "location.rename"), ("cli", "location.timezone"), ("cli", "location.archive"),
            ("cli", "location.unarchive")} <= set(actors)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("location", "set-timezone", "1", "Europe/Olso"), "did you mean Europe/Oslo"),
        (("location", "rename", "9", "X"), "location 9 does not exist"),
        (("location", "delete", "1", "--confirm", "Oslo"), "type its name 'Oslo Security A'"),
        (("kiosk", "move", "nope", "--to", "2"), "kiosk nope does not exist"),
        (("group", "add-child", "1", "1"), "cannot be put inside itself"),
    ],
)
def test_a_wrong_argument_says_what_was_expected(run, args, expected):
    run("group", "add", "Norway")
    result = run(*args)

    assert result.exit_code == 2
    assert expected in said(result)


def test_a_location_is_deleted_only_after_its_name_is_typed(run):
    refused = run("location", "delete", "2", input="Bergen\n")
    deleted = run("location", "delete", "2", "--json", input="Bergen Flesland\n")

    assert refused.exit_code == 2
    assert deleted.exit_code == 0
    assert json.loads(deleted.output.splitlines()[-1]) == {
        "id": 2, "name": "Bergen Flesland", "taps": 0, "kiosks": 0, "touchpoints": 0
    }  # fmt: skip
    assert [p["id"] for p in js(run("location", "list", "--json"))] == [1]


def test_a_kiosk_is_renamed_and_moved_with_a_pairing_code_for_its_new_location(run):
    kiosk = js(run("kiosk", "enroll", "--location", "1", "--json"))["kiosk_id"]

    renamed = js(run("kiosk", "rename", kiosk, "Lane 4", "--json"))
    moved = js(run("kiosk", "move", kiosk, "--to", "2", "--json"))
    listed = js(run("kiosk", "list", "--json"))

    assert renamed["name"] == "Lane 4"
    assert moved["to_location_id"] == 2 and len(moved["code"]) == 8 and moved["retired_at"] is not None
    assert [(k["id"], k["location_id"], k["retired_at"] is not None) for k in listed] == [(kiosk, 1, True)]


def test_groups_nest_and_hold_locations_from_the_command_line(run):
    norway = js(run("group", "add", "Norway", "--json"))["id"]
    oslo = js(run("group", "add", "Oslo", "--location", "1", "--json"))["id"]
    js(run("group", "add-child", str(norway), str(oslo), "--json"))
    js(run("group", "add-location", str(norway), "2", "--json"))
    js(run("group", "add-location", str(oslo), "2", "--json"))
    removed = js(run("group", "remove-location", str(oslo), "2", "--json"))
    cycle = run("group", "add-child", str(oslo), str(norway))

    listed = {g["name"]: g for g in js(run("group", "list", "--json"))}
    assert removed == {"group_id": oslo, "location_id": 2, "changed": True}
    assert cycle.exit_code == 2 and "cannot be put inside itself" in said(cycle)
    assert listed["Norway"] == {"id": norway, "name": "Norway", "parent_id": None, "locations": [2], "children": [oslo]}
    assert listed["Oslo"] == {"id": oslo, "name": "Oslo", "parent_id": norway, "locations": [1], "children": []}


def test_rebuild_rollups_reports_each_location(run):
    done = js(run("db", "rebuild-rollups", "--json"))
    one = js(run("db", "rebuild-rollups", "--location", "2", "--json"))
    unknown = run("db", "rebuild-rollups", "--location", "9")

    assert [(d["location_id"], d["taps_moved"], d["rows_written"], d["from_date"]) for d in done] == [
        (1, 0, 0, None), (2, 0, 0, None)
    ]  # fmt: skip
    assert [d["location_id"] for d in one] == [2]
    assert unknown.exit_code == 2 and "location 9 does not exist" in unknown.output
