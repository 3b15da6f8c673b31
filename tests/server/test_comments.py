"""Searching comments (#14, server.comments and ``/api/v1/comments``): each filter, combinations, paging with totals,
LIKE's ``%`` and ``_`` taken literally, a manager's locations only, and comments an admin hid from managers — never
shown to managers or read API keys, marked for admins, blank in non-admin exports. Every expected answer is
computed here from the taps the test sends (kiosk taps through the API, web taps as a touchpoint stores them).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server import Forbidden, InvalidInput, NotFound, comments
from server.alerts import listing, rules
from server.alerts.evaluate import evaluate
from server.analytics.summaries import Period
from server.auth import accounts, keys
from server.auth.accounts import Access
from server.db import alerts, audit_log, kiosks
from server.locations import configure_location, set_profanity_mask
from server.reports.data import build_report, scope_of
from shared.protocol import FollowUp, LocationConfig
from tests.support.channels import make_touchpoint, send_web, web_tap
from tests.support.sessions import PASSWORD, form_token, sign_in

OSLO = ZoneInfo("Europe/Oslo")
ADMIN = Access(user_id=None, email="admin", role="admin", location_ids=None)
DAY = date(2026, 11, 20)  # the first local date of the taps sent


@dataclass(frozen=True)
class Sent:
    """One tap as sent, and what a search should say of it."""

    id: str
    location: str  # "A" or "B"
    channel: str
    score: int
    reason: str | None
    text: str | None
    at: datetime

    @property
    def local_date(self) -> date:
        return self.at.astimezone(OSLO).date()


# location, channel, day (after DAY), hour (UTC), score, reason, comment
TAPS = [
    ("A", "kiosk", 0, 9, 1, "queue", "Far too slow queue"),
    ("A", "kiosk", 1, 9, 2, "staff", "100% rude_staff"),
    ("A", "kiosk", 1, 10, 5, None, "Great, fast!"),
    ("A", "kiosk", 2, 8, 4, None, "1000 rude staff"),
    ("A", "kiosk", 2, 9, 3, None, None),
    ("A", "kiosk", 2, 10, 1, "queue", "SLOW again"),
    ("A", "kiosk", 2, 11, 2, None, "50%_off? no, 50 percent"),
    ("B", "kiosk", 2, 9, 2, "queue", "slow at B"),
    ("A", "web", 1, 12, 1, "queue", "slow web"),
    ("A", "web", 2, 13, 4, None, "Nice staff"),
]


@dataclass
class Corpus:
    a: int
    b: int
    sent: list[Sent]

    def commented(self) -> list[Sent]:
        """The taps with a comment, newest first (as a search lists them)."""
        return sorted((s for s in self.sent if s.text), key=lambda s: (s.at, s.id), reverse=True)

    def location_id(self, sent: Sent) -> int:
        return self.a if sent.location == "A" else self.b


@pytest.fixture
def corpus(engine, location, make_location, enroll, send, tap) -> Corpus:
    """Location A (Oslo, reasons labelled in en and nb) with a kiosk and a web touchpoint, location B with a kiosk,
    and the taps of TAPS sent to them."""
    other = make_location(name="Bergen Gate 4")
    other_kiosk = enroll(other)
    with engine.begin() as conn:
        config = LocationConfig(
            followup=FollowUp(negative_reasons=["queue", "staff"]),
            texts={"en": {"reason.queue": "Waiting in line"}, "nb": {"reason.queue": "Kø"}},
        )
        configure_location(conn, location, config=config)
    touchpoint = make_touchpoint(engine, location)
    sent: list[Sent] = []
    kiosk_taps: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    for i, (where, channel, day, hour, score, reason, text) in enumerate(TAPS):
        at = datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=UTC) + timedelta(days=day)
        if channel == "web":
            body = web_tap(at, score, device=f"phone-{i}", followup=reason, comment=text)
            assert send_web(engine, location, touchpoint, [body]).accepted == 1
        else:
            body = tap(tapped_at=at.isoformat().replace("+00:00", "Z"), score=score, followup=reason, comment=text)
            kiosk_taps[where].append(body)
        sent.append(Sent(body["id"], where, channel, score, reason, text, at))
    assert send(kiosk_taps["A"]).json()["accepted"] == len(kiosk_taps["A"])
    assert send(kiosk_taps["B"], token=other_kiosk.token).json()["accepted"] == len(kiosk_taps["B"])
    return Corpus(location, other, sent)


def _search(engine, access: Access = ADMIN, **filters: Any) -> comments.CommentPage:
    with engine.connect() as conn:
        return comments.search(conn, access, **{"limit": 100, **filters})


def _ids(page: comments.CommentPage) -> list[str]:
    return [c.tap_id for c in page.comments]


def _hide(engine, tap_id: str, hidden: bool = True) -> bool:
    with engine.begin() as conn:
        return comments.hide_comment(conn, tap_id, hidden)


# typed -> which comments it finds
LITERALLY = [
    ("100%", lambda t: "100%" in t),  # not "1000 rude staff", as an unescaped % would
    ("rude_staff", lambda t: "rude_staff" in t),  # not "rude staff", as an unescaped _ would
    ("%", lambda t: "%" in t),
    ("_", lambda t: "_" in t),
    ("50%_", lambda t: "50%_" in t),
    ("\\", lambda t: "\\" in t),
]


# filters -> which sent taps (with a comment) match
CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("no filter", {}, lambda s: True),
    ("text ignores case", {"text": "SLOW"}, lambda s: "slow" in s.text.lower()),
    ("text inside words", {"text": "taff"}, lambda s: "taff" in s.text.lower()),
    ("start", {"start": DAY + timedelta(days=1)}, lambda s: s.local_date >= DAY + timedelta(days=1)),
    ("end inclusive", {"end": DAY + timedelta(days=1)}, lambda s: s.local_date <= DAY + timedelta(days=1)),
    ("one day", {"start": DAY, "end": DAY}, lambda s: s.local_date == DAY),
    ("one score", {"scores": [1]}, lambda s: s.score == 1),
    ("several scores", {"scores": [4, 5]}, lambda s: s.score in (4, 5)),
    ("reason", {"reason": "queue"}, lambda s: s.reason == "queue"),
    ("kiosk channel", {"channel": "kiosk"}, lambda s: s.channel == "kiosk"),
    ("web channel", {"channel": "web"}, lambda s: s.channel == "web"),
    ("text and score", {"text": "slow", "scores": [1]}, lambda s: "slow" in s.text.lower() and s.score == 1),
    (
        "reason, channel and dates",
        {"reason": "queue", "channel": "kiosk", "start": DAY + timedelta(days=2), "end": DAY + timedelta(days=2)},
        lambda s: s.reason == "queue" and s.channel == "kiosk" and s.local_date == DAY + timedelta(days=2),
    ),
    ("nothing matches", {"text": "slow", "scores": [5]}, lambda s: False),
]


def test_each_filter_and_combination_finds_exactly_the_matching_comments_newest_first(engine, corpus):
    """CASES, then locations, then LITERALLY (LIKE's % and _ are searched for as characters)."""
    for name, filters, matches in CASES:
        expected = [s.id for s in corpus.commented() if matches(s)]

        page = _search(engine, **filters)

        assert _ids(page) == expected, name
        assert page.total == len(expected), name
    only_b = _search(engine, location_ids=[corpus.b])
    both = _search(engine, location_ids=[corpus.a, corpus.b], text="slow")

    assert _ids(only_b) == [s.id for s in corpus.commented() if s.location == "B"]
    assert _ids(both) == [s.id for s in corpus.commented() if "slow" in s.text.lower()]
    for typed, meaning in LITERALLY:
        expected = [s.id for s in corpus.commented() if meaning(s.text)]

        assert _ids(_search(engine, text=typed)) == expected, typed
    assert _search(engine, text="y" * 200).total == 0  # the longest text searched for


def test_pages_follow_each_other_and_each_comment_says_where_when_and_what(engine, corpus, send, tap):
    everything = [s.id for s in corpus.commented()]
    pages = [_search(engine, limit=3, offset=offset) for offset in range(0, len(everything) + 3, 3)]

    assert [c for page in pages for c in _ids(page)] == everything
    assert {page.total for page in pages} == {len(everything)}
    assert [page.next_offset for page in pages] == [3, 6, None, None]
    assert _ids(pages[-1]) == []

    with engine.connect() as conn:
        found = comments.search(conn, ADMIN, languages=["nb"], limit=100).comments
        kiosk_names = dict(conn.execute(select(kiosks.c.location_id, kiosks.c.name)).all())
    by_id = {c.tap_id: c for c in found}

    for s in corpus.commented():
        c = by_id[s.id]
        assert (c.location_id, c.channel, c.score, c.scale, c.reason, c.text, c.hidden) == (
            corpus.location_id(s), s.channel, s.score, 5, s.reason, s.text, False
        )  # fmt: skip
        assert c.at == s.at and c.at.utcoffset() == s.at.astimezone(OSLO).utcoffset()
        assert c.location == ("Gardermoen Gate 12" if s.location == "A" else "Bergen Gate 4")
        assert c.source == ("Table tent" if s.channel == "web" else kiosk_names[c.location_id])
    labels = {(c.location_id, c.reason): c.reason_label for c in found if c.reason}
    assert labels[corpus.a, "queue"] == "Kø"  # the first language asked for that the location has
    assert labels[corpus.b, "queue"] == "Queue"  # no label set at B: the id made readable
    assert labels[corpus.a, "staff"] == "Staff"

    assert send([tap(score=1, comment="This is fucking slow")]).json()["accepted"] == 1
    with engine.begin() as conn:
        set_profanity_mask(conn, corpus.a, True)

    assert [c.text for c in _search(engine, text="is f").comments] == ["This is f****** slow"]  # masked as asked


def test_managers_search_their_locations_and_never_see_a_hidden_comment_that_admins_see_marked(engine, corpus):
    lead_b = Access(user_id=8, email="lead-b@example.com", role="manager", location_ids=frozenset({corpus.b}))

    assert _ids(_search(engine, lead_b)) == [s.id for s in corpus.commented() if s.location == "B"]
    with pytest.raises(Forbidden):
        _search(engine, lead_b, location_ids=[corpus.a])

    hidden = next(s for s in corpus.commented() if s.location == "A")
    manager = Access(user_id=7, email="lead@example.com", role="manager", location_ids=frozenset({corpus.a}))
    read_key = Access(user_id=None, email="API key", role="api", location_ids=None)
    assert _hide(engine, hidden.id) is True

    marked = _search(engine, location_ids=[corpus.a])
    left_out = _search(engine, location_ids=[corpus.a], include_hidden=False)
    managed = _search(engine, manager, include_hidden=True)
    read = _search(engine, read_key, location_ids=[corpus.a], include_hidden=True)

    visible = [s.id for s in corpus.commented() if s.location == "A"]
    assert _ids(marked) == visible and [c.tap_id for c in marked.comments if c.hidden] == [hidden.id]
    for page in (left_out, managed, read):
        assert _ids(page) == [i for i in visible if i != hidden.id] and page.total == len(visible) - 1

    assert _hide(engine, hidden.id, False) is True
    assert _ids(_search(engine, manager)) == visible


def test_hiding_is_recorded_without_the_comment_and_an_unknown_or_silent_tap_is_not_found(engine, corpus):
    target = corpus.commented()[0]

    assert _hide(engine, target.id) is True
    assert _hide(engine, target.id) is False  # already hidden: nothing changes, nothing recorded
    assert _hide(engine, target.id, False) is True

    with engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.target_kind == "tap").order_by(audit_log.c.id)).all()
    assert [(r.action, r.target_id) for r in rows] == [("comment.hide", target.id), ("comment.show", target.id)]
    assert all(target.text not in f"{r.summary}{r.before}{r.after}" for r in rows)
    silent = next(s for s in corpus.sent if s.text is None)

    for tap_id in (str(uuid.uuid4()), "not-a-uuid", silent.id):
        with pytest.raises(NotFound):
            _hide(engine, tap_id)


