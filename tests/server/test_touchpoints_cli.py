"""``smilepost channel add|revoke|list``: web touchpoints from the command line, each with ``--json``; the address is
absolute under ``SMILEPOST_PUBLIC_URL`` and a path without it; a wrong argument exits 2 saying what was expected."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.cli import cli_runner

SLUG = r"[A-Za-z0-9_-]{22}"


@pytest.fixture
def run(tmp_path, monkeypatch):
    """``run(*args)`` -> the command's result, on a fresh SQLite database in tmp_path, without a public URL."""
    return cli_runner(tmp_path, monkeypatch, "SMILEPOST_PUBLIC_URL")


@pytest.fixture
def gate(run) -> int:
    return json.loads(run("location", "add", "Gate 7", "--timezone", "Europe/Oslo", "--json").output)["id"]


def test_add_prints_the_id_and_the_path_without_a_public_url(run, gate):
    result = run("channel", "add", "--location", str(gate), "--json")

    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert set(made) == {"id", "url"} and isinstance(made["id"], int)
    assert re.fullmatch(f"/s/{SLUG}", made["url"])


def test_add_prints_the_absolute_address_under_the_public_url(run, gate, monkeypatch):
    monkeypatch.setenv("SMILEPOST_PUBLIC_URL", "https://feedback.example.com/")

    made = json.loads(run("channel", "add", "--location", str(gate), "--json").output)

    assert re.fullmatch(f"https://feedback.example.com/s/{SLUG}", made["url"])


def test_add_without_json_says_what_was_made_in_one_line(run, gate):
    result = run("channel", "add", "--location", str(gate), "--name", "Table 4")

    assert result.exit_code == 0
    assert re.fullmatch(f"touchpoint 1 'Table 4' created at Gate 7: /s/{SLUG}\n", result.output)


def test_every_touchpoint_gets_its_own_unguessable_address(run, gate):
    urls = {json.loads(run("channel", "add", "--location", str(gate), "--json").output)["url"] for _ in range(5)}

    assert len(urls) == 5


def test_list_shows_every_touchpoint_with_its_state_and_counts(run, gate, monkeypatch):
    other = json.loads(run("location", "add", "Shop", "--timezone", "America/New_York", "--json").output)["id"]
    first = json.loads(run("channel", "add", "--location", str(gate), "--name", "Table 4", "--json").output)
    second = json.loads(run("channel", "add", "--location", str(gate), "--json").output)
    third = json.loads(run("channel", "add", "--location", str(other), "--json").output)
    run("channel", "revoke", str(second["id"]))

    listed = json.loads(run("channel", "list", "--json").output)
    only_gate = json.loads(run("channel", "list", "--location", str(gate), "--json").output)
    monkeypatch.setenv("SMILEPOST_PUBLIC_URL", "https://feedback.example.com")
    absolute = json.loads(run("channel", "list", "--location", str(other), "--json").output)

    assert [(t["id"], t["location_id"], t["location"], t["name"], t["url"]) for t in listed] == [
        (first["id"], gate, "Gate 7", "Table 4", first["url"]),
        (second["id"], gate, "Gate 7", "Web 2", second["url"]),
        (third["id"], other, "Shop", "Web 1", third["url"]),
    ]
    assert [t["revoked_at"] is not None for t in listed] == [False, True, False]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t["created_at"]) for t in listed)
    assert [(t["last_tap_at"], t["received"]) for t in listed] == [(None, 0)] * 3
    assert [t["id"] for t in only_gate] == [first["id"], second["id"]]
    assert absolute[0]["url"] == "https://feedback.example.com" + third["url"]


def test_list_without_json_has_one_line_per_touchpoint(run, gate):
    assert run("channel", "list").output == "no web touchpoints\n"
    run("channel", "add", "--location", str(gate), "--name", "Table 4")
    run("channel", "add", "--location", str(gate))
    run("channel", "revoke", "2")

    lines = run("channel", "list").output.splitlines()

    assert len(lines) == 2
    assert re.fullmatch(f"1: 'Table 4' at Gate 7 \\(location {gate}\\) /s/{SLUG}; created \\S+Z, active, "
                        "last tap never, 0 taps", lines[0])  # fmt: skip
    assert re.search(r", revoked \S+Z, last tap never, 0 taps$", lines[1])


def test_revoke_marks_it_revoked_once(run, gate):
    made = json.loads(run("channel", "add", "--location", str(gate), "--json").output)

    revoked = run("channel", "revoke", str(made["id"]), "--json")
    first_time = json.loads(run("channel", "list", "--json").output)[0]["revoked_at"]
    again = run("channel", "revoke", str(made["id"]))

    assert json.loads(revoked.output) == {"id": made["id"], "revoked": True}
    assert again.exit_code == 0 and again.output == f"touchpoint {made['id']} 'Web 1' revoked; its taps stay\n"
    assert json.loads(run("channel", "list", "--json").output)[0]["revoked_at"] == first_time


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["add", "--location", "42"], "location 42 does not exist"),
        (["add", "--location", "x"], "Invalid value for '--location'"),
        (["add"], "Missing option '--location'"),
        (["add", "--location", "1", "--name", "  "], "name: expected 1 to 200 characters, got 0"),
        (["add", "--location", "1", "--name", "x" * 201], "name: expected 1 to 200 characters, got 201"),
        (["revoke", "7"], "touchpoint 7 does not exist"),
        (["revoke", "seven"], "Invalid value for 'ID'"),
        (["list", "--location", "42"], "location 42 does not exist"),
    ],
)
def test_a_wrong_argument_exits_2_saying_what_was_expected(run, gate, args, expected):
    result = run("channel", *args)

    assert result.exit_code == 2
    assert expected in " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split()), result.output
    assert json.loads(run("channel", "list", "--json").output) == []
