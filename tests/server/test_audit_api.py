"""The audit trail over HTTP and from the CLI (issue #14): the same admin action (a pairing code) from the CLI, an
admin API key and an admin's dashboard session is recorded with who did it; ``GET /api/v1/audit`` filters and pages
for an admin key or an admin's session, answers 403 to a read key and a manager, and a 422 that names a bad filter;
``/admin/audit`` shows the trail (admins only). The library is tested in test_audit.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from server import audit
from server.auth import accounts, keys, user_admin
from server.db import make_engine
from server.locations import set_location_scale
from tests.support.cli import cli_runner
from tests.support.sessions import PASSWORD, form_token, sign_in

ADMIN = "ops@example.com"
MANAGER = "lane@example.com"


@pytest.fixture
def people(engine: Engine, location: int) -> dict[str, Any]:
    """An admin and a manager of ``location``, with their user ids, and an admin and a read API key."""
    with engine.begin() as conn:
        admin = accounts.add_user(conn, email=ADMIN, password=PASSWORD, role="admin")
        manager = accounts.add_user(conn, email=MANAGER, password=PASSWORD, role="manager", location_ids=[location])
        admin_key = keys.create_api_key(conn, name="automation", scope="admin")
        read_key = keys.create_api_key(conn, name="reporting")
    return {"admin": admin, "manager": manager, "admin_key": admin_key, "read_key": read_key}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_an_api_key_and_a_dashboard_user_are_recorded_as_who_acted(
    client: TestClient, engine: Engine, location: int, people: dict[str, Any]
) -> None:
    by_key = client.post(f"/api/v1/locations/{location}/pair-codes", headers=bearer(people["admin_key"]), json={})
    sign_in(client, ADMIN)
    by_user = client.post(f"/admin/locations/{location}/pair-code",
                          data={"csrf_token": form_token(client, "/admin"), "kiosk_name": "Lane 3"})  # fmt: skip

    assert by_key.status_code == 201 and by_user.status_code == 200
    listed = client.get("/api/v1/audit", params={"action": "location.pair_code"}).json()["items"]
    key_id = next(k.id for k in keys_of(engine) if k.name == "automation")
    assert [(e["actor_kind"], e["actor_id"], e["actor"]) for e in listed] == [
        ("user", str(people["admin"]), ADMIN), ("apikey", str(key_id), f"API key {key_id} automation"),
    ]  # fmt: skip
    assert listed[0]["summary"].startswith(f"pairing code created for location {location} 'Gardermoen Gate 12'")
    assert listed[0]["after"]["kiosk_name"] == "Lane 3" and listed[1]["after"]["kiosk_name"] is None
    assert by_key.json()["code"] not in json.dumps(listed)


def keys_of(engine: Engine) -> list[keys.ApiKeyInfo]:
    with engine.connect() as conn:
        return keys.list_api_keys(conn)


def test_the_cli_is_recorded_as_the_user_on_the_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run: Callable[..., Any] = cli_runner(tmp_path, monkeypatch)
    assert run("location", "add", "Oslo Security A", "--timezone", "Europe/Oslo").exit_code == 0
    made = run("kiosk", "pair-code", "--location", "1", "--json")
    purged = run("db", "purge")  # its own engine (server/cli/data.py); nothing to remove, so no row
    assert made.exit_code == 0 and purged.exit_code == 0, made.output + purged.output

    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'smilepost.db'}")
    with engine.connect() as conn:
        listed = audit.entries(conn).entries
    engine.dispose()
    cli = audit.cli_actor()
    assert [(e.action, e.actor_kind, e.actor_id, e.actor) for e in listed] == [
        ("location.pair_code", "cli", cli.id, cli.label), ("location.add", "cli", cli.id, cli.label),
    ]  # fmt: skip
    assert json.loads(made.stdout)["code"] not in str(listed)


def test_the_api_filters_and_pages(client: TestClient, engine: Engine, location: int, people: dict[str, Any]) -> None:
    with audit.acting(audit.Actor("user", str(people["admin"]), ADMIN)), engine.begin() as conn:
        for scale in (3, 4, 11):
            set_location_scale(conn, location, scale)
        user_admin.disable_user(conn, people["manager"])
    headers = bearer(people["admin_key"])

    def get(**params: Any) -> dict[str, Any]:
        answer = client.get("/api/v1/audit", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    scales = get(action="location.scale", target_kind="location", target_id=str(location), actor="ops@")
    assert [(e["before"], e["after"]) for e in scales["items"]] == [
        ({"scale": 4}, {"scale": 11}), ({"scale": 3}, {"scale": 4}), ({"scale": 5}, {"scale": 3}),
    ]  # fmt: skip
    assert [e["action"] for e in get(target_kind="user", target_id=str(people["manager"]))["items"]] == [
        "user.disable", "user.add",
    ]  # fmt: skip
    first = get(limit=3)
    second = get(limit=3, before_id=first["next_before_id"])
    everything = get(limit=200)
    assert [e["id"] for e in first["items"] + second["items"]] == [e["id"] for e in everything["items"]][:6]
    assert everything["next_before_id"] is None
    assert get(since="2999-01-01T00:00:00Z")["items"] == []
    assert len(get(until="2999-01-01T00:00:00+01:00")["items"]) == len(everything["items"])


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 201}, "limit"), ({"since": "yesterday"}, "since"), ({"until": "2026-11-26T10:00:00"}, "until"),
     ({"before_id": 0}, "before_id")],
)  # fmt: skip
def test_a_bad_filter_is_a_422_naming_it(
    client: TestClient, people: dict[str, Any], params: dict[str, Any], field: str
) -> None:
    answer = client.get("/api/v1/audit", params=params, headers=bearer(people["admin_key"]))
    assert answer.status_code == 422 and answer.json()["message"].startswith(field), answer.text


def test_only_admins_read_the_trail(client: TestClient, people: dict[str, Any]) -> None:
    assert client.get("/api/v1/audit").status_code == 401
    assert client.get("/api/v1/audit", headers=bearer(people["read_key"])).status_code == 403
    sign_in(client, MANAGER)
    assert client.get("/api/v1/audit").status_code == 403
    assert client.get("/admin/audit").status_code == 403
    client.post("/logout", data={"csrf_token": form_token(client)})
    sign_in(client, ADMIN)
    assert client.get("/api/v1/audit").status_code == 200


def test_the_admin_page_shows_and_filters_the_trail(
    client: TestClient, engine: Engine, location: int, people: dict[str, Any]
) -> None:
    with audit.acting(audit.Actor("user", str(people["admin"]), ADMIN)), engine.begin() as conn:
        set_location_scale(conn, location, 11)
    sign_in(client, ADMIN)

    page = client.get("/admin/audit", params={"action": "location.scale", "target": f"location {location}"})
    refused = client.get("/admin/audit", params={"target": "location 3 4"})

    assert page.status_code == 200 and 'href="/admin/audit"' in page.text
    assert page.text.count('data-entry="') == 1 and "scale 5 -&gt; 11" in page.text and ADMIN in page.text
    assert "<code>5</code> → <code>11</code>" in page.text
    assert refused.status_code == 422 and "target:" in refused.text