# filters -> the name the refusal gives
REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"text": "x" * 201}, "text"),
    ({"text": "a\x00b"}, "text"),
    ({"start": DAY, "end": DAY - timedelta(days=1)}, "start"),
    ({"scores": [11]}, "scores"),
    ({"scores": [-1]}, "scores"),
    ({"reason": "r" * 65}, "reason"),
    ({"reason": "a\x00"}, "reason"),
    ({"channel": "sms"}, "channel"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"offset": -1}, "offset"),
]


def test_filters_that_cannot_be_used_are_refused_by_name(engine):
    with engine.connect() as conn:
        for filters, named in REFUSED:
            with pytest.raises(InvalidInput, match=named):
                comments.search(conn, ADMIN, **filters)


# --- the API ----------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_key(engine) -> dict[str, str]:
    with engine.begin() as conn:
        return {"Authorization": f"Bearer {keys.create_api_key(conn, name='ops', scope='admin')}"}


@pytest.fixture
def read_key(engine) -> dict[str, str]:
    with engine.begin() as conn:
        return {"Authorization": f"Bearer {keys.create_api_key(conn, name='bi', scope='read')}"}


def _user(engine, email: str, role: str, *location_ids: int) -> None:
    with engine.begin() as conn:
        accounts.add_user(conn, email=email, password=PASSWORD, role=role, location_ids=list(location_ids))


