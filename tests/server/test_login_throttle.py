"""Signing in under attack: a growing delay per account kept in the database, and a bound on the password checks
(argon2id, 64 MiB each) that run at once in a process.

The hasher is swapped for one with cheap argon2 parameters that also counts how many checks run at once; the
clock the throttle sees is moved by the tests, never waited for.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from server import Busy, RateLimited
from server.app import create_app
from server.auth import accounts
from server.db import login_throttle
from server.settings import Settings

PASSWORD = "correct horse battery"
WRONG = "wrong password!!"
BOSS, OTHER = "boss@example.com", "other@example.com"
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class CountingHasher(PasswordHasher):
    """Cheap argon2id that records how many ``verify`` calls run at once (``peak``) and in all (``calls``).

    With ``hold`` set, each check waits up to that long for company: it goes on as soon as more than ``bound``
    checks run at once, so an unbounded server shows its crowd at once while a bounded one never does.
    """

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.lock = threading.Lock()
        self.active = self.peak = self.calls = 0
        self.hold, self.bound = 0.0, 0
        self.crowded = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self.lock:
            self.active += 1
            self.calls += 1
            self.peak = max(self.peak, self.active)
            if self.active > self.bound:
                self.crowded.set()
        try:
            if self.hold:
                self.crowded.wait(self.hold)
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.active -= 1


class Clock:
    """The time server.accounts' throttle sees; tests move it."""

    def __init__(self) -> None:
        self.now = T0

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    hasher = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", hasher)
    monkeypatch.setattr(accounts, "_dummy_hash", cache(lambda: hasher.hash("not anyone's password")))
    return hasher


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(accounts, "_now", lambda: clock.now)
    return clock


def make_app(tmp_path: Any, database_url: str, **settings: Any) -> FastAPI:
    """An app without the per-address limit (every test client shares one address), so only the account counts."""
    return create_app(Settings(data_dir=tmp_path, database_url=database_url, login_rate_limit=0, **settings))


@pytest.fixture
def app(tmp_path: Any, database_url: str, hasher: CountingHasher, clock: Clock) -> Iterator[FastAPI]:
    app = make_app(tmp_path, database_url)
    with app.state.engine.begin() as conn:
        for email in (BOSS, OTHER):
            accounts.add_user(conn, email=email, password=PASSWORD, role="admin")
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def form_token(client: TestClient) -> str:
    """Open the sign-in form: its CSRF token (the matching cookie stays in the client)."""
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD, *, token: str | None = None) -> Any:
    data = {"email": email, "password": password, "csrf_token": token or form_token(client), "next": "/"}
    return client.post("/login", data=data, follow_redirects=False)


def fail(client: TestClient, email: str, times: int) -> list[int]:
    return [sign_in(client, email, WRONG).status_code for _ in range(times)]


def count_failures(client: TestClient, clock: Clock, email: str, failures: int) -> None:
    """Make ``failures`` counted failed sign-ins, waiting out each delay on the test clock."""
    while failures:
        response = sign_in(client, email, WRONG)
        if response.status_code == 429:
            clock.advance(retry_after(response))
        else:
            assert response.status_code == 401, response.text
            failures -= 1


def retry_after(response: Any) -> int:
    assert response.status_code == 429, response.text
    return int(response.headers["retry-after"])


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0), (4, 0), (5, 1), (6, 2), (7, 4), (8, 8), (10, 32), (11, 60), (12, 60), (10_000, 60)],
)
def test_the_delay_is_free_for_five_failures_then_doubles_from_one_second_up_to_a_minute(failures, delay):
    assert accounts.throttle_delay(failures) == delay


def test_each_failure_beyond_the_free_ones_makes_the_next_attempt_on_that_account_wait_twice_as_long(client, clock):
    assert fail(client, BOSS, 5) == [401] * 5

    waits = []
    for _ in range(4):
        waits.append(retry_after(sign_in(client, BOSS, WRONG)))
        clock.advance(waits[-1])
        assert sign_in(client, BOSS, WRONG).status_code == 401
    assert waits == [1, 2, 4, 8]


def test_an_attempt_inside_the_delay_checks_no_password_and_does_not_extend_the_delay(client, clock, hasher):
    count_failures(client, clock, BOSS, 7)  # the next attempt must wait 4 s
    checks = hasher.calls

    answers = []
    for _ in range(3):
        answers.append(retry_after(sign_in(client, BOSS, PASSWORD)))
        clock.advance(1)
    assert answers == [4, 3, 2]
    assert hasher.calls == checks  # no argon2 for a refused attempt
    clock.advance(1)  # 4 s after the last failure, however many refusals came in between
    assert sign_in(client, BOSS, PASSWORD).status_code == 303


def test_the_right_password_inside_the_delay_is_refused_and_signs_in_after_it_which_clears_the_count(
    client, clock, engine
):
    count_failures(client, clock, BOSS, 6)

    refused = sign_in(client, BOSS, PASSWORD)
    assert refused.status_code == 429 and "smilepost_session" not in refused.cookies
    assert "failed sign-ins for this account" in refused.text
    clock.advance(retry_after(refused))
    signed = sign_in(client, BOSS, PASSWORD)
    assert signed.status_code == 303 and "smilepost_session" in signed.cookies

    with engine.connect() as conn:
        assert conn.execute(select(login_throttle)).all() == []
    assert fail(client, BOSS, 5) == [401] * 5  # five free failures again


