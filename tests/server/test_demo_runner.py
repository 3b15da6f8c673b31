"""The demo's first start and restarts (server.demo.runner.prepare_demo), without a window or a server process."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server import InvalidInput
from server.auth import accounts, keys
from server.auth.kiosk_tokens import authenticate_kiosk
from server.db import locations, make_engine, taps
from server.demo.runner import Demo, ProgressBar, SeedPlan, instructions, prepare_demo
from server.settings import Settings

SMALL = SeedPlan(locations=2, days=2)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=None)


def _count(settings: Settings, table: object) -> int:
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
    finally:
        engine.dispose()


def interrupted_after(steps: int) -> ProgressBar:
    """A progress bar whose ``steps``-th advance is a Ctrl-C."""

    @contextmanager
    def bar(_description: str, _total: int) -> Iterator[Callable[[int], None]]:
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if done >= steps:
                raise KeyboardInterrupt

        yield advance

    return bar


def test_the_first_start_seeds_and_keeps_a_kiosk_at_a_seeded_location_a_key_and_the_admins_sign_in(
    settings: Settings,
) -> None:
    advanced: list[int] = []

    @contextmanager
    def bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
        assert total == SMALL.locations * SMALL.days and description
        yield advanced.append

    demo = prepare_demo(settings, SMALL, bar)

    creds, seeded = demo.credentials, demo.seeded
    assert seeded is not None and demo.days == 2 and sum(advanced) == 4
    assert (creds.location_id, creds.location_name) == (seeded.locations[0].id, seeded.locations[0].name)
    assert json.loads((settings.data_dir / "demo.json").read_text()) == {
        "location_id": creds.location_id, "location_name": creds.location_name, "kiosk_id": creds.kiosk_id,
        "token": creds.token, "api_key": creds.api_key, "email": creds.email, "password": creds.password,
    }  # fmt: skip
    engine = make_engine(settings.resolved_database_url)
    with engine.connect() as conn:
        kiosk = authenticate_kiosk(conn, creds.token)
        assert kiosk is not None and kiosk.location_id == creds.location_id
        assert keys.key_scope(conn, creds.api_key) == "read"
        user = accounts.authenticate(conn, creds.email, creds.password)
        assert user is not None and accounts.access_of(conn, user).is_admin
    engine.dispose()
    assert _count(settings, locations) == 2  # the kiosk stands at a seeded location, not a location of its own


def test_a_later_start_reuses_the_credentials_and_seeds_nothing(settings: Settings) -> None:
    first = prepare_demo(settings, SMALL)
    stored = _count(settings, taps)

    again = prepare_demo(settings, SeedPlan(locations=5, days=30))

    assert again == Demo(first.credentials)
    assert _count(settings, taps) == stored and _count(settings, locations) == 2


def test_a_first_start_stopped_while_seeding_leaves_no_database_and_the_next_start_seeds_again(
    settings: Settings,
) -> None:
    with pytest.raises(KeyboardInterrupt):
        prepare_demo(settings, SMALL, interrupted_after(3))
    assert not (settings.data_dir / "smilepost.db").exists() and not (settings.data_dir / "demo.json").exists()

    demo = prepare_demo(settings, SMALL)

    assert demo.seeded is not None and _count(settings, locations) == 2
    assert sorted(p.name for p in settings.data_dir.iterdir()) == ["demo.json", "smilepost.db"]


def test_an_existing_empty_database_is_seeded_in_place(settings: Settings) -> None:
    make_engine(settings.resolved_database_url).dispose()  # e.g. `smilepost server` ran here once
    assert prepare_demo(settings, SMALL).seeded is not None
    assert _count(settings, locations) == 2


def test_a_database_with_other_locations_is_refused(settings: Settings) -> None:
    prepare_demo(settings, SMALL)
    (settings.data_dir / "demo.json").unlink()
    with pytest.raises(InvalidInput, match="already has 2 location"):
        prepare_demo(settings, SMALL)


def test_a_demo_json_of_the_older_demo_is_refused_with_what_to_do(settings: Settings) -> None:
    settings.data_dir.mkdir()
    old = {"location_id": 1, "kiosk_id": "k", "token": "spk_x", "api_key": "spa_x"}
    (settings.data_dir / "demo.json").write_text(json.dumps(old))
    with pytest.raises(InvalidInput, match="older Smilepost demo.*SMILEPOST_DATA_DIR"):
        prepare_demo(settings, SMALL)


def test_the_instructions_give_the_sign_in_the_kiosk_and_pasteable_commands(settings: Settings) -> None:
    demo = prepare_demo(settings, SMALL)
    creds = demo.credentials
    base = "http://127.0.0.1:8000"

    first = instructions(base, demo, settings.data_dir, offscreen=True)
    later = instructions(base, Demo(creds), settings.data_dir, offscreen=False)

    assert f"sign in as {creds.email}, password {creds.password}" in first
    assert f"kiosk stands at {creds.location_name}; its taps show on {base}/locations/{creds.location_id}" in first
    simulate = shlex.split(first.split("More taps:", 1)[1].splitlines()[0])
    assert simulate[1:] == ["kiosk", "simulate", "--server", base, "--token", creds.token, "--taps", "100",
                            "--data", str(settings.data_dir / "simulated-kiosk")]  # fmt: skip
    assert "First start: seeded 2 locations" in first and "location.manager@" in first and "offscreen" in first
    assert "First start" not in later and "manager@" not in later and "offscreen" not in later
    assert later.endswith("Press Ctrl-C to stop.")