def test_the_api_filters_and_pages_like_the_library(client, corpus, read_key):
    params = {"text": "slow", "score": [1, 2], "channel": "kiosk", "limit": 2}
    expected = [
        s for s in corpus.commented() if "slow" in s.text.lower() and s.score in (1, 2) and s.channel == "kiosk"
    ]

    first = client.get("/api/v1/comments", params=params, headers={**read_key, "Accept-Language": "nb"}).json()
    second = client.get("/api/v1/comments", params={**params, "offset": 2}, headers=read_key).json()

    assert [item["id"] for item in first["items"] + second["items"]] == [s.id for s in expected]
    assert (first["total"], first["next_offset"], second["next_offset"]) == (len(expected), 2, None)
    item = first["items"][0]
    assert (item["location_id"], item["score"], item["reason"], item["text"], item["hidden"]) == (
        corpus.location_id(expected[0]), expected[0].score, expected[0].reason, expected[0].text, False
    )  # fmt: skip
    assert datetime.fromisoformat(item["at"]) == expected[0].at
    day = DAY + timedelta(days=1)
    dated = client.get(
        "/api/v1/comments", params={"location_id": [corpus.a], "start": str(day), "end": str(day)}, headers=read_key
    ).json()
    assert [i["id"] for i in dated["items"]] == [
        s.id for s in corpus.commented() if s.location == "A" and s.local_date == day
    ]


