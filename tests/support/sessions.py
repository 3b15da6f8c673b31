"""Signing in to the dashboard from a test client (FastAPI's TestClient or httpx): the sign-in form's
double-submit CSRF token, then the session's CSRF token for forms and ``X-CSRF-Token``."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


def login_token(client: TestClient) -> str:
    """The sign-in form's CSRF token (its cookie is set on the client)."""
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next_url: str = "/") -> httpx.Response:
    """Post the sign-in form; the answer (303 on success) is not followed."""
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": login_token(client), "next": next_url},
        follow_redirects=False,
    )


def form_token(client: TestClient, path: str = "/") -> str:
    """The signed-in session's CSRF token, read from a page's forms."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)
