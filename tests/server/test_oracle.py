"""The independent oracle (issue 10): every number of the summary API, the location page and the overview, checked
against figures this module computes itself from the raw taps it sent — not from rollups and not through the
server's code (nothing here imports ``shared.scores``, ``shared.texts``, ``server.summaries``, ``server.ingest`` or
``server.schemas``). It runs on SQLite and on PostgreSQL (the ``database_url`` fixture is parametrized).

The dataset (:func:`dataset`, one list of :class:`Press` with each press's true moment) and why each part is there:

- **Oslo Security** (Europe/Oslo), two kiosks, 5 faces until 5 Nov 2026 and 4 faces from then on (the location's
  scale is changed mid-period, so ``counts`` follow the current scale while the index, CSAT and negative share pool
  both scales, each tap by its own). Presses around both 2026 DST changes: on 29 Mar 02:00 → 03:00 (there is no
  local hour 2) and on 25 Oct 03:00 → 02:00 (local hour 2 happens twice: taps in both), and on 26 Oct 2025 too,
  so that ``compare=year`` has something to compare with. Follow-up reasons whose negative and positive lists share
  ids (seating, food) plus a neutral pick (score 3 with a reason); labels in nb (the default), en and de, one only
  in en, two with none (the readable id is shown). Repeat presses (flag ``repeat``, 1–4 s after a press of the same
  kiosk), a chain of presses 3, 8, 30 and 20 s apart for the what-if replay (30 s exactly is *not* a repeat under
  a 30 s interval), one stored repeat carrying a reason (a replay that counts it must drop the reason: a repeat was
  never asked why), a press 15 s after midnight whose predecessor is on the day before a what-if range, comments.
- **New York Shop** (America/New_York), 3 faces, one kiosk: 8 Mar 2026 (no local hour 2) and 1 Nov 2026 (local
  hour 1 twice), taps near local midnight, 28 Feb – 1 Mar 2024 (a leap year: 29 Feb has no counterpart a year
  later), reasons without any configured label.
- **Kathmandu Gate** (Asia/Kathmandu, UTC+05:45), an NPS (0–10) location: 18:10 UTC is 23:55 local, 18:20 UTC is
  00:05 the next day, 10:00 UTC is 15:45 (hour 15); a reason id shared by the neutral and positive sides, labels
  in en and ne. It is never ranked and its headline is its NPS.
- **Adelaide Pop-up** (Australia/Adelaide, UTC+10:30 in October), 5 faces, three happy presses: with only two in
  the overview's range its raw index is the highest, but shrinking toward the overall index (weight 20) ranks it
  below New York — with two face locations shrinking can never change the order, so a third one is needed to see
  the weight at all.
- **Clock-corrected taps**: batches from a kiosk whose clock is 400 days behind. With the tap's ``boot_id`` equal to
  the batch's the server must use ``receive − (batch mono_ns − tap mono_ns)``; with another ``boot_id``,
  ``tapped_at + (receive − sent_at)``. ``mono_ns`` and ``tapped_at`` are chosen so that the corrected time lands on
  an intended moment (never near a whole hour, so request latency cannot move it across one), e.g. in Oslo's
  second 02:xx hour of 25 Oct and at 00:05 local in Kathmandu; the oracle uses that intended moment. Two taps come
  in a batch whose clock is only 100 s behind, within the 120 s allowance: their ``tapped_at`` stands (a correction
  would move them past 15:00 in Oslo and past midnight in New York).

Rules the oracle applies (the issue's wording): Happy Index = 100 × mean((score − 1)/(n − 1)) over face taps,
interval ± z·s/√N (s: sample standard deviation of the per-tap values) clipped to [0, 100], N = 1 → (0, 100);
CSAT/negative shares with Wilson intervals; NPS = 100 × (p(9–10) − p(0–6)) with its interval clipped to
[−100, 100]; small sample = n < 30; local dates and hours in each location's zone from the effective time; a
reason is on the side of the face tapped, its share is of all picks on that side; what-if: a press is a repeat
when it comes less than N s after the previous press (any press) of its kiosk, by effective time, over the whole
history (equivalent to the server's day-before lead-in, since a day is longer than any interval allowed).
Readings taken where the issue is silent: reasons are listed negative, neutral, positive, most picked first, then
by id (the schema says "negative side first"); a "year" comparison of local dates [a, b] is [a − 1 y, b − 1 y]
with 29 Feb as a first date becoming 1 Mar and as a last date 28 Feb (checked on ranges around 29 Feb 2024 as the
compared year and 29 Feb 2028 as the range); the viewer's language is the most wanted Accept-Language (by q, q=0
excluded, "de-DE" also as "de") that the location's config has.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import statistics
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from server.auth import accounts, kiosk_tokens, user_admin
from server.locations import add_location, configure_location, set_location_scale
from shared.protocol import FollowUp, LocationConfig

pytestmark = pytest.mark.slow  # in make test, not in the fast tier (make check)

Z = 1.959963984540054
SMALL = 30
WEIGHT = 20
PASSWORD = "correct horse battery"
BEHIND = timedelta(days=400)  # the clock-corrected batches come from a kiosk clock this far behind
ONE_DAY = timedelta(days=1)

# --- the dataset ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    key: str
    name: str
    timezone: str
    scale: int  # the scale at query time (Oslo's changes from 5 to 4 on SCALE_CHANGE)
    default_language: str
    texts: dict[str, dict[str, str]]
    followup: tuple[list[str], list[str]] | None = None


OSLO_TEXTS = {
    "nb": {"question": "Hvordan var det?", "reason.food": "Mat", "reason.seating": "Sitteplasser"},
    "en": {"question": "How was it?", "reason.food": "Food", "reason.seating": "Seating",
           "reason.queue_time": "Waiting time"},
    "de": {"question": "Wie war es?", "reason.wifi": "WLAN"},
}  # fmt: skip
PLACES = {
    "oslo": Place("oslo", "Oslo Security", "Europe/Oslo", 4, "nb", OSLO_TEXTS,
                  (["seating", "food", "wifi", "queue_time"], ["seating", "food", "view", "staff_kindness"])),
    "ny": Place("ny", "New York Shop", "America/New_York", 3, "en", {"en": {"question": "How was your visit?"}}),
    "ktm": Place("ktm", "Kathmandu Gate", "Asia/Kathmandu", 11, "en",
                 {"en": {"question": "Would you recommend us?", "reason.price": "Price"},
                  "ne": {"reason.price": "मूल्य", "reason.speed": "गति"}}),
    "adl": Place("adl", "Adelaide Pop-up", "Australia/Adelaide", 5, "en", {"en": {"question": "How was it?"}}),
}  # fmt: skip
KIOSKS = {"oslo-a": ("oslo", "Oslo A"), "oslo-b": ("oslo", "Oslo B"), "ny": ("ny", "NY till"),
          "ktm": ("ktm", "Gate kiosk"), "adl": ("adl", "Pop-up kiosk")}  # fmt: skip
SCALE_CHANGE = date(2026, 11, 5)  # Oslo's kiosks show 4 faces from this local date on


@dataclass(frozen=True)
class Press:
    """One press as it truly happened; ``at`` (UTC) is the effective time the server must arrive at."""

    kiosk: str
    at: datetime
    scale: int
    score: int
    followup: str | None = None
    comment: str | None = None
    flags: tuple[str, ...] = ()
    corrected: str | None = None  # "monotonic", "offset": sent from a clock 400 days behind; "allowed": 100 s
    id: str = field(default_factory=lambda: str(uuid.uuid4()))  # the tap id sent

    @property
    def place(self) -> Place:
        return PLACES[KIOSKS[self.kiosk][0]]

    @property
    def local(self) -> datetime:
        return self.at.astimezone(ZoneInfo(self.place.timezone))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def negative_faces(scale: int) -> set[int]:
    return set(range(0, 7)) if scale == 11 else {1} if scale == 3 else {1, 2}


def positive_faces(scale: int) -> set[int]:
    return {9, 10} if scale == 11 else {3} if scale == 3 else {scale - 1, scale}


def side_of(scale: int, score: int) -> str:
    if score in negative_faces(scale):
        return "negative"
    return "positive" if score in positive_faces(scale) else "neutral"


COMMENTS = ["Lang kø ved skranke", "Veldig hyggelig personale", "Great coffee", "Too cold in here", "Takk!"]


def _regular(rng: random.Random, kiosk: str, dates: list[date], weights: dict[int, list[int]]) -> Iterator[Press]:
    """A few presses a day at local hours 7–21 (never near a DST change), some with a reason, a comment, a repeat
    press 1–4 s later (flagged, as the kiosk does) or a second press 6–40 s later (not flagged)."""
    place = PLACES[KIOSKS[kiosk][0]]
    zone = ZoneInfo(place.timezone)
    negative, positive = place.followup or ([], [])
    if place.key == "ny":
        negative, positive = ["queue_time"], ["staff"]
    if place.key == "ktm":
        negative, positive = ["price"], ["speed", "price"]
    for day in dates:
        for _ in range(rng.randint(1, 3)):
            local = datetime(day.year, day.month, day.day, rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59))
            at = local.replace(tzinfo=zone).astimezone(UTC)
            scale = (4 if day >= SCALE_CHANGE else 5) if place.key == "oslo" else place.scale
            scores = list(range(0, 11)) if scale == 11 else list(range(1, scale + 1))
            score = rng.choices(scores, weights[scale])[0]
            side = side_of(scale, score)
            flags: tuple[str, ...]
            followup, flags = None, ()
            choices = {"negative": negative, "positive": positive}.get(side, [])
            if choices and rng.random() < 0.6:
                followup = rng.choice(choices)
            elif choices and rng.random() < 0.5:
                flags = ("followup_timeout",)
            comment = rng.choice(COMMENTS) if rng.random() < 0.08 else None
            yield Press(kiosk, at, scale, score, followup, comment, flags)
            if rng.random() < 0.15:
                yield Press(kiosk, at + timedelta(seconds=rng.randint(1, 4)), scale, rng.choice(scores),
                            flags=("repeat",))  # fmt: skip
            elif rng.random() < 0.1:
                yield Press(kiosk, at + timedelta(seconds=rng.randint(6, 40)), scale, rng.choice(scores))


def _specials() -> list[Press]:
    """Hand-placed presses: DST hours, midnights, repeats for the what-if, reasons, clock-corrected taps."""
    a, b, ny, ktm = "oslo-a", "oslo-b", "ny", "ktm"
    chain = utc(2026, 10, 27, 9, 0, 0)  # 10:00 CET, Tuesday
    return [
        # Oslo, 29 Mar 2026: 00:59 UTC is 01:59 CET, 01:00:30 UTC is 03:00:30 CEST; no local hour 2.
        Press(a, utc(2026, 3, 29, 0, 30), 5, 4), Press(a, utc(2026, 3, 29, 0, 59), 5, 2, "seating"),
        Press(b, utc(2026, 3, 29, 1, 0, 30), 5, 5, "view"), Press(b, utc(2026, 3, 29, 1, 10), 5, 1),
        # Oslo, 25 Oct 2026: 00:30/00:45 UTC are 02:30/02:45 CEST; 01:15/01:30 UTC are 02:15/02:30 CET.
        Press(a, utc(2026, 10, 24, 23, 30), 5, 3), Press(a, utc(2026, 10, 25, 0, 30), 5, 5, "food"),
        Press(b, utc(2026, 10, 25, 0, 45), 5, 2, "food"), Press(a, utc(2026, 10, 25, 1, 15), 5, 1, "wifi"),
        Press(b, utc(2026, 10, 25, 1, 30), 5, 4, comment="Natt – stengt kafé"),
        Press(a, utc(2026, 10, 25, 2, 30), 5, 4),
        # Oslo, 26 Oct 2025 (a year before): 00:30 UTC is 02:30 CEST, 01:30 UTC is 02:30 CET.
        Press(a, utc(2025, 10, 26, 0, 30), 5, 5), Press(b, utc(2025, 10, 26, 1, 30), 5, 3),
        # The last press of 25 Oct (local) and one 15 s later, after midnight: the what-if range starts 26 Oct.
        Press(a, utc(2026, 10, 25, 22, 59, 50), 5, 4), Press(a, utc(2026, 10, 25, 23, 0, 5), 5, 5, "seating"),
        # A chain 3, 8, 30 and 20 s apart; the stored repeat carries a reason (never asked: dropped if counted).
        Press(a, chain, 5, 4, "food"), Press(a, chain + timedelta(seconds=3), 5, 2, "food", flags=("repeat",)),
        Press(a, chain + timedelta(seconds=11), 5, 2, "wifi"), Press(a, chain + timedelta(seconds=41), 5, 5),
        Press(a, chain + timedelta(seconds=61), 5, 1, "seating"),
        # A chain across the scale change on kiosk B: 6 s apart.
        Press(b, utc(2026, 11, 6, 12, 0, 0), 4, 1, "queue_time"), Press(b, utc(2026, 11, 6, 12, 0, 6), 4, 4),
        Press(b, utc(2026, 11, 6, 12, 0, 8), 4, 4, flags=("repeat",)),
        # Neutral picks (the middle face of 5 with a reason), once with an id that is on both lists.
        Press(a, utc(2026, 10, 20, 8, 10), 5, 3, "seating"), Press(b, utc(2026, 10, 28, 14, 20), 5, 3, "food"),
        # Clock-corrected, monotonic (same boot): 01:40 UTC is 02:40 CET on 25 Oct, in the second hour 2.
        Press(b, utc(2026, 10, 25, 1, 40), 5, 1, "seating", corrected="monotonic"),
        Press(b, utc(2026, 11, 7, 14, 30), 4, 3, "view", comment="Fin utsikt", corrected="monotonic"),
        Press(b, utc(2026, 3, 29, 1, 30), 5, 5, corrected="monotonic"),  # 03:30 CEST
        # Clock-corrected by the offset (another boot): 22:50 UTC on 8 Nov is 23:50 CET; 28 Mar 23:30 UTC is
        # 00:30 CET on 29 Mar.
        Press(a, utc(2026, 10, 30, 11, 30), 5, 2, "queue_time", corrected="offset"),
        Press(a, utc(2026, 11, 8, 22, 50), 4, 4, corrected="offset"),
        Press(a, utc(2026, 3, 28, 23, 30), 5, 3, corrected="offset"),
        # A clock 100 s behind is within the allowance: 13:59:10 UTC stays 14:59:10 CET (not 15:00:50).
        Press(b, utc(2026, 10, 31, 13, 59, 10), 5, 4, corrected="allowed"),
        # Another kiosk pressed 20 s after one of kiosk A's chain: repeats are per kiosk.
        Press(b, chain + timedelta(seconds=20), 5, 5),
        # New York, 8 Mar 2026: 06:30 UTC is 01:30 EST, 07:30 UTC is 03:30 EDT; no local hour 2.
        Press(ny, utc(2026, 3, 8, 6, 30), 3, 3, "staff"), Press(ny, utc(2026, 3, 8, 7, 30), 3, 1, "queue_time"),
        # New York, 1 Nov 2026: 05:30 UTC is 01:30 EDT, 06:30 UTC is 01:30 EST; 03:30 UTC is 22:30 EST.
        Press(ny, utc(2026, 11, 1, 5, 30), 3, 2), Press(ny, utc(2026, 11, 1, 6, 30), 3, 1, "queue_time"),
        Press(ny, utc(2026, 11, 1, 6, 45), 3, 3, corrected="offset"),  # 01:45 EST
        Press(ny, utc(2026, 11, 2, 3, 30), 3, 3, comment="Friendly staff"),
        # New York near midnight: 23:50 EDT on 29 Oct, 00:10 EST on 3 Nov; a monotonic correction.
        Press(ny, utc(2026, 10, 30, 3, 50), 3, 2), Press(ny, utc(2026, 11, 3, 5, 10), 3, 3, "staff"),
        Press(ny, utc(2026, 11, 4, 16, 30), 3, 1, corrected="monotonic"),
        Press(ny, utc(2026, 11, 3, 4, 59), 3, 2, corrected="allowed"),  # 23:59 EST on 2 Nov, not 00:00:40 on 3 Nov
        Press(ny, utc(2026, 11, 4, 16, 31, 0), 3, 1, flags=("repeat",)),
        # Leap day 2024 (29 Feb has no counterpart in 2025).
        Press(ny, utc(2024, 2, 29, 15, 0), 3, 1), Press(ny, utc(2024, 2, 29, 16, 0), 3, 1),
        # Kathmandu (UTC+05:45): 18:10 UTC is 23:55, 18:20 UTC is 00:05 the next day, 10:00 UTC is 15:45.
        Press(ktm, utc(2026, 10, 22, 18, 10), 11, 9, "speed"), Press(ktm, utc(2026, 10, 22, 18, 20), 11, 3, "price"),
        Press(ktm, utc(2026, 10, 23, 10, 0), 11, 7, "speed"),
        Press(ktm, utc(2026, 10, 23, 10, 0, 2), 11, 0, flags=("repeat",)),
        Press(ktm, utc(2026, 10, 23, 10, 20), 11, 10, comment="राम्रो"),
        Press(ktm, utc(2026, 10, 25, 18, 20), 11, 8, corrected="monotonic"),  # 00:05 on 26 Oct
        # Adelaide (UTC+10:30 in October): few but happy presses, shrunk below New York's in the ranking.
        Press("adl", utc(2026, 10, 10, 1, 30), 5, 3), Press("adl", utc(2026, 10, 28, 1, 30), 5, 5),
        Press("adl", utc(2026, 10, 29, 2, 30), 5, 4),
    ]  # fmt: skip


def dataset() -> list[Press]:
    """Every press of the test, the same each run (seeded), about 370 of them."""
    rng = random.Random(10)
    oslo_days = (days(date(2025, 10, 20), date(2025, 10, 27)) + days(date(2026, 3, 26), date(2026, 4, 1))
                 + days(date(2026, 10, 12), date(2026, 11, 12)))  # fmt: skip
    ny_days = (days(date(2024, 2, 27), date(2024, 3, 1)) + days(date(2025, 10, 30), date(2025, 11, 3))
               + days(date(2026, 3, 6), date(2026, 3, 10)) + days(date(2026, 10, 12), date(2026, 10, 14))
               + days(date(2026, 10, 29), date(2026, 11, 5)))  # fmt: skip
    ktm_days = days(date(2026, 10, 5), date(2026, 10, 7)) + days(date(2026, 10, 20), date(2026, 10, 31))
    presses = [
        *_regular(rng, "oslo-a", oslo_days, {5: [1, 1, 2, 5, 6], 4: [1, 1, 4, 5]}),
        *_regular(rng, "oslo-b", oslo_days, {5: [3, 3, 3, 3, 2], 4: [2, 3, 3, 2]}),
        *_regular(rng, "ny", ny_days, {3: [2, 3, 4]}),
        *_regular(rng, "ktm", ktm_days, {11: [1, 1, 1, 1, 1, 2, 2, 3, 4, 4, 3]}),
        *_specials(),
    ]
    seen: set[tuple[str, datetime]] = set()
    unique = []
    for press in presses:  # no two presses of one kiosk at the same moment: the replay order is then unambiguous
        if (press.kiosk, press.at) not in seen:
            seen.add((press.kiosk, press.at))
            unique.append(press)
    return unique


# --- sending it as kiosks do ----------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _tap_body(press: Press, seq: int) -> dict[str, Any]:
    return {
        "id": press.id, "seq": seq, "question_id": "main", "scale": press.scale, "score": press.score,
        "tapped_at": iso(press.at), "mono_ns": seq * 1_000_000, "boot_id": "boot-now", "followup": press.followup,
        "comment": press.comment, "flags": list(press.flags),
    }  # fmt: skip


def _batch(presses: list[Press], seqs: dict[str, int], corrected: str | None) -> dict[str, Any]:
    """A batch body. Corrected batches come from a clock 400 days behind: ``sent_at`` and ``tapped_at`` are
    400 days early, and either the monotonic clock (same boot) or the offset must put each tap back at ``at``;
    "allowed" ones from a clock 100 s behind, which is within the allowance, so ``tapped_at`` (= ``at``) stands."""
    now = datetime.now(UTC)
    batch_mono = 4 * 10**18
    taps = []
    for press in presses:
        tap = _tap_body(press, seqs[press.id])
        if corrected in ("monotonic", "offset"):
            tap["tapped_at"] = iso(press.at - BEHIND)
        if corrected == "monotonic":  # receive − (batch mono − tap mono) = at + request latency
            tap["mono_ns"] = batch_mono - (now - press.at) // timedelta(microseconds=1) * 1000
        if corrected == "offset":  # tapped_at + (receive − sent_at) = at + request latency
            tap["boot_id"] = "boot-before"
        taps.append(tap)
    sent = now - (timedelta(seconds=100) if corrected == "allowed" else BEHIND) if corrected else now
    return {"sent_at": iso(sent), "boot_id": "boot-now", "mono_ns": batch_mono, "taps": taps}


@dataclass
class World:
    client: TestClient
    api_key: str
    presses: list[Press]
    location_ids: dict[str, int]
    kiosk_ids: dict[str, str]  # kiosk key -> server id

    def location(self, key: str) -> int:
        return self.location_ids[key]


@pytest.fixture
def world(client, engine, api_key) -> World:
    """The four locations configured, their kiosks enrolled, an admin signed in, and every press sent through
    ``POST /api/v1/taps``; Oslo's scale is changed to 4 faces between its 5-face and 4-face presses."""
    presses = dataset()
    ids: dict[str, int] = {}
    kiosk_ids: dict[str, str] = {}
    tokens: dict[str, str] = {}
    with engine.begin() as conn:
        for place in PLACES.values():
            ids[place.key] = add_location(conn, name=place.name, timezone=place.timezone,
                                                scale=5 if place.key == "oslo" else place.scale)  # fmt: skip
            followup = None
            if place.followup:
                followup = FollowUp(negative_reasons=place.followup[0], positive_reasons=place.followup[1])
            config = LocationConfig(default_language=place.default_language, texts=place.texts, followup=followup)
            configure_location(conn, ids[place.key], config=config)
        for key, (place_key, name) in KIOSKS.items():
            enrolment = kiosk_tokens.enroll_kiosk(conn, location_id=ids[place_key], name=name)
            kiosk_ids[key], tokens[key] = enrolment.kiosk_id, enrolment.token
        admin = accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
        # The dashboard in English whatever Accept-Language says (which still picks the questions' language), so
        # that the figures read as the oracle writes them; other languages' formats are tests/server/test_i18n.py's.
        user_admin.set_language(conn, admin, "en", spoken=["en"])
    seqs = {}
    for kiosk in KIOSKS:
        mine = sorted((p for p in presses if p.kiosk == kiosk), key=lambda p: p.at)
        seqs.update({p.id: i + 1 for i, p in enumerate(mine)})

    def send(kiosk: str, batch_presses: list[Press], corrected: str | None) -> None:
        if not batch_presses:
            return
        response = client.post("/api/v1/taps", json=_batch(batch_presses, seqs, corrected),
                               headers={"Authorization": f"Bearer {tokens[kiosk]}"})  # fmt: skip
        assert response.status_code == 200, response.text
        assert (response.json()["accepted"], response.json()["conflicts"]) == (len(batch_presses), [])

    def of(kiosk: str, corrected: str | None, scale: set[int]) -> list[Press]:
        return [p for p in presses if p.kiosk == kiosk and p.corrected == corrected and p.scale in scale]

    for kiosk in KIOSKS:  # Oslo's 5-face presses while it shows 5 faces ...
        for corrected in (None, "monotonic", "offset", "allowed"):
            send(kiosk, of(kiosk, corrected, {3, 5, 11}), corrected)
    with engine.begin() as conn:
        set_location_scale(conn, ids["oslo"], 4)
    for kiosk in ("oslo-a", "oslo-b"):  # ... and its 4-face presses after the change
        for corrected in (None, "monotonic", "offset", "allowed"):
            send(kiosk, of(kiosk, corrected, {4}), corrected)
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text
    signed = client.post("/login", data={"email": "admin@example.com", "password": PASSWORD,
                                         "csrf_token": csrf.group(1), "next": "/"}, follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303, signed.text
    return World(client, api_key, presses, ids, kiosk_ids)


# --- the oracle: figures from raw presses ---------------------------------------------------------------------


def _none_estimate() -> dict[str, Any]:
    return {"value": None, "low": None, "high": None, "n": 0, "small_sample": True}


def happy_index(presses: list[Press]) -> dict[str, Any]:
    values = [100 * (p.score - 1) / (p.scale - 1) for p in presses if p.scale != 11]
    n = len(values)
    if n == 0:
        return _none_estimate()
    mean = statistics.fmean(values)
    if n == 1:
        low, high = 0.0, 100.0
    else:
        half = Z * statistics.stdev(values) / math.sqrt(n)
        low, high = max(0.0, mean - half), min(100.0, mean + half)
    return {"value": mean, "low": low, "high": high, "n": n, "small_sample": n < SMALL}


def nps(presses: list[Press]) -> dict[str, Any]:
    scores = [p.score for p in presses if p.scale == 11]
    n = len(scores)
    if n == 0:
        return _none_estimate()
    promoters = sum(s >= 9 for s in scores) / n
    detractors = sum(s <= 6 for s in scores) / n
    value = 100 * (promoters - detractors)
    if n == 1:
        low, high = -100.0, 100.0
    else:
        half = Z * 100 * math.sqrt(max(0.0, promoters + detractors - (promoters - detractors) ** 2) / n)
        low, high = max(-100.0, value - half), min(100.0, value + half)
    return {"value": value, "low": low, "high": high, "n": n, "small_sample": n < SMALL}


def wilson(k: int, n: int) -> dict[str, Any]:
    if n == 0:
        return {"value": None, "low": None, "high": None, "k": 0, "n": 0, "small_sample": True}
    p = k / n
    denominator = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denominator
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denominator
    return {"value": 100 * p, "low": 100 * max(0.0, centre - half), "high": 100 * min(1.0, centre + half),
            "k": k, "n": n, "small_sample": n < SMALL}  # fmt: skip


def figures(presses: list[Press], scale: int) -> dict[str, Any]:
    """Every figure of some counted presses; ``counts`` on the location's current ``scale``."""
    faces = [p for p in presses if p.scale != 11]
    keys = range(0, 11) if scale == 11 else range(1, scale + 1)
    counted = Counter(p.score for p in presses if p.scale == scale)
    return {
        "responses": len(presses),
        "counts": {str(s): counted[s] for s in keys},
        "happy_index": happy_index(presses),
        "csat": wilson(sum(p.score in positive_faces(p.scale) for p in faces), len(faces)),
        "negative": wilson(sum(p.score in negative_faces(p.scale) for p in faces), len(faces)),
        "nps": nps(presses),
    }


def headline(presses: list[Press]) -> dict[str, Any]:
    """The Happy Index, or the NPS when every press is on the 0–10 scale."""
    if presses and all(p.scale == 11 for p in presses):
        return nps(presses)
    return happy_index(presses)


def readable(reason: str) -> str:
    words = reason.replace("_", " ")
    return words[:1].upper() + words[1:].lower()


def label(place: Place, reason: str, languages: list[str]) -> str:
    viewer = next((lang for lang in languages if lang in place.texts), None)
    for lang in [viewer, place.default_language, "en", *place.texts]:
        if lang and (text := place.texts.get(lang, {}).get(f"reason.{reason}")):
            return text
    return readable(reason)


@dataclass(frozen=True)
class Outcome:
    """How the presses count under the stored flags (``what_if`` None) or a replayed repeat interval."""

    counted: dict[str, str | None]  # press id -> its reason (None: none) for the presses that count
    filtered: set[str]  # press ids left out as repeats


def outcome(presses: list[Press], what_if: float | None) -> Outcome:
    counted: dict[str, str | None] = {}
    filtered: set[str] = set()
    if what_if is None:
        for p in presses:
            if "repeat" in p.flags:
                filtered.add(p.id)
            else:
                counted[p.id] = p.followup
        return Outcome(counted, filtered)
    for _, mine in itertools.groupby(sorted(presses, key=lambda p: (p.kiosk, p.at)), key=lambda p: p.kiosk):
        previous: datetime | None = None
        for p in mine:
            if previous is not None and (p.at - previous).total_seconds() < what_if:
                filtered.add(p.id)
            else:
                counted[p.id] = None if "repeat" in p.flags else p.followup  # a stored repeat was never asked why
            previous = p.at
    return Outcome(counted, filtered)


def buckets(start: date, end: date, granularity: str) -> list[tuple[date, date]]:
    out, day = [], start
    while day < end:
        if granularity == "day":
            following = day + ONE_DAY
        elif granularity == "week":
            following = day + timedelta(days=7 - day.weekday())
        else:
            following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        out.append((day, min(end, following)))
        day = min(end, following)
    return out


def year_before(day: date, *, first: bool) -> date:
    if (day.month, day.day) == (2, 29):
        return date(day.year - 1, 3, 1) if first else date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def compared(span: tuple[date, date], whole: tuple[date, date], compare: str) -> tuple[date, date]:
    if compare == "previous":
        shift = whole[1] - whole[0]
        return span[0] - shift, span[1] - shift
    return year_before(span[0], first=True), year_before(span[1] - ONE_DAY, first=False) + ONE_DAY


class Oracle:
    """Expected figures of one location from the raw presses of the dataset."""

    def __init__(self, presses: list[Press], place: Place, what_if: float | None = None):
        self.place = place
        self.presses = [p for p in presses if p.place.key == place.key]
        self.outcome = outcome(self.presses, what_if)
        self.what_if = what_if

    def counted(self, start: date, end: date, kiosk: str | None = None) -> list[Press]:
        return [p for p in self.presses if p.id in self.outcome.counted and start <= p.local.date() < end
                and kiosk in (None, p.kiosk)]  # fmt: skip

    def filtered(self, start: date, end: date, kiosk: str | None = None) -> int:
        return sum(p.id in self.outcome.filtered and start <= p.local.date() < end and kiosk in (None, p.kiosk)
                   for p in self.presses)  # fmt: skip

    def figures(self, start: date, end: date) -> dict[str, Any]:
        return figures(self.counted(start, end), self.place.scale)

    def reasons(self, start: date, end: date, languages: list[str]) -> list[dict[str, Any]]:
        picks = Counter((reason, side_of(p.scale, p.score)) for p in self.counted(start, end)
                        if (reason := self.outcome.counted[p.id]))  # fmt: skip
        per_side: Counter[str] = Counter()
        for (_, side), n in picks.items():
            per_side[side] += n
        order = ["negative", "neutral", "positive"]
        rows = sorted(picks.items(), key=lambda item: (order.index(item[0][1]), -item[1], item[0][0]))
        return [{"id": reason, "label": label(self.place, reason, languages), "side": side, "count": n,
                 "share": wilson(n, per_side[side])} for (reason, side), n in rows]  # fmt: skip

    def trend(self, start: date, end: date, granularity: str, compare: str) -> list[dict[str, Any]]:
        points = []
        for span in buckets(start, end, granularity):
            before = compared(span, (start, end), compare)
            points.append({"start": span[0].isoformat(), "end": span[1].isoformat(), **self.figures(*span),
                           "compare": {"start": before[0].isoformat(), "end": before[1].isoformat(),
                                       **self.figures(*before)}})  # fmt: skip
        return points

    def summary(self, location_id: int, start: date, end: date, granularity: str | None = None,
                compare: str = "previous", languages: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
        return {
            "location_id": location_id, "location_name": self.place.name, "timezone": self.place.timezone,
            "question_id": "main", "channel": None, "start": start.isoformat(), "end": end.isoformat(),
            "scale": self.place.scale,
            **self.figures(start, end), "reasons": self.reasons(start, end, languages or []),
            "filtered": {"repeat": self.filtered(start, end)}, "what_if_repeat_seconds": self.what_if,
            "granularity": granularity, "compare": compare if granularity else None,
            "trend": self.trend(start, end, granularity, compare) if granularity else None,
        }  # fmt: skip

    def heatmap(self, start: date, end: date) -> dict[tuple[int, int], list[Press]]:
        cells: dict[tuple[int, int], list[Press]] = {}
        for p in self.counted(start, end):
            cells.setdefault((p.local.weekday(), p.local.hour), []).append(p)
        return cells


# --- comparing -------------------------------------------------------------------------------------------------


def assert_matches(got: Any, expected: Any, path: str = "$") -> None:
    """``got`` equals ``expected`` field by field, floats to 1e-9; a failure names the field's path."""
    if isinstance(expected, dict):
        assert isinstance(got, dict), f"{path}: {got!r} is not an object"
        assert sorted(got) == sorted(expected), f"{path}: keys {sorted(got)} != expected {sorted(expected)}"
        for key in expected:
            assert_matches(got[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list), f"{path}: {got!r} is not a list"
        assert len(got) == len(expected), f"{path}: {len(got)} items, expected {len(expected)}:\n{got}\n{expected}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert_matches(g, e, f"{path}[{i}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert got == expected and type(got) is type(expected), f"{path}: got {got!r}, expected {expected!r}"
    elif isinstance(expected, float):
        assert isinstance(got, int | float) and not isinstance(got, bool), f"{path}: {got!r} is not a number"
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9), f"{path}: got {got!r}, expected {expected!r}"
    else:
        assert got == expected and type(got) is type(expected), f"{path}: got {got!r}, expected {expected!r}"


def shown(value: float | None, digits: int = 1, fmt: Callable[[float, int], str] | None = None) -> set[str]:
    """How a page may print ``value``: the texts of ``value`` and of its neighbours 1e-9 away (so that summing in
    another order cannot flip a rounding at .5); "–" for none."""
    if value is None:
        return {"–"}
    fmt = fmt or (lambda v, d: f"{v:.{d}f}")
    return {fmt(value + e, digits) for e in (-1e-9, 0.0, 1e-9)}


def _change_text(value: float, _digits: int) -> str:
    return "▲ " + f"{value:+.1f}" if value > 0 else "▼ " + f"{value:+.1f}" if value < 0 else "± 0.0"


def shown_share(share: dict[str, Any]) -> set[str]:
    return {"–"} if not share["n"] else {f"{t} %" for t in shown(share["value"])}


def difference(now: dict[str, Any], before: dict[str, Any]) -> float | None:
    return None if now["value"] is None or before["value"] is None else now["value"] - before["value"]


# --- reading pages -----------------------------------------------------------------------------------------------


class Node:
    """An element of a parsed page."""

    def __init__(self, tag: str, attrs: dict[str, str]):
        self.tag, self.attrs = tag, attrs
        self.children: list[Node | str] = []

    def text(self) -> str:
        return " ".join("".join(c if isinstance(c, str) else c.text() + " " for c in self.children).split())

    def raw(self) -> str:
        return "".join(c if isinstance(c, str) else c.raw() for c in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def all(self, tag: str | None = None, cls: str | None = None, attr: str | None = None) -> list[Node]:
        return [
            n
            for n in self.walk()
            if n is not self
            and (tag is None or n.tag == tag)
            and (cls is None or cls in n.attrs.get("class", "").split())
            and (attr is None or attr in n.attrs)
        ]

    def one(self, tag: str | None = None, cls: str | None = None, attr: str | None = None) -> Node:
        found = self.all(tag, cls, attr)
        assert len(found) == 1, f"expected one {tag}.{cls}[{attr}], found {len(found)}"
        return found[0]

    def by_id(self, id_: str) -> Node:
        found = [n for n in self.walk() if n.attrs.get("id") == id_]
        assert len(found) == 1, f"expected one #{id_}, found {len(found)}"
        return found[0]

    def has_id(self, id_: str) -> bool:
        return any(n.attrs.get("id") == id_ for n in self.walk())


class _Builder(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def get_page(world: World, path: str, headers: dict[str, str] | None = None) -> Node:
    response = world.client.get(path, headers=headers or {})
    assert response.status_code == 200, response.text
    page = parse(response.text)
    assert not page.all(cls="error"), [n.text() for n in page.all(cls="error")]
    return page


def assert_shown(got: str, expected: set[str], where: str) -> None:
    assert got in expected, f"{where}: page shows {got!r}, expected one of {sorted(expected)}"


def assert_estimate(node: Node, estimate: dict[str, Any], where: str) -> None:
    """The ``estimate`` macro: the value (1 decimal) and, with answers, its interval (0 decimals)."""
    assert_shown(node.one("strong").text(), shown(estimate["value"]), where)
    cis = node.all("small", "ci")
    if estimate["n"]:
        assert len(cis) == 1, f"{where}: no interval"
        low, high = cis[0].text().split("–")
        assert_shown(low, shown(estimate["low"], 0), f"{where} low")
        assert_shown(high, shown(estimate["high"], 0), f"{where} high")
    else:
        assert cis == [], f"{where}: an interval without answers"


# --- 1. the summary API ------------------------------------------------------------------------------------------


def summary(world: World, place: str, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    response = world.client.get(f"/api/v1/locations/{world.location(place)}/summary", params=params,
                                headers={"Authorization": f"Bearer {world.api_key}", **(headers or {})})  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


WHOLE = (date(2024, 2, 1), date(2026, 12, 1))  # every press of the dataset
OCTOBER_DST = (date(2026, 10, 19), date(2026, 11, 2))  # Oslo's 25 Oct and New York's 1 Nov
MARCH_DST = (date(2026, 3, 2), date(2026, 4, 6))  # New York's 8 Mar and Oslo's 29 Mar
LEAP = (date(2025, 2, 24), date(2025, 3, 3))  # compared a year back: 2024 has a 29 Feb
MONTHS = (date(2026, 10, 10), date(2026, 11, 20))  # months cut to the range, across Oslo's scale change
WHAT_IF = (date(2026, 10, 26), date(2026, 11, 9))  # the repeat chains; its first press has a predecessor on 25 Oct
LANGUAGES = {  # Accept-Language -> the viewer's languages, most wanted first
    None: [],
    "en": ["en"],
    "de-DE,de;q=0.9,en;q=0.5": ["de-DE", "de", "en"],
    "fr, en;q=0.8": ["fr", "en"],
    "ne": ["ne"],
    "en;q=0.5, de": ["de", "en"],  # by q, not by order
    "nb;q=0, en": ["en"],  # q=0: not nb, although it is the default
}
SUMMARY_CASES = [  # (range, granularity, compare, Accept-Language)
    (WHOLE, None, "previous", None),
    (WHOLE, "month", "previous", "en"),
    (OCTOBER_DST, "day", "previous", "de-DE,de;q=0.9,en;q=0.5"),
    (OCTOBER_DST, "week", "year", "fr, en;q=0.8"),
    (MARCH_DST, "day", "year", "ne"),
    (MARCH_DST, "week", "previous", None),
    (LEAP, "day", "year", None),
    (LEAP, "week", "year", None),
    (MONTHS, "month", "year", "en"),
    (OCTOBER_DST, None, "previous", "en;q=0.5, de"),
    (OCTOBER_DST, None, "previous", "nb;q=0, en"),
    ((date(2028, 2, 26), date(2028, 3, 4)), "day", "year", None),  # 29 Feb 2028 has no counterpart in 2027
]


@pytest.mark.parametrize("place", list(PLACES))
def test_summary_api_matches_figures_computed_from_the_raw_taps(world, place):
    oracle = Oracle(world.presses, PLACES[place])
    for (start, end), granularity, compare, language in SUMMARY_CASES:
        params: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
        if granularity:
            params.update(granularity=granularity, compare=compare)
        got = summary(world, place, {"Accept-Language": language} if language else None, **params)

        expected = oracle.summary(world.location(place), start, end, granularity, compare, LANGUAGES[language])
        assert_matches(got, expected, f"{place} {params} {language}")


@pytest.mark.parametrize("what_if", [2.5, 30.0])
def test_summary_api_what_if_replays_another_repeat_interval_over_the_raw_taps(world, what_if):
    start, end = WHAT_IF
    for place in PLACES:
        oracle = Oracle(world.presses, PLACES[place], what_if)
        for granularity, compare in [(None, "previous"), ("week", "previous"), ("day", "year")]:
            params: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat(),
                                      "what_if_repeat_seconds": what_if}  # fmt: skip
            if granularity:
                params.update(granularity=granularity, compare=compare)
            got = summary(world, place, {"Accept-Language": "en"}, **params)

            expected = oracle.summary(world.location(place), start, end, granularity, compare, ["en"])
            assert_matches(got, expected, f"{place} {params}")


def test_what_if_oracle_sees_the_chain_and_the_press_after_midnight_as_the_issue_describes(world):
    """The oracle's own reading of the hand-placed chain (3, 8, 30, 20 s apart) and the press 15 s after midnight,
    so that the replay assertions above rest on figures worked out by hand."""
    oslo = [p for p in world.presses if p.kiosk == "oslo-a"]
    chain_start = utc(2026, 10, 27, 9, 0, 0)
    chain = [p for p in oslo if chain_start <= p.at <= chain_start + timedelta(seconds=61)]
    midnight = next(p for p in oslo if p.at == utc(2026, 10, 25, 23, 0, 5))
    assert [(p.at - chain_start).seconds for p in chain] == [0, 3, 11, 41, 61]

    stored, short, long_ = (outcome(oslo, n) for n in (None, 2.5, 30.0))

    assert [p.id in stored.counted for p in chain] == [True, False, True, True, True]
    assert [short.counted.get(p.id, "out") for p in chain] == ["food", None, "wifi", None, "seating"]
    assert [long_.counted.get(p.id, "out") for p in chain] == ["food", "out", "out", None, "out"]
    assert midnight.id in stored.counted and midnight.id in short.counted and midnight.id in long_.filtered
    assert midnight.local.date() == WHAT_IF[0]


# --- 2. the location page ----------------------------------------------------------------------------------------

PAGE_CASES = [  # (first date, last date inclusive, extra query, Accept-Language)
    (date(2026, 10, 19), date(2026, 11, 8), "", None),
    (date(2025, 10, 1), date(2026, 11, 30), "", "en"),  # longer than 62 days: a weekly trend
    (date(2026, 10, 10), date(2026, 11, 19), "&granularity=month&compare=year", "de-DE,de;q=0.9,en;q=0.5"),
    (date(2026, 3, 2), date(2026, 4, 5), "&granularity=week", "ne"),
    (date(2026, 10, 26), date(2026, 11, 8), "&what_if=30", "en"),
    (date(2026, 10, 26), date(2026, 11, 8), "&granularity=day&compare=year&what_if=2.5", None),
]


def _query(extra: str, name: str) -> str | None:
    match = re.search(rf"&{name}=([^&]+)", extra)
    return match.group(1) if match else None


def check_location_page(page: Node, world: World, place: Place, start: date, last: date, extra: str,
                        languages: list[str]) -> None:  # fmt: skip
    """Every number of the location page against the oracle."""
    what_if = float(w) if (w := _query(extra, "what_if")) else None
    oracle = Oracle(world.presses, place, what_if)
    end = last + ONE_DAY
    granularity = _query(extra, "granularity") or ("week" if (end - start).days > 62 else "day")
    compare = _query(extra, "compare") or "previous"
    before = compared((start, end), (start, end), compare)
    now_presses, before_presses = oracle.counted(start, end), oracle.counted(*before)
    now, then = figures(now_presses, place.scale), figures(before_presses, place.scale)
    head, head_before = headline(now_presses), headline(before_presses)
    where = f"{place.key} {start}..{last}{extra}"

    # KPIs: the headline with its interval and its change against the compared period, CSAT, negative, responses
    kpi = page.by_id("kpi-index")
    assert kpi.one("h2").text() == ("NPS" if place.scale == 11 else "Happy Index")
    assert_shown(kpi.one("p", "big").text(), shown(head["value"]), f"{where} index")
    ci = re.fullmatch(r"95 % interval (\S+) – (\S+)", kpi.one("p", "ci").text())
    assert ci, kpi.one("p", "ci").text()
    assert_shown(ci.group(1), shown(head["low"]), f"{where} index low")
    assert_shown(ci.group(2), shown(head["high"]), f"{where} index high")
    change_line = re.fullmatch(r"(.+) vs before \((\S+)\)", kpi.all("p")[-1].text())
    assert change_line, kpi.all("p")[-1].text()
    delta = difference(head, head_before)
    assert_shown(change_line.group(1), shown(delta, fmt=_change_text), f"{where} change")
    assert_shown(change_line.group(2), shown(head_before["value"]), f"{where} before")
    assert page.has_id("few-responses") == head["small_sample"], where
    for kpi_id, key in (("kpi-csat", "csat"), ("kpi-negative", "negative")):
        box = page.by_id(kpi_id)
        assert_shown(box.one("p", "big").text(), shown_share(now[key]), f"{where} {key}")
        interval = re.fullmatch(r"(\S+) – (\S+) %", box.one("p", "ci").text())
        assert interval, box.one("p", "ci").text()
        assert_shown(interval.group(1), shown(now[key]["low"]), f"{where} {key} low")
        assert_shown(interval.group(2), shown(now[key]["high"]), f"{where} {key} high")
        assert_shown(box.all("p")[-1].text(), {f"before {t}" for t in shown_share(then[key])}, f"{where} {key} before")
    responses = page.by_id("kpi-responses")
    assert responses.one("p", "big").text() == str(now["responses"]), where
    assert responses.all("p")[-1].text() == f"before {then['responses']}", where

    # faces now and before, on the current scale
    faces = page.by_id("faces")
    assert [th.text() for th in faces.one("thead").all("th")][1:] == list(now["counts"]), where
    rows = faces.one("tbody").all("tr")
    assert [td.text() for td in rows[0].all("td")] == [str(n) for n in now["counts"].values()], where
    assert [td.text() for td in rows[1].all("td")] == [str(n) for n in then["counts"].values()], where

    # the chart data: trend (headline per point, its band and n, the compared value) and faces
    chart = json.loads(page.by_id("chart-data").raw())
    trend = buckets(start, end, granularity)
    heads = [headline(oracle.counted(*span)) for span in trend]
    befores = [headline(oracle.counted(*compared(span, (start, end), compare))) for span in trend]
    expected_chart = {
        "trend": {"labels": [span[0].isoformat() for span in trend], "now": [h["value"] for h in heads],
                  "low": [h["low"] for h in heads], "high": [h["high"] for h in heads], "n": [h["n"] for h in heads],
                  "small": [h["small_sample"] for h in heads], "before": [h["value"] for h in befores],
                  "nps": place.scale == 11},
        "faces": {"labels": list(now["counts"]), "now": list(now["counts"].values()),
                  "before": list(then["counts"].values())},
    }  # fmt: skip
    assert_matches(chart, expected_chart, f"{where} chart")
    trend_rows = page.by_id("trend-table").one("tbody").all("tr")
    assert [row.attrs["data-n"] for row in trend_rows] == [str(len(oracle.counted(*s))) for s in trend], where

    # heatmap: local weekday x local hour, n and the headline rounded to 0 decimals
    cells = oracle.heatmap(start, end)
    grid = page.by_id("heatmap").one("tbody").all("tr")
    assert len(grid) == 7, where
    for weekday, row in enumerate(grid):
        tds = row.all("td")
        assert len(tds) == 24, where
        for hour, td in enumerate(tds):
            presses = cells.get((weekday, hour), [])
            assert td.attrs["data-n"] == str(len(presses)), f"{where} heatmap {weekday} {hour}"
            if presses:
                assert_shown(td.text(), shown(headline(presses)["value"], 0), f"{where} heatmap {weekday} {hour}")
            else:
                assert td.text() == "", f"{where} heatmap {weekday} {hour}"

    # reasons: one row per (reason, side) with its count and share of the side
    reasons = oracle.reasons(start, end, languages)
    rows = page.all("tr", attr="data-reason")
    assert [(r.attrs["data-reason"], r.attrs["data-side"]) for r in rows] == [(e["id"], e["side"]) for e in reasons]
    for row, e in zip(rows, reasons, strict=True):
        assert row.one("th").text() == f"{e['label']} {e['side']}", where
        count, share = row.all("td", "num")
        assert count.text() == str(e["count"]), where
        few = " few" if e["share"]["small_sample"] else ""
        assert_shown(share.text(), {f"{t}{few}" for t in shown_share(e["share"])}, f"{where} reason {e['id']}")

    # per kiosk: every kiosk with counted or filtered presses in the period, by name
    names = {key: name for key, (place_key, name) in KIOSKS.items() if place_key == place.key}
    present = sorted((k for k in names if oracle.counted(start, end, k) or oracle.filtered(start, end, k)),
                     key=lambda k: names[k])  # fmt: skip
    rows = page.by_id("kiosk-split").all("tr", attr="data-kiosk")
    assert [row.attrs["data-kiosk"] for row in rows] == [world.kiosk_ids[k] for k in present], where
    for row, kiosk in zip(rows, present, strict=True):
        mine = oracle.counted(start, end, kiosk)
        name, responses, index, csat, negative, filtered = row.all("td")
        own = figures(mine, place.scale)
        assert (name.text(), responses.text()) == (names[kiosk], str(len(mine))), where
        assert_estimate(index, headline(mine), f"{where} kiosk {kiosk}")
        assert_shown(csat.text(), shown_share(own["csat"]), f"{where} kiosk {kiosk} csat")
        assert_shown(negative.text(), shown_share(own["negative"]), f"{where} kiosk {kiosk} negative")
        assert filtered.text() == str(oracle.filtered(start, end, kiosk)), where

    # presses left out, and what the what-if says
    n = oracle.filtered(start, end)
    presses_text = f"{n} press{'' if n == 1 else 'es'} filtered"
    if what_if is None:
        assert page.by_id("filtered-count").text() == f"{presses_text} (repeat within 5 s)", where
    else:
        assert page.by_id("filtered-count").text() == presses_text, where
        shown_interval = f"{what_if:.0f}" if what_if == round(what_if) else str(what_if)
        assert f"repeat interval of {shown_interval} s (the kiosks use 5 s)" in page.by_id("what-if").text()

    # comments: the latest 20, newest first, at local time
    commented = sorted((p for p in oracle.presses if p.comment and start <= p.local.date() < end),
                       key=lambda p: p.at, reverse=True)[:20]  # fmt: skip
    assert page.has_id("comments") == bool(commented), where
    items = page.by_id("comments").all("li") if commented else []
    assert len(items) == len(commented), where
    for li, p in zip(items, commented, strict=True):
        scale = 10 if p.scale == 11 else p.scale
        assert li.one("span", "face").text() == f"{p.score}/{scale}", where
        assert li.one("q").text() == p.comment, where
        assert li.one("small").text() == f"{p.local:%Y-%m-%d %H:%M} · {KIOSKS[p.kiosk][1]}", where


@pytest.mark.parametrize("place", list(PLACES))
def test_location_page_shows_the_figures_computed_from_the_raw_taps(world, place):
    for start, last, extra, language in PAGE_CASES:
        path = f"/locations/{world.location(place)}?range=custom&start={start}&last={last}{extra}"
        page = get_page(world, path, {"Accept-Language": language} if language else None)

        check_location_page(page, world, PLACES[place], start, last, extra, LANGUAGES[language])


# --- 3. the overview -----------------------------------------------------------------------------------------------


def sparkline(values: list[float | None], low: float) -> list[tuple[float, float]]:
    """The (x, y) of each answered point of a 120 × 28 sparkline from ``low`` to 100."""
    if len(values) < 2:
        return []
    step = 120 / (len(values) - 1)
    return [(i * step, 28 - (v - low) / (100 - low) * 28) for i, v in enumerate(values) if v is not None]


def overview_trend(oracle: Oracle, start: date, end: date) -> list[float | None]:
    """One headline per local day, or per ISO week (the first cut to the range) beyond 62 days."""
    spans = buckets(start, end, "week" if (end - start).days > 62 else "day")
    return [headline(oracle.counted(*span))["value"] for span in spans]


OVERVIEW_CASES = [  # (first date, last date, whether shrinking puts a location below one with a lower index)
    (date(2026, 10, 19), date(2026, 11, 8), True),  # daily sparklines; Adelaide's 2 presses rank below New York
    (date(2024, 2, 1), date(2026, 11, 30), False),  # weekly sparklines
]


@pytest.mark.parametrize(("start", "last", "shrinking_reorders"), OVERVIEW_CASES)
def test_overview_ranks_and_trends_as_computed_from_the_raw_taps(world, start, last, shrinking_reorders):
    end = last + ONE_DAY
    before = (start - (end - start), start)
    oracles = {key: Oracle(world.presses, place) for key, place in PLACES.items()}
    now = {key: o.counted(start, end) for key, o in oracles.items()}
    face_places = [key for key in PLACES if happy_index(now[key])["n"]]
    overall = happy_index([p for key in face_places for p in now[key]])["value"]
    ranking = {}
    for key in face_places:
        index = happy_index(now[key])
        ranking[key] = (overall * WEIGHT + index["value"] * index["n"]) / (WEIGHT + index["n"])
    ranked = sorted(ranking, key=lambda key: -ranking[key])
    assert face_places == ["oslo", "ny", "adl"] and len(set(ranking.values())) == 3  # no ties
    by_index = sorted(face_places, key=lambda key: -happy_index(now[key])["value"])
    assert (ranked != by_index) == shrinking_reorders  # the shrinking (weight 20) shows in the order

    page = get_page(world, f"/?range=custom&start={start}&last={last}")
    rows = page.by_id("overview").one("tbody").all("tr", attr="data-location")

    unranked = sorted((key for key in PLACES if key not in ranking), key=lambda key: PLACES[key].name)
    order = ranked + unranked
    assert [row.attrs["data-location"] for row in rows] == [str(world.location(key)) for key in order]
    for row, key in zip(rows, order, strict=True):
        place = PLACES[key]
        head = headline(now[key])
        shares = figures(now[key], place.scale)
        where = f"overview {start}..{last} {key}"
        assert row.one("td", "rank").text() == (str(ranked.index(key) + 1) if key in ranking else "–"), where
        index_cell = row.one("td", "index")
        assert_estimate(index_cell.one("span", "estimate"), head, where)
        assert ("NPS" in [small.text() for small in index_cell.all("small")]) == (place.scale == 11), where
        assert bool(index_cell.all("span", "small-flag")) == head["small_sample"], where
        assert_shown(row.one("td", "csat").text(), shown_share(shares["csat"]), f"{where} csat")
        assert_shown(row.one("td", "negative").text(), shown_share(shares["negative"]), f"{where} negative")
        assert row.one("td", "responses").text() == str(len(now[key])), where
        change = difference(head, headline(oracles[key].counted(*before)))
        assert_shown(row.one("td", "delta").text(), shown(change, fmt=_change_text), f"{where} change")
        points = row.one("polyline").attrs["points"].split()
        expected = sparkline(overview_trend(oracles[key], start, end), -100 if place.scale == 11 else 0)
        assert len(points) == len(expected), f"{where} sparkline {points} {expected}"
        for point, (x, y) in zip(points, expected, strict=True):
            got_x, got_y = point.split(",")
            assert_shown(got_x, shown(x), f"{where} sparkline x")
            assert_shown(got_y, shown(y), f"{where} sparkline y")


# --- DST, offsets and corrected clocks, spelled out --------------------------------------------------------------


def heat_n(page: Node, weekday: int, hour: int) -> int:
    return int(page.by_id("heatmap").one("tbody").all("tr")[weekday].all("td")[hour].attrs["data-n"])


SUNDAY = 6


def test_dst_days_count_every_tap_in_the_local_hour_it_happened(world):
    """Sunday 25 Oct 2026 in Oslo: hour 2 happens twice, and its heatmap cell holds the taps of both (two CEST, two
    CET and one clock-corrected CET tap); Sunday 29 Mar 2026 has no hour 2. New York's 1 Nov has hour 1 twice
    and 8 Mar no hour 2. Kathmandu's 18:10 and 18:20 UTC are 23:55 and 00:05 on two local dates."""
    october = get_page(world, f"/locations/{world.location('oslo')}?range=custom&start=2026-10-25&last=2026-10-25")
    march = get_page(world, f"/locations/{world.location('oslo')}?range=custom&start=2026-03-29&last=2026-03-29")
    ny_nov = get_page(world, f"/locations/{world.location('ny')}?range=custom&start=2026-11-01&last=2026-11-01")
    ny_mar = get_page(world, f"/locations/{world.location('ny')}?range=custom&start=2026-03-08&last=2026-03-08")

    assert [heat_n(october, SUNDAY, h) for h in (1, 2, 3)] == [1, 5, 1]
    assert [heat_n(march, SUNDAY, h) for h in (0, 1, 2, 3)] == [1, 2, 0, 3]
    assert [heat_n(ny_nov, SUNDAY, h) for h in (1, 2, 22)] == [3, 0, 1]
    assert [heat_n(ny_mar, SUNDAY, h) for h in (1, 2, 3)] == [1, 0, 1]
    oslo = Oracle(world.presses, PLACES["oslo"])
    cells = oslo.heatmap(date(2026, 10, 25), date(2026, 10, 26))
    assert sorted(p.at.strftime("%H:%M") for p in cells[SUNDAY, 2]) == ["00:30", "00:45", "01:15", "01:30", "01:40"]
    assert (SUNDAY, 2) not in oslo.heatmap(date(2026, 3, 29), date(2026, 3, 30))
    days = summary(world, "ktm", start="2026-10-22", end="2026-10-24", granularity="day")["trend"]
    ktm = Oracle(world.presses, PLACES["ktm"])
    assert [point["responses"] for point in days] == [len(ktm.counted(d, d + ONE_DAY)) for d in
                                                       (date(2026, 10, 22), date(2026, 10, 23))]  # fmt: skip
    late = [p for p in ktm.presses if p.at in (utc(2026, 10, 22, 18, 10), utc(2026, 10, 22, 18, 20))]
    assert [f"{p.local:%Y-%m-%d %H:%M}" for p in late] == ["2026-10-22 23:55", "2026-10-23 00:05"]
    afternoon = get_page(world, f"/locations/{world.location('ktm')}?range=custom&start=2026-10-23&last=2026-10-23")
    assert heat_n(afternoon, 4, 15) == len(ktm.heatmap(date(2026, 10, 23), date(2026, 10, 24)).get((4, 15), []))
    assert heat_n(afternoon, 4, 15) >= 1  # 10:00 UTC is 15:45 in Kathmandu (hour 15, not 10 or 16)


def test_clock_corrected_taps_count_on_the_local_date_and_hour_they_happened(world):
    """Each corrected tap counts where its intended moment falls, never on the date its kiosk clock said (400 days
    earlier); a tap from a clock only 100 s behind keeps its ``tapped_at`` (corrected, it would land in the next hour
    or on the next date). Checked on a one-day summary and on the heatmap cell of its local weekday and hour."""
    for press in (p for p in world.presses if p.corrected):
        place, zone = press.place, ZoneInfo(press.place.timezone)
        oracle = Oracle(world.presses, place)
        day = press.local.date()
        mistaken = (
            press.at + timedelta(seconds=100) if press.corrected == "allowed" else press.at - BEHIND
        ).astimezone(zone)
        got = summary(world, place.key, start=day.isoformat(), end=(day + ONE_DAY).isoformat())
        page = get_page(world, f"/locations/{world.location(place.key)}?range=custom&start={day}&last={day}")

        assert got["responses"] == len(oracle.counted(day, day + ONE_DAY)) >= 1, press
        cell = oracle.heatmap(day, day + ONE_DAY)[press.local.weekday(), press.local.hour]
        assert press in cell and heat_n(page, press.local.weekday(), press.local.hour) == len(cell), press
        assert (mistaken.date(), mistaken.hour) != (day, press.local.hour), press  # the check can tell them apart
        if mistaken.date() == day:
            wrong_cell = oracle.heatmap(day, day + ONE_DAY).get((mistaken.weekday(), mistaken.hour), [])
            assert heat_n(page, mistaken.weekday(), mistaken.hour) == len(wrong_cell), press
        else:
            wrong_day = mistaken.date()
            wrong = summary(world, place.key, start=wrong_day.isoformat(), end=(wrong_day + ONE_DAY).isoformat())
            assert wrong["responses"] == len(oracle.counted(wrong_day, wrong_day + ONE_DAY)), press
            if press.corrected != "allowed":
                assert wrong["responses"] == 0, press  # nothing else was pressed 400 days earlier