# query -> the name a 422 gives
API_REFUSED = [
    ({"text": "x" * 201}, "text"),
    ({"score": "11"}, "score"),
    ({"score": "many"}, "score"),
    ({"start": "2026-13-01"}, "start"),
    ({"channel": "sms"}, "channel"),
    ({"limit": "101"}, "limit"),
    ({"location_id": "0"}, "location_id"),
    ({"start": "2026-11-21", "end": "2026-11-20"}, "start"),
]


def test_the_api_answers_422_naming_the_filter_and_401_without_credentials(client, read_key):
    for params, named in API_REFUSED:
        response = client.get("/api/v1/comments", params=params, headers=read_key)

        assert response.status_code == 422 and named in response.text, response.text
    assert client.get("/api/v1/comments").status_code == 401


def test_a_managers_session_sees_its_locations_and_never_hidden_comments(client, engine, corpus):
    _user(engine, "lead@example.com", "manager", corpus.a)
    hidden = corpus.commented()[1]
    assert hidden.location == "A"
    _hide(engine, hidden.id)
    assert sign_in(client, "lead@example.com").status_code == 303

    mine = client.get("/api/v1/comments", params={"include_hidden": "true", "limit": 100}).json()
    theirs = client.get("/api/v1/comments", params={"location_id": corpus.b})

    assert [i["id"] for i in mine["items"]] == [
        s.id for s in corpus.commented() if s.location == "A" and s.id != hidden.id
    ]
    assert theirs.status_code == 403