def test_another_account_is_not_slowed_down(client, clock):
    count_failures(client, clock, BOSS, 10)
    assert sign_in(client, BOSS).status_code == 429

    assert sign_in(client, OTHER).status_code == 303
    assert fail(client, OTHER, 5) == [401] * 5


def test_an_unknown_email_is_throttled_exactly_like_an_account_so_nothing_tells_them_apart(client, clock):
    def attempts(email: str) -> list[tuple[int, str | None]]:
        answers = []
        for _ in range(7):
            response = sign_in(client, email, WRONG)
            answers.append((response.status_code, response.headers.get("retry-after")))
        return answers

    known, unknown = attempts(BOSS), attempts("nobody@example.com")

    assert known == unknown == [(401, None)] * 5 + [(429, "1")] * 2
    assert attempts("  NOT-AN-EMAIL ") == known  # malformed text is throttled too


def test_the_count_is_per_normalised_email_and_stored_only_as_its_hash(client, clock, engine):
    fail(client, BOSS, 3)
    fail(client, "  Boss@Example.COM ", 2)

    assert sign_in(client, BOSS).status_code == 429
    with engine.connect() as conn:
        (row,) = conn.execute(select(login_throttle)).all()
    assert row.account == accounts.throttle_key(BOSS) and len(row.account) == 64 and "boss" not in row.account
    assert row.failures == 5 and row.last_failed_at == T0


def test_a_failure_older_than_fifteen_minutes_is_forgotten(client, clock):
    count_failures(client, clock, BOSS, 8)
    clock.advance(14 * 60 + 59)
    assert sign_in(client, BOSS, WRONG).status_code == 401  # the 8 failures are still remembered ...
    assert retry_after(sign_in(client, BOSS)) == 16  # ... so this 9th one is followed by a 16 s delay
    clock.advance(15 * 60)

    assert fail(client, BOSS, 5) == [401] * 5
    assert sign_in(client, BOSS).status_code == 429


def test_two_instances_on_one_database_see_the_same_throttle(app, tmp_path, database_url, clock):
    second = make_app(tmp_path, database_url, auto_migrate=False)
    try:
        with TestClient(app) as one, TestClient(second) as two:
            assert fail(one, BOSS, 3) + fail(two, BOSS, 2) == [401] * 5
            assert retry_after(sign_in(one, BOSS)) == retry_after(sign_in(two, BOSS)) == 1
            clock.advance(1)
            assert sign_in(two, BOSS, WRONG).status_code == 401
            assert retry_after(sign_in(one, BOSS)) == 2
    finally:
        second.state.engine.dispose()


def test_concurrent_attempts_racing_for_one_allowed_try_get_it_once(app, clock):
    engine = app.state.engine
    for _ in range(5):
        with engine.begin() as conn:
            accounts.count_attempt(conn, BOSS)
    clock.advance(1)  # one attempt may go ahead now
    start = threading.Barrier(8)

    def attempt(_: int) -> str:
        start.wait()
        try:
            with engine.begin() as conn:
                accounts.count_attempt(conn, BOSS)
        except RateLimited:
            return "refused"
        return "counted"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))

    assert sorted(outcomes) == ["counted"] + ["refused"] * 7
    with engine.connect() as conn:
        assert conn.execute(select(login_throttle.c.failures)).scalar_one() == 6


def test_a_sign_in_finding_every_password_check_taken_waits_then_gets_503_with_retry_after(client, app, engine):
    app.state.password_checks = checks = accounts.PasswordChecks(2, wait_seconds=0.05)
    with checks.turn(), checks.turn():  # the test holds both turns: the sign-in can only wait
        busy = sign_in(client, BOSS)

    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert "text/html" in busy.headers["content-type"] and "busy" in busy.text
    with engine.connect() as conn:
        assert conn.execute(select(login_throttle)).all() == []  # a 503 counts as no attempt
    assert sign_in(client, BOSS).status_code == 303  # turns free again


def test_a_sign_in_waiting_for_a_turn_goes_ahead_when_one_comes_free(client, app):
    app.state.password_checks = checks = accounts.PasswordChecks(1, wait_seconds=30)
    answers: list[int] = []
    with checks.turn():
        waiting = threading.Thread(target=lambda: answers.append(sign_in(client, BOSS).status_code))
        waiting.start()
        waiting.join(timeout=0.3)
        assert waiting.is_alive() and answers == []
    waiting.join(timeout=30)

    assert answers == [303]


def test_busy_is_json_with_retry_after_on_the_api(app):
    def busy() -> None:
        raise Busy(3, "exports")

    app.add_api_route("/api/v1/test-busy", busy)
    with TestClient(app) as client:
        response = client.get("/api/v1/test-busy")

    assert response.status_code == 503 and response.headers["retry-after"] == "3"
    assert response.json() == {"message": "the server is busy with other exports; try again in 3 s"}


def test_forty_concurrent_sign_ins_never_check_more_passwords_at_once_than_the_bound(app, client, hasher):
    """The memory bound: each argon2id check takes 64 MiB, so what matters is how many run at once."""
    app.state.password_checks = accounts.PasswordChecks(2, wait_seconds=60)
    hasher.hold, hasher.bound = 0.05, 2
    token, start = form_token(client), threading.Barrier(40)

    def attempt(i: int) -> int:
        start.wait()
        return int(sign_in(client, f"guess{i}@example.com", WRONG, token=token).status_code)

    with ThreadPoolExecutor(40) as pool:
        codes = list(pool.map(attempt, range(40)))

    assert codes == [401] * 40
    assert hasher.calls == 40 and hasher.peak == 2
