"""Every dashboard page in a pseudo-locale, in Chromium (issue #14): the server gets a test-only language, ``en-XA``,
whose translation of each marked message is the message in ``⟦…⟧`` (tests/support/i18n.py). One browser walks every
page of a seeded chain, signed in as an admin, and reads each visible text node and the text of ``title``,
``placeholder``, ``aria-label`` and ``data-confirm``: every letter must be inside ``⟦…⟧``, but for the data the
pages show (names, e-mail addresses, time zones, weekdays and the like, listed in :data:`DATA`). A word outside is a
string that bypasses translation. Then the same walk in Norwegian and German finds no ``⟦``.

The server is a real uvicorn on 127.0.0.1 in this process (a thread), so that the test can give it the
pseudo-locale; the taps reach it over HTTP like a kiosk's.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, select

from server.alerts import rules
from server.alerts.evaluate import evaluate
from server.alerts.subscriptions import subscribe_alerts
from server.app import create_app
from server.auth import accounts, kiosk_tokens
from server.db import alerts
from server.locations import add_location
from server.settings import Settings
from server.touchpoints import add_touchpoint
from server.web import i18n
from tests.support.browser import DESKTOP, sign_in
from tests.support.i18n import CLOSE, OPEN, PSEUDO, pseudo
from tests.support.live import free_port
from tests.support.receivers import wait_until
from tests.support.sessions import PASSWORD

pytestmark = pytest.mark.e2e

ADMIN = "admin@example.com"
BATCH_MONO_NS = 10_000_000_000_000
# The data the seeded pages show: names the test gave, and what Smilepost shows as it is in every language (its
# name, time-zone names, JSON as a format, each language's own name in the language picker, a window's syntax).
# Elements marked translate="no" (identifiers such as a rule's metric, as the CLI and API write them) are left out.
NAMES = ["Security A", "Shop", "Oslo Airport", "Lane 1", "Lane 2", "Gate kiosk", "Table 9", ADMIN, "lane@example.com"]
DATA = [
    *NAMES, "Smilepost", "Europe/Oslo", "America/New_York", "UTC", "CET", "CEST", "EST", "JSON", "15m–24h", "30m",
    "lead@example.com", "email:lead@example.com", "English", "Norsk bokmål", "Deutsch",
]  # fmt: skip
WEEKDAYS = ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."]  # the pseudo-locale writes dates and days as German
PATTERNS = [
    re.compile(r"https?://\S+"),  # a touchpoint's address
    re.compile(r"\b[0-9a-f]{16}\b"),  # a kiosk id
    re.compile(r"(?<![^\W\d_])(?:n|s)(?![^\W\d_])"),  # n and s: units of statistics and time
]
LETTER = re.compile(r"[^\W\d_]")
INNERMOST = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")  # a translation, or the innermost of nested ones

# Text nodes and attributes of a page, but for <script>, <style>, <code> (commands and syntax, as typed), <q>
# (customers' comments) and the audit trail's rows (records as they were stored); hidden elements (display: none)
# left out.
TEXTS = """() => {
  const out = [document.title];
  const skip = e => e.closest('script, style, code, q, noscript, [translate="no"], #audit tbody');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const e = node.parentElement, text = node.textContent.trim();
    if (text && e && !skip(e) && (e.tagName === 'OPTION' || e.checkVisibility())) out.push(text);
  }
  for (const e of document.querySelectorAll('[title], [placeholder], [aria-label], [data-confirm]'))
    for (const name of ['title', 'placeholder', 'aria-label', 'data-confirm'])
      if (e.hasAttribute(name) && !skip(e) && e.getAttribute(name).trim()) out.push(e.getAttribute(name).trim());
  return out;
}"""


def untranslated(text: str) -> str:
    """What of a page's text is left when the translated parts and the data are taken out: '' when all is well."""
    rest = text
    for data in sorted([*DATA, *WEEKDAYS], key=len, reverse=True):
        rest = rest.replace(data, " ")
    for pattern in PATTERNS:
        rest = pattern.sub(" ", rest)
    while (inner := INNERMOST.sub(" ", rest)) != rest:  # "⟦5 ⟦min⟧ ago⟧": a translation with translated values
        rest = inner
    return rest.strip() if LETTER.search(rest) else ""


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real server in this process with the pseudo-locale, on a SQLite chain: two locations (one in a group)
    with kiosks and taps, an open alert, a rule, a web touchpoint, an admin and a manager with a subscription."""
    data_dir = tmp_path_factory.mktemp("languages")
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{Path(data_dir) / 'smilepost.db'}",
                        kiosk_rate_limit=0, background=False)  # fmt: skip
    app = create_app(settings)
    engine: Engine = app.state.engine
    ids = seed(engine)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), timeout=20, what="the server started")
    assert server.started, "the server did not start"
    url = f"http://127.0.0.1:{port}"
    send_taps(url, ids)
    assert len(evaluate(engine).opened) == 1
    with engine.connect() as conn:
        ids["alert"] = conn.execute(select(alerts.c.id)).scalar_one()
    i18n.EXTRA[PSEUDO] = pseudo()
    try:
        yield {"url": url, **ids}
    finally:
        i18n.EXTRA.pop(PSEUDO, None)
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def seed(engine: Engine) -> dict[str, Any]:
    from server import groups

    with engine.begin() as conn:
        a = add_location(conn, name="Security A", timezone="Europe/Oslo")
        shop = add_location(conn, name="Shop", timezone="America/New_York")
        group = groups.add_group(conn, name="Oslo Airport")
        groups.add_location(conn, group, a)
        kiosks = [kiosk_tokens.enroll_kiosk(conn, location_id=a, name="Lane 1"),
                  kiosk_tokens.enroll_kiosk(conn, location_id=a, name="Lane 2"),
                  kiosk_tokens.enroll_kiosk(conn, location_id=shop, name="Gate kiosk")]  # fmt: skip
        accounts.add_user(conn, email=ADMIN, password=PASSWORD, role="admin")
        manager = accounts.add_user(conn, email="lane@example.com", password=PASSWORD, role="manager",
                                    group_ids=[group])  # fmt: skip
        rules.add_rule(conn, location_id=a, metric="negative", above=40, window="30m", min_responses=5,
                       notify=["email:lead@example.com"], created_by=ADMIN)  # fmt: skip
        add_touchpoint(conn, location_id=shop, name="Table 9")
        subscribe_alerts(conn, user_id=manager, group_id=group)
    return {"a": a, "shop": shop, "tokens": [k.token for k in kiosks]}


def send_taps(url: str, ids: dict[str, Any]) -> None:
    """Sad and happy taps a minute apart in the last half hour at each kiosk (enough to open the rule's alert)."""
    now = datetime.now(UTC)
    for token in ids["tokens"]:
        taps = []
        for i, score in enumerate([1, 1, 2, 5, 1, 4, 1, 3, 1, 5]):
            ago = timedelta(minutes=25 - i)
            taps.append({
                "id": str(uuid.uuid4()), "seq": i + 1, "question_id": "main", "scale": 5, "score": score,
                "tapped_at": (now - ago).isoformat().replace("+00:00", "Z"),
                "mono_ns": BATCH_MONO_NS - int(ago.total_seconds() * 1e9), "boot_id": "boot-a", "followup": None,
                "comment": None, "flags": [],
            })  # fmt: skip
        body = {"sent_at": now.isoformat().replace("+00:00", "Z"), "boot_id": "boot-a", "mono_ns": BATCH_MONO_NS,
                "taps": taps}  # fmt: skip
        answer = httpx.post(f"{url}/api/v1/taps", json=body, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()["accepted"] == 10, answer.text


def pages(chain: dict[str, Any]) -> list[str]:
    a, alert = chain["a"], chain["alert"]
    return [
        "/", f"/locations/{a}", f"/locations/{a}?what_if=10", "/fleet", "/alerts", "/alerts?state=closed",
        f"/alerts/{alert}", "/subscriptions", "/account", "/admin", f"/admin/locations/{a}", "/admin/touchpoints",
        "/admin/alert-rules", "/admin/notifications", "/admin/users", "/admin/audit", "/comments", "/no-such-page",
    ]  # fmt: skip


def texts(page: Page, path: str) -> list[str]:
    answer = page.goto(path)
    assert answer is not None and answer.status in (200, 404), f"{path}: {answer and answer.status}"
    found: list[str] = page.evaluate(TEXTS)
    return found


def walk(browser: Browser, chain: dict[str, Any], language: str) -> dict[str, list[str]]:
    """Every page's texts in ``language`` (Accept-Language), the sign-in page first: {path: texts}."""
    headers = {"Accept-Language": language}
    seen: dict[str, list[str]] = {}
    signed_out = browser.new_context(base_url=chain["url"], extra_http_headers=headers)
    seen["/login"] = texts(signed_out.new_page(), "/login")
    signed_out.close()
    state = sign_in(browser, chain["url"], ADMIN, PASSWORD)
    context = browser.new_context(base_url=chain["url"], storage_state=state, viewport=DESKTOP,  # type: ignore[arg-type]
                                  extra_http_headers=headers)  # fmt: skip
    page = context.new_page()
    try:
        for path in pages(chain):
            seen[path] = texts(page, path)
    finally:
        context.close()
    return seen


def test_every_word_on_every_page_goes_through_the_catalogues(browser, chain):
    seen = walk(browser, chain, PSEUDO)
    bypassing = {path: sorted({left for text in found if (left := untranslated(text))}) for path, found in seen.items()}
    assert {path: left for path, left in bypassing.items() if left} == {}
    assert all(any(OPEN in text for text in found) for found in seen.values())  # the pseudo-locale was in use


@pytest.mark.parametrize("language", ["nb", "de"])
def test_no_page_shows_an_untranslated_message_in_norwegian_or_german(browser, chain, language):
    seen = walk(browser, chain, language)
    assert not {path for path, found in seen.items() if any(OPEN in text for text in found)}
    overview = " ".join(seen["/"])
    assert {"nb": "Oversikt", "de": "Übersicht"}[language] in overview