def test_only_admins_hide_and_show_comments_through_the_api(client, engine, corpus, admin_key, read_key):
    target = corpus.commented()[0]
    path = f"/api/v1/comments/{target.id}"

    refused = client.post(f"{path}/hide", headers=read_key)
    hidden = client.post(f"{path}/hide", headers=admin_key)
    again = client.post(f"{path}/hide", headers=admin_key)
    listed = client.get("/api/v1/comments", params={"limit": 100}, headers=admin_key).json()["items"]
    read = client.get("/api/v1/comments", params={"limit": 100}, headers=read_key).json()["items"]

    assert refused.status_code == 403
    assert hidden.json() == {"id": target.id, "hidden": True, "changed": True}
    assert again.json()["changed"] is False
    assert [i["hidden"] for i in listed if i["id"] == target.id] == [True]
    assert target.id not in {i["id"] for i in read}
    assert client.post(f"{path}/show", headers=admin_key).json() == {"id": target.id, "hidden": False, "changed": True}
    silent = next(s for s in corpus.sent if s.text is None)
    assert client.post(f"/api/v1/comments/{silent.id}/hide", headers=admin_key).status_code == 404
    assert client.post(f"/api/v1/comments/{uuid.uuid4()}/hide", headers=admin_key).status_code == 404
    assert client.post("/api/v1/comments/not-a-uuid/hide", headers=admin_key).status_code == 422


def test_an_admin_session_hides_with_its_csrf_token_and_a_manager_cannot(client, engine, corpus):
    _user(engine, "admin@example.com", "admin")
    _user(engine, "lead@example.com", "manager", corpus.a)
    path = f"/api/v1/comments/{corpus.commented()[0].id}/hide"
    assert sign_in(client, "lead@example.com").status_code == 303
    manager = client.post(path, headers={"X-CSRF-Token": form_token(client)})
    client.cookies.clear()
    assert sign_in(client, "admin@example.com").status_code == 303

    without = client.post(path)
    wrong = client.post(path, headers={"X-CSRF-Token": "guess"})
    right = client.post(path, headers={"X-CSRF-Token": form_token(client)})

    assert (manager.status_code, without.status_code, wrong.status_code, right.status_code) == (403, 403, 403, 200)


# --- exports and pages -------------------------------------------------------------------------------------------


def test_hidden_comments_stay_in_admin_exports_and_are_blank_for_everyone_else(
    client, engine, corpus, admin_key, read_key
):
    hidden = corpus.commented()[0]
    assert hidden.location == "A"
    _hide(engine, hidden.id)
    _user(engine, "lead@example.com", "manager", corpus.a)
    _user(engine, "admin@example.com", "admin")
    params = {"location_id": corpus.a, "start": str(DAY), "end": str(DAY + timedelta(days=3))}
    expected = {s.id: s.text for s in corpus.sent if s.location == "A"}

    def exported(headers: dict[str, str] | None = None) -> dict[str, Any]:
        items = client.get("/api/v1/export/taps", params=params, headers=headers or {}).json()["items"]
        return {item["id"]: item["comment"] for item in items}

    as_admin_key, as_read_key = exported(admin_key), exported(read_key)
    csv = client.get("/api/v1/export/taps", params={**params, "format": "csv"}, headers=read_key).text
    assert sign_in(client, "lead@example.com").status_code == 303
    as_manager = exported()
    client.cookies.clear()
    assert sign_in(client, "admin@example.com").status_code == 303
    as_admin = exported()

    assert as_admin_key == as_admin == expected
    assert as_read_key == as_manager == {**expected, hidden.id: None}
    assert hidden.text not in csv


