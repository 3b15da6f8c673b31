"""Dashboard pages and the export API over HTTP (TestClient): sign-in, sessions, CSRF, who sees what, admin forms.

The same flows in a real Chromium against a real uvicorn are in tests/e2e/test_dashboard.py.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.auth import accounts
from server.db import groups
from server.settings import Settings
from server.web.pages import overview as overview_page
from tests.support.sessions import PASSWORD, form_token, sign_in
from tests.support.sites import airport


@pytest.fixture
def site(engine, make_location, enroll):
    """Two Oslo Airport locations (a group) and a New York shop, a kiosk at each, an admin and a group manager."""
    a, b, shop, group = astuple(airport(engine, make_location))
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
        accounts.add_user(conn, email="mgr@example.com", password=PASSWORD, role="manager", group_ids=[group])
    return {"a": a, "b": b, "shop": shop, "group": group, "kiosks": {i: enroll(i) for i in (a, b, shop)}}


def send_today(client: TestClient, token: str, timezone: str, scores: list[int], **fields: object) -> None:
    noon = datetime.now(ZoneInfo(timezone)).replace(hour=12, minute=0, second=0, microsecond=0)
    taps = [
        {"id": str(uuid.uuid4()), "seq": i + 1, "question_id": "main",
         "score": s, "scale": 5, "tapped_at": noon.astimezone(UTC).isoformat(), "mono_ns": i, "boot_id": "b",
         "followup": None, "comment": None, "flags": [], **fields}
        for i, s in enumerate(scores)
    ]  # fmt: skip
    body = {"sent_at": datetime.now(UTC).isoformat(), "boot_id": "b2", "mono_ns": 10**12, "taps": taps}
    response = client.post("/api/v1/taps", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.json()["accepted"] == len(scores), response.text


def test_pages_send_a_visitor_without_a_session_to_sign_in_and_back(client, site):
    response = client.get(f"/locations/{site['a']}?range=7d", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/locations/{site['a']}%3Frange%3D7d"
    signed = sign_in(client, "admin@example.com", next_url=f"/locations/{site['a']}?range=7d")
    assert signed.headers["location"] == f"/locations/{site['a']}?range=7d"


@pytest.mark.parametrize(
    "next_url", ["//evil.example/", "https://evil.example/", "javascript:alert(1)", "/\\evil.example/"]
)
def test_sign_in_never_redirects_to_another_site(client, site, next_url):
    assert sign_in(client, "admin@example.com", next_url=next_url).headers["location"] == "/"


def test_sign_in_sets_an_httponly_samesite_session_cookie_and_sign_out_ends_it(client, site):
    response = sign_in(client, "mgr@example.com")

    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("smilepost_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    token = client.cookies["smilepost_session"]
    assert client.get("/").status_code == 200
    out = client.post("/logout", data={"csrf_token": form_token(client)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    client.cookies.set("smilepost_session", token)  # an old copy of the cookie no longer works anywhere
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_wrong_password_or_unknown_email_gets_one_answer_and_no_session(client, site):
    wrong = sign_in(client, "mgr@example.com", "wrong password!")
    unknown = sign_in(client, "nobody@example.com")

    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text
    assert "smilepost_session" not in client.cookies


def test_the_sign_in_form_is_refused_without_its_csrf_cookie(client, site):
    response = client.post("/login", data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": "x"})

    assert response.status_code == 403
    assert "smilepost_session" not in client.cookies


def test_sign_in_attempts_are_rate_limited_per_address(tmp_path, database_url, site):
    from server.app import create_app

    app = create_app(Settings(data_dir=tmp_path, database_url=database_url, login_rate_limit=3))
    with TestClient(app) as client:
        codes = [sign_in(client, "mgr@example.com", "wrong password!").status_code for _ in range(4)]
    app.state.engine.dispose()
    assert codes == [401, 401, 401, 429]


def test_a_manager_sees_only_their_locations_on_pages_and_in_the_api(client, site):
    sign_in(client, "mgr@example.com")
    a, shop = site["a"], site["shop"]
    today = datetime.now(UTC).date()
    dates = {"start": str(today - timedelta(days=2)), "end": str(today + timedelta(days=2))}

    overview = client.get("/").text
    assert "Security A" in overview and "Security B" in overview and "Shop" not in overview
    assert client.get(f"/locations/{a}").status_code == 200
    denied = client.get(f"/locations/{shop}")
    assert denied.status_code == 403 and "no access to location" in denied.text
    assert client.get("/admin").status_code == 403
    assert [loc["id"] for loc in client.get("/api/v1/locations").json()] == [a, site["b"]]
    assert client.get(f"/api/v1/locations/{shop}/summary", params=dates).status_code == 403
    assert client.get("/api/v1/export/taps", params={"location_id": shop, **dates}).status_code == 403
    assert client.get("/api/v1/export/summaries", params={"location_id": shop, **dates}).status_code == 403
    assert {k["location_id"] for k in client.get("/api/v1/kiosks").json()} == {a, site["b"]}
    assert "Shop" not in client.get("/fleet").text


def test_the_read_api_still_needs_a_key_or_a_session(client, site):
    assert client.get("/api/v1/locations").status_code == 401
    assert client.get("/api/v1/kiosks").status_code == 401


def test_a_form_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(client, engine, site):
    sign_in(client, "admin@example.com")

    missing = client.post("/admin/groups", data={"name": "Sneaky"})
    wrong = client.post("/admin/groups", data={"name": "Sneaky", "csrf_token": "guess"})
    logout = client.post("/logout", follow_redirects=False)

    assert missing.status_code == wrong.status_code == logout.status_code == 403
    assert "CSRF" in missing.text
    with engine.connect() as conn:
        assert conn.execute(select(groups.c.name)).scalars().all() == ["Oslo Airport"]
    ok = client.post("/admin/groups", data={"name": "Sneaky", "csrf_token": form_token(client)}, follow_redirects=False)
    assert ok.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in


def test_admin_settings_reach_the_kiosk_through_its_config_endpoint(client, site):
    sign_in(client, "admin@example.com")
    kiosk = site["kiosks"][site["a"]]
    headers = {"Authorization": f"Bearer {kiosk.token}"}
    before = client.get("/api/v1/kiosk/config", headers=headers)
    form = {
        "csrf_token": form_token(client, f"/admin/locations/{site['a']}"), "scale": "4",
        "languages": "en nb", "default_language": "nb", "question.en": "How was security?",
        "question.nb": "Hvordan var sikkerhetskontrollen?", "thanks.nb": "Takk!",
        "negative_reasons": "queue: Ventetid\nstaff: Personalet", "positive_reasons": "fast: Raskt",
        "thank_you_seconds": "4.5", "repeat_press_seconds": "8", "opening_hours": "mon 06:00-22:00\nsat 08:00-12:00",
    }  # fmt: skip

    saved = client.post(f"/admin/locations/{site['a']}/config", data=form, follow_redirects=False)

    assert saved.status_code == 303
    after = client.get("/api/v1/kiosk/config", headers=headers)
    config = after.json()
    assert after.headers["etag"] != before.headers["etag"]
    assert config["scale"] == 4 and config["default_language"] == "nb"
    assert config["texts"]["nb"]["question"] == "Hvordan var sikkerhetskontrollen?"
    assert config["texts"]["en"]["question"] == "How was security?"
    assert config["texts"]["nb"]["reason.queue"] == "Ventetid"
    assert config["followup"]["negative_reasons"] == ["queue", "staff"]
    assert config["followup"]["positive_reasons"] == ["fast"]
    assert (config["thank_you_seconds"], config["repeat_press_seconds"]) == (4.5, 8.0)
    assert config["opening_hours"] == {"mon": [["06:00", "22:00"]], "sat": [["08:00", "12:00"]]}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("opening_hours", "monday 8-20", "should look like"),
        ("thank_you_seconds", "soon", "expected a number of seconds"),
        ("thank_you_seconds", "999", "thank_you_seconds"),
        ("negative_reasons", "Bad Reason: x", "negative_reasons"),
        ("scale", "7", "scale must be one of 3, 4, 5, 11"),
    ],
)
def test_a_setting_that_cannot_be_used_is_shown_back_and_nothing_is_saved(client, site, field, value, message):
    sign_in(client, "admin@example.com")
    kiosk = site["kiosks"][site["a"]]
    before = client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {kiosk.token}"}).json()
    form = {"csrf_token": form_token(client, f"/admin/locations/{site['a']}"), "scale": "5", "languages": "en",
            "default_language": "en", "thank_you_seconds": "3", "repeat_press_seconds": "5", field: value}  # fmt: skip

    response = client.post(f"/admin/locations/{site['a']}/config", data=form)

    assert response.status_code == 422
    assert message in response.text
    assert value in response.text or field == "scale"  # the typed value is kept in the form
    after = client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {kiosk.token}"}).json()
    assert after == before


def test_admin_pages_create_locations_pair_codes_and_revoke_kiosks(client, site):
    sign_in(client, "admin@example.com")
    token = form_token(client, "/admin")
    created = client.post("/admin/locations", data={"csrf_token": token, "name": "Gate C", "timezone": "Asia/Tokyo",
                                                    "scale": "3", "group_id": str(site["group"])},
                          follow_redirects=False)  # fmt: skip
    bad = client.post("/admin/locations", data={"csrf_token": token, "name": "X", "timezone": "Mars/Base"})
    coded = client.post(f"/admin/locations/{site['a']}/pair-code", data={"csrf_token": token, "kiosk_name": "Lane 9"})
    kiosk = site["kiosks"][site["a"]]
    revoked = client.post(f"/admin/kiosks/{kiosk.kiosk_id}/revoke", data={"csrf_token": token}, follow_redirects=False)

    assert created.status_code == 303 and created.headers["location"].startswith("/admin/locations/")
    assert "Gate C" in client.get("/admin").text
    assert bad.status_code == 422 and "unknown time zone" in bad.text
    code = re.search(r'id="pair-code">(\d{8})<', coded.text)
    assert code, coded.text
    paired = client.post("/api/v1/pair", json={"code": code.group(1)})
    assert paired.status_code == 200
    config = client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {paired.json()['token']}"}).json()
    assert config["location_id"] == site["a"]
    assert "Lane 9" in client.get(f"/admin/locations/{site['a']}").text
    assert revoked.status_code == 303
    assert client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {kiosk.token}"}).status_code == 401


def test_pages_carry_security_headers(client, site):
    response = client.get("/login")

    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_location_page_shows_the_numbers_and_escapes_comments(client, site):
    sign_in(client, "admin@example.com")
    send_today(client, site["kiosks"][site["a"]].token, "Europe/Oslo", [5, 5, 4, 1])
    send_today(client, site["kiosks"][site["b"]].token, "Europe/Oslo", [2], comment="<script>alert(1)</script>")

    page = client.get(f"/locations/{site['a']}?range=today").text
    other = client.get(f"/locations/{site['b']}?range=today").text

    # (1 + 1 + 0.75 + 0) / 4 = 68.75 -> "68.8"; CSAT 3/4 = 75 %; negative 1/4 = 25 %.
    assert '<p class="big">68.8</p>' in page
    assert "75.0 %" in page and "25.0 %" in page
    assert 'id="few-responses"' in page  # 4 responses
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in other and "<script>alert(1)" not in other


def test_export_pages_through_all_taps_as_json_and_csv(client, site, api_key):
    send_today(client, site["kiosks"][site["a"]].token, "Europe/Oslo", [1, 2, 3, 4, 5] * 5)
    today = datetime.now(ZoneInfo("Europe/Oslo")).date()
    params = {"location_id": site["a"], "start": str(today), "end": str(today + timedelta(days=1)), "limit": 10}
    headers = {"Authorization": f"Bearer {api_key}"}

    pages, offset = [], 0
    while offset is not None:
        body = client.get("/api/v1/export/taps", params={**params, "offset": offset}, headers=headers).json()
        pages.append(body["items"])
        offset = body["next_offset"]
    as_csv = client.get("/api/v1/export/taps", params={**params, "limit": 100, "format": "csv"}, headers=headers)
    too_big = client.get("/api/v1/export/taps", params={**params, "limit": 10_001}, headers=headers)

    assert [len(p) for p in pages] == [10, 10, 5]
    ids = [tap["id"] for page in pages for tap in page]
    assert len(set(ids)) == 25
    assert sorted(tap["score"] for page in pages for tap in page) == sorted([1, 2, 3, 4, 5] * 5)
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert as_csv.headers["content-type"].startswith("text/csv") and "x-next-offset" not in as_csv.headers
    assert {row["id"] for row in rows} == set(ids)
    assert rows[0]["local_date"] == str(today) and "T" in rows[0]["tapped_at"]
    assert too_big.status_code == 422 and "limit" in too_big.json()["message"]


def test_export_of_daily_summaries_has_one_row_per_local_date(client, site, api_key):
    send_today(client, site["kiosks"][site["a"]].token, "Europe/Oslo", [5, 4, 1])
    today = datetime.now(ZoneInfo("Europe/Oslo")).date()
    params = {"location_id": site["a"], "start": str(today - timedelta(days=2)), "end": str(today + timedelta(days=1))}

    body = client.get("/api/v1/export/summaries", params=params, headers={"Authorization": f"Bearer {api_key}"}).json()

    assert [row["local_date"] for row in body["items"]] == [str(today - timedelta(days=d)) for d in (2, 1, 0)]
    last = body["items"][-1]
    assert (last["responses"], last["score_5"], last["score_4"], last["score_1"]) == (3, 1, 1, 1)
    assert last["happy_index"] == pytest.approx(100 * 1.75 / 3)
    assert body["items"][0]["responses"] == 0 and body["items"][0]["happy_index"] is None


def test_nothing_is_served_from_a_cdn(client, site):
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200
    sign_in(client, "admin@example.com")
    page = client.get(f"/locations/{site['a']}").text
    assert re.findall(r'src="([^"]+)"', page) == ["/static/vendor/chart.umd.min.js", "/static/smilepost.js"]
    assert client.get("/static/vendor/chart.umd.min.js").status_code == 200


def test_the_overview_pages_its_locations_in_the_order_picked_ranking_them_all(client, site, monkeypatch):
    monkeypatch.setattr(overview_page, "PAGE_SIZE", 2)
    for key, scores in (("a", [5, 5]), ("b", [1, 1]), ("shop", [5, 1])):  # index 100, 0, 50
        send_today(client, site["kiosks"][site[key]].token, "America/New_York" if key == "shop" else "Europe/Oslo",
                   scores)  # fmt: skip
    assert sign_in(client, "admin@example.com").status_code == 303

    first = client.get("/?range=7d&sort=index&desc=true").text
    second = client.get("/?range=7d&sort=index&desc=true&page=2").text
    beyond = client.get("/?range=7d&sort=index&desc=true&page=9").text

    def shown(html: str) -> list[int]:
        return [int(n) for n in re.findall(r'<tr data-location="(\d+)">', html)]

    assert shown(first) == [site["a"], site["shop"]] and shown(second) == [site["b"]] and shown(beyond) == [site["b"]]
    assert "3 locations" in first and "Locations 1–2 of 3" in first and "Locations 3–3 of 3" in second
    assert 'rel="next" href="?range=7d&amp;sort=index&amp;desc=true&amp;page=2"' in first
    assert re.search(r'<td class="num rank">3</td>', second)  # ranked among all three, not within its page
    assert second.count('class="spark"') == 1  # a trend line for each location shown
    assert client.get("/?range=7d&page=0").status_code == 422
