"""`smilepost demo --seed-only` as a user runs it: a real subprocess on a fresh data folder."""

from __future__ import annotations

import re
import sqlite3

import pytest

from server.auth import accounts
from server.db import make_engine
from tests.support.live import Cli

pytestmark = pytest.mark.e2e

USER_LINE = re.compile(r"^  (\S+@\S+)  password (\S+)  \((admin|manager): (.+)\)$", re.MULTILINE)


def test_seed_only_fills_the_database_and_prints_each_password_once(cli: Cli) -> None:
    result = cli.run("demo", "--seed-only", "--locations", "2", "--days", "3", "--seed", "5")
    out = result.stdout
    assert re.match(r"2 locations in 2 groups, \d+ kiosks \(\d+ offline\), [\d,]+ taps stored\n", out), out
    assert "Oslo Airport – Security A (Europe/Oslo, scale 5, Oslo Airport)" in out
    assert "Fika & Co. – Brooklyn (America/New_York, scale 5, Fika & Co. Americas)" in out
    users = USER_LINE.findall(out)
    assert [(email, role) for email, _, role, _ in users] == [
        ("admin@smilepost.example", "admin"),
        ("group.manager@smilepost.example", "manager"),
        ("location.manager@smilepost.example", "manager"),
    ]
    stored = int(re.search(r"([\d,]+) taps stored", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    path = cli.data_dir / "smilepost.db"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM locations").fetchone() == (2,)
        assert db.execute("SELECT count(*) FROM taps").fetchone() == (stored,)
        assert db.execute("SELECT count(*) FROM taps WHERE followup IS NOT NULL").fetchone()[0] > 0
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        assert all(accounts.authenticate(conn, email, password) for email, password, _, _ in users)
    engine.dispose()
    for _, password, _, _ in users:
        assert out.count(password) == 1 and password not in result.stderr
        assert password.encode() not in path.read_bytes()


def test_seed_only_refuses_a_database_that_has_locations(cli: Cli) -> None:
    cli.json("location", "add", "Real shop", "--timezone", "Europe/Oslo", "--json")
    result = cli.run("demo", "--seed-only", "--locations", "1", "--days", "1", check=False)
    assert result.returncode == 2
    assert "the database already has 1 location(s)" in " ".join(result.stderr.replace("│", " ").split())
    with sqlite3.connect(cli.data_dir / "smilepost.db") as db:
        assert db.execute("SELECT count(*) FROM locations").fetchone() == (1,)