def test_the_location_page_and_reports_leave_hidden_comments_out_for_managers(client, engine, corpus):
    _user(engine, "lead@example.com", "manager", corpus.a)
    _user(engine, "admin@example.com", "admin")
    hidden = next(s for s in corpus.commented() if s.location == "A" and s.channel == "kiosk")
    _hide(engine, hidden.id)
    path = f"/locations/{corpus.a}?range=custom&start={DAY}&last={DAY + timedelta(days=3)}"

    assert sign_in(client, "lead@example.com").status_code == 303
    managers = client.get(path).text
    client.cookies.clear()
    assert sign_in(client, "admin@example.com").status_code == 303
    admins = client.get(path).text

    assert hidden.text not in managers and "hidden from managers" not in managers
    assert hidden.text in admins and "hidden from managers" in admins
    with engine.connect() as conn:  # reports are mailed and forwarded: no hidden comment in any
        report = build_report(conn, scope_of(conn, location_id=corpus.a), "week", Period(DAY, DAY + timedelta(days=7)))
    assert [c.text for c in report.comments] == [
        s.text for s in corpus.commented() if s.location == "A" and s.id != hidden.id
    ]


def test_an_alert_page_shows_a_hidden_comment_to_admins_only(engine, location, send, tap):
    at = (datetime.now(UTC) - timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    sad = [tap(score=1, tapped_at=at, comment=f"Slow lane {i}") for i in range(5)]
    assert send(sad).json()["accepted"] == len(sad)
    _hide(engine, sad[0]["id"])
    with engine.begin() as conn:
        rules.add_rule(conn, location_id=location, metric="negative", above=40, window="30m", min_responses=5,
                       notify=["email:lead@example.com"], created_by="test")  # fmt: skip
    assert len(evaluate(engine, now=datetime.now(UTC)).opened) == 1
    manager = Access(user_id=7, email="lead@example.com", role="manager", location_ids=frozenset({location}))

    with engine.connect() as conn:
        alert_id = conn.execute(select(alerts.c.id)).scalar_one()
        for_admin = listing.alert_detail(conn, alert_id, ADMIN)
        for_manager = listing.alert_detail(conn, alert_id, manager)

    assert {c.comment for c in for_admin.comments} == {t["comment"] for t in sad}
    assert {c.comment for c in for_manager.comments} == {t["comment"] for t in sad[1:]}
    assert {t.id: t.comment for t in for_manager.taps}[sad[0]["id"]] is None  # the window's taps: text left out


def test_the_comments_page_filters_pages_and_lets_an_admin_hide(client, engine, corpus):
    _user(engine, "admin@example.com", "admin")
    assert sign_in(client, "admin@example.com").status_code == 303
    slow = [s for s in corpus.commented() if "slow" in s.text.lower()]

    empty = {"start": "", "end": "", "reason": "", "channel": "", "location_id": ""}  # a form's empty fields
    page = client.get("/comments", params={"text": "slow", **empty}).text
    bad = client.get("/comments", params={"start": str(DAY), "end": str(DAY - timedelta(days=1))})

    assert all(f'data-tap="{s.id}"' in page for s in slow) and page.count("data-tap=") == len(slow)
    assert f"1–{len(slow)} of {len(slow)}" in page
    not_a_date = client.get("/comments", params={"start": "20.11.2026"})
    assert bad.status_code == not_a_date.status_code == 422
    assert 'id="comment-error"' in bad.text and "start" in not_a_date.text
    posted = client.post(
        f"/comments/{slow[0].id}/hide",
        data={"csrf_token": form_token(client, "/comments"), "back": "text=slow&offset=0"},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and posted.headers["location"] == "/comments?text=slow&offset=0"
    after = client.get("/comments", params={"text": "slow"}).text
    assert 'data-hidden="true"' in after and "Show to managers" in after
    refused = client.post(f"/comments/{slow[1].id}/hide", data={"back": ""}, follow_redirects=False)
    assert refused.status_code == 403
