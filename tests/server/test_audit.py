"""The audit trail (issue #14) through the library: each admin change writes one row in its own transaction with who
acted (the system outside a request, the CLI inside ``audit.acting``), a summary naming the target and only the values
that changed; secrets never reach it; the database refuses UPDATE and DELETE on it (SQLite and PostgreSQL); deleting a
user keeps its rows; :func:`server.audit.entries` filters and pages. Actors of the API and the dashboard, and the CLI
itself, are in test_audit_api.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError

from server import InvalidInput, audit
from server.auth import accounts, keys, kiosk_tokens, pairing, user_admin
from server.auth.tokens import hash_secret
from server.db import audit_log, locations, taps, users
from server.demo.seed import seed
from server.locations import configure_location, location_config, set_location_scale, set_profanity_mask
from server.retention import purge
from server.settings import Settings
from server.touchpoints import add_touchpoint, revoke_touchpoint
from tests.support.sessions import PASSWORD

PIN = "73915046"
NEW_PASSWORD = "an entirely new passphrase"


def trail(engine: Engine, **filters: Any) -> list[audit.Entry]:
    with engine.connect() as conn:
        return audit.entries(conn, limit=200, **filters).entries


def test_a_change_records_who_what_and_only_the_values_changed(engine: Engine, location: int) -> None:
    with engine.begin() as conn:
        set_location_scale(conn, location, 11)
        config = location_config(conn, location)
        configure_location(conn, location, config=config.model_copy(update={"thank_you_seconds": 9}))

    scale, configured = trail(engine, target_kind="location", action="location.")[:2][::-1]
    assert (scale.action, scale.actor_kind, scale.actor) == ("location.scale", "system", "system")
    assert scale.summary == f"location {location} 'Gardermoen Gate 12': scale 5 -> 11"
    assert (scale.before, scale.after) == ({"scale": 5}, {"scale": 11})
    assert configured.action == "location.configure"
    assert configured.before == {"thank_you_seconds": config.thank_you_seconds}
    assert configured.after == {"thank_you_seconds": 9}


def test_nothing_changed_records_nothing(engine: Engine, location: int) -> None:
    with engine.begin() as conn:
        set_location_scale(conn, location, 5)
        assert not set_profanity_mask(conn, location, False)
        configure_location(conn, location, config=location_config(conn, location))

    assert [e.action for e in trail(engine, target_kind="location")] == ["location.add"]


@pytest.mark.parametrize(
    ("change", "action", "before", "after"),
    [
        (lambda conn, uid: user_admin.disable_user(conn, uid), "user.disable", {"disabled_at": None}, "time"),
        (lambda conn, uid: user_admin.set_password(conn, uid, NEW_PASSWORD), "user.password",
         {"password": audit.SECRET}, {"password": audit.SECRET}),
    ],
)  # fmt: skip
def test_user_changes_record_before_and_after(
    engine: Engine, change: Any, action: str, before: Any, after: Any
) -> None:
    with engine.begin() as conn:
        accounts.add_user(conn, email="root@example.com", password=PASSWORD, role="admin")
        user_id = accounts.add_user(conn, email="ops@example.com", password=PASSWORD, role="admin")
        change(conn, user_id)

    entry = trail(engine, target_kind="user", target_id=str(user_id))[0]
    assert entry.action == action and "ops@example.com" in entry.summary
    assert entry.before == before
    if after == "time":
        assert entry.after is not None and datetime.fromisoformat(entry.after["disabled_at"]).tzinfo is not None
    else:
        assert entry.after == after


def test_a_pin_is_recorded_only_as_set(engine: Engine, location: int) -> None:
    with engine.begin() as conn:
        configure_location(conn, location, pin=PIN)

    entry = trail(engine, action="location.pin")[0]
    assert entry.summary == f"location {location} 'Gardermoen Gate 12': pin set"
    assert (entry.before, entry.after) == ({"admin_pin": None}, {"admin_pin": audit.SECRET})


def test_secrets_never_reach_the_trail(engine: Engine, location: int) -> None:
    with engine.begin() as conn:
        key = keys.create_api_key(conn, name="reporting", scope="admin")
        configure_location(conn, location, pin=PIN)
        user_id = accounts.add_user(conn, email="ops@example.com", password=PASSWORD, role="admin")
        accounts.add_user(conn, email="root@example.com", password=PASSWORD, role="admin")
        user_admin.set_password(conn, user_id, NEW_PASSWORD)
        code = pairing.create_pair_code(conn, location_id=location, kiosk_name="Gate 12 left")
        kiosk = kiosk_tokens.enroll_kiosk(conn, location_id=location)
        touchpoint = add_touchpoint(conn, location_id=location, name="Entrance")
        revoke_touchpoint(conn, touchpoint.id)
        pin_hash = json.loads(conn.execute(select(locations.c.config)).scalar_one())["admin_pin_hash"]
        password_hash = conn.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar_one()
        rows = [" ".join(map(str, row)) for row in conn.execute(select(audit_log))]

    secrets = [key, hash_secret(key), PIN, pin_hash, PASSWORD, NEW_PASSWORD, password_hash, code.code,
               hash_secret(code.code), kiosk.token, hash_secret(kiosk.token), touchpoint.slug]  # fmt: skip
    assert len(rows) >= 9
    assert not [(secret, row) for secret in secrets for row in rows if secret in row]


def test_the_trail_refuses_update_and_delete(engine: Engine, location: int) -> None:
    """Triggers in the database (migration 0010), whatever code runs: on SQLite and PostgreSQL."""
    for statement in (update(audit_log).values(summary="nothing happened"), delete(audit_log)):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id > 0"))

    assert [e.summary for e in trail(engine)] == [
        f"location {location} 'Gardermoen Gate 12' added (Europe/Oslo, scale 5)"
    ]


def test_deleting_a_user_keeps_their_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        accounts.add_user(conn, email="root@example.com", password=PASSWORD, role="admin")
        user_id = accounts.add_user(conn, email="ops@example.com", password=PASSWORD, role="admin")
        user_admin.disable_user(conn, user_id)
        user_admin.delete_user(conn, user_id)

    kept = trail(engine, target_kind="user", target_id=str(user_id))
    assert [e.action for e in kept] == ["user.delete", "user.disable", "user.add"]
    assert kept[0].summary == f"user {user_id} ops@example.com deleted"
    assert kept[0].before == {"role": "admin", "location_ids": [], "group_ids": []} and kept[0].after is None


def test_the_cli_and_the_system_act_as_themselves(engine: Engine, location: int) -> None:
    with audit.acting(audit.Actor("cli", "ops@host", "cli ops@host")), engine.begin() as conn:
        set_location_scale(conn, location, 3)
    with engine.begin() as conn:
        set_location_scale(conn, location, 4)

    assert [(e.actor_kind, e.actor_id) for e in trail(engine, action="location.scale")] == [
        ("system", ""), ("cli", "ops@host"),
    ]  # fmt: skip
    assert audit.cli_actor().kind == "cli" and "@" in audit.cli_actor().id


def test_the_purge_records_what_it_removed_per_location(engine: Engine, settings: Settings) -> None:
    seed(engine, locations=1, days=20, taps_per_day=3, rng_seed=5)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(update(taps).values(received_at=now - timedelta(days=2)))
    kept = settings.model_copy(update={"retain_taps_days": 10, "retain_comments_days": 0})

    report = purge(engine, kept, now)
    purge(engine, kept, now)  # nothing left to remove: no second row

    (entry,) = trail(engine, action="retention.")
    (place,) = report.locations
    assert (entry.actor_kind, entry.target_id) == ("system", str(place.location_id))
    assert entry.after == {"taps_deleted": place.taps_deleted, "taps_before": str(place.taps_before),
                           "comments_cleared": 0, "comments_before": None}  # fmt: skip
    assert place.taps_deleted > 0 and f"{place.taps_deleted} taps before {place.taps_before}" in entry.summary


def test_entries_filter_by_actor_action_target_and_time(engine: Engine, make_location: Any) -> None:
    oslo, bergen = make_location(name="Oslo"), make_location(name="Bergen", timezone="Europe/Oslo")
    with audit.acting(audit.Actor("user", "7", "ops@example.com")), engine.begin() as conn:
        set_location_scale(conn, oslo, 3)
        set_profanity_mask(conn, bergen, True)

    def actions(**filters: Any) -> list[str]:
        return [f"{e.action} {e.target_id}" for e in trail(engine, **filters)]

    assert actions(actor="OPS@") == [f"location.profanity_mask {bergen}", f"location.scale {oslo}"]
    assert actions(actor="system") == [f"location.add {bergen}", f"location.add {oslo}"]
    assert actions(action="location.scale") == [f"location.scale {oslo}"]
    assert actions(action="location.%") == []  # a prefix, not a pattern
    assert actions(target_kind="location", target_id=str(bergen)) == [
        f"location.profanity_mask {bergen}", f"location.add {bergen}",
    ]  # fmt: skip
    now = datetime.now(UTC)
    assert len(actions(since=now - timedelta(minutes=5), until=now + timedelta(minutes=5))) == 4
    assert actions(since=now + timedelta(minutes=5)) == [] and actions(until=now - timedelta(minutes=5)) == []


def test_entries_page_newest_first_by_id(engine: Engine, location: int) -> None:
    with engine.begin() as conn:
        for scale in (3, 4, 5, 11, 3):
            set_location_scale(conn, location, scale)
        pages, before_id = [], None
        while True:
            page = audit.entries(conn, limit=2, before_id=before_id)
            pages.append([e.id for e in page.entries])
            if (before_id := page.next_before_id) is None:
                break

    assert [len(ids) for ids in pages] == [2, 2, 2]
    flat = [i for ids in pages for i in ids]
    assert flat == sorted(flat, reverse=True) and len(set(flat)) == 6


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"since": datetime(2026, 1, 1)}, "since"),
        ({"actor": "ops\x00"}, "actor"),
    ],
)
def test_entries_refuse_bad_filters_naming_them(engine: Engine, filters: dict[str, Any], field: str) -> None:
    with engine.connect() as conn, pytest.raises(InvalidInput, match=f"^{field}:"):
        audit.entries(conn, **filters)


def test_scrub_replaces_secret_values_nested_but_keeps_none() -> None:
    values = {"name": "x", "token_hash": "abc", "texts": {"pin": "1234", "title": "Hi"}, "password": None}
    assert audit.scrub(values) == {"name": "x", "token_hash": audit.SECRET,
                                   "texts": {"pin": audit.SECRET, "title": "Hi"}, "password": None}  # fmt: skip
