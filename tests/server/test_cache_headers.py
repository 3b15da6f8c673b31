"""Nothing with data stays in a browser's cache: after signing out, Back must not show a location's comments.

Every answer outside ``/static/`` carries ``Cache-Control: no-store``: pages, API answers, error pages, redirects.
Static files (CSS, scripts) may be cached.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from server.auth import accounts

PASSWORD = "correct horse battery"


@pytest.fixture
def signed_in(client: TestClient, engine, location: int) -> TestClient:
    """The client, signed in as an admin (with one location to look at)."""
    with engine.begin() as conn:
        accounts.add_user(conn, email="boss@example.com", password=PASSWORD, role="admin")
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert match
    signed = client.post(
        "/login",
        data={"email": "boss@example.com", "password": PASSWORD, "csrf_token": match.group(1)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    return client


SUMMARY = "start=2026-11-01&end=2026-11-02"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),  # overview page
        ("/locations/{location}", 200),  # a location page with its comments
        ("/fleet", 200),
        ("/admin", 200),
        ("/login", 200),
        ("/api/v1/locations", 200),  # API answers carry the same data
        (f"/api/v1/locations/{{location}}/summary?{SUMMARY}", 200),
        (f"/api/v1/export/taps?location_id={{location}}&{SUMMARY}&format=csv", 200),
        ("/healthz", 200),
        ("/locations/999999", 404),  # an error page
        ("/no-such-page", 404),
        (f"/api/v1/locations/999999/summary?{SUMMARY}", 404),  # an API error
    ],
)
def test_pages_api_answers_and_errors_are_never_stored_by_the_browser(signed_in, location, path, status):
    response = signed_in.get(path.format(location=location), follow_redirects=False)

    assert response.status_code == status
    assert response.headers["cache-control"] == "no-store"


def test_a_redirect_to_sign_in_is_not_stored_either(client, location):
    response = client.get(f"/locations/{location}", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["cache-control"] == "no-store"


def test_static_files_may_be_cached_while_the_page_using_them_may_not(client):
    static, page = client.get("/static/smilepost.css"), client.get("/login")

    assert static.status_code == page.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")
    assert page.headers["cache-control"] == "no-store"
    assert static.headers["x-content-type-options"] == "nosniff"  # the security headers still come along
