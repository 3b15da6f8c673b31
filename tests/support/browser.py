"""Chromium for the dashboard tests: Debian's ``/usr/bin/chromium`` driven by Playwright (Python).

Playwright's own browser downloads are never used: the tests launch the system Chromium by path. Without it
the browser tests are skipped locally and fail under ``CI`` (as the PostgreSQL tests do without PostgreSQL).
Screenshots land in ``test-output/dashboard/<name>.png``; README's images are copies of those
(``cp test-output/dashboard/*.png docs/screenshots/`` after ``make test``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Headless, no GPU, and nothing that phones home: the tests talk to 127.0.0.1 only.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "dashboard"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def require_chromium() -> None:
    """Skip the calling test without the system Chromium; fail instead under CI, which must run it."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing; CI must run the dashboard's browser tests, not skip them")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); the browser tests are skipped locally")


@contextmanager
def chromium() -> Iterator[Browser]:
    """The system Chromium, headless, closed afterwards."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(browser: Browser, url: str, email: str, password: str) -> dict[str, Any]:
    """Sign in through the form, as a person does; returns the context's storage state (its cookies).

    Raises AssertionError when the form does not lead to the overview.
    """
    context = browser.new_context(base_url=url)
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == f"{url}/", f"sign-in as {email} ended on {page.url}"
        state: dict[str, Any] = context.storage_state()  # type: ignore[assignment]
        return state
    finally:
        context.close()


def open_page(browser: Browser, url: str, state: dict[str, Any], viewport: dict[str, int] = DESKTOP) -> Page:
    """A new page in a context of its own, signed in with a storage state from :func:`sign_in`."""
    context = browser.new_context(base_url=url, storage_state=state, viewport=viewport)  # type: ignore[arg-type]
    return context.new_page()


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot at ``test-output/dashboard/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def horizontal_overflow(page: Page) -> tuple[int, list[str]]:
    """How many CSS pixels the document is wider than the viewport (0 or less: no sideways scrolling), and the
    outermost elements that stick out past its right edge (tag#id.class and width), to say what to fix."""
    overflow: int = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    culprits: list[str] = page.evaluate(
        """() => { const edge = document.documentElement.clientWidth + 1;
          const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement)
            if (getComputedStyle(a).overflowX !== 'visible') return a.getBoundingClientRect().right <= edge; };
          const out = [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > edge && !clipped(e));
          return out.filter(e => !out.includes(e.parentElement)).map(e =>
            `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().width)}px`); }"""
    )
    return overflow, culprits


def cookie(context: BrowserContext, name: str) -> dict[str, Any] | None:
    """The context's cookie of that name, or None."""
    return next((dict(c) for c in context.cookies() if c["name"] == name), None)
