"""A realistic demo dataset (``smilepost demo --seed-only``): sites in several time zones, a year of taps.

Sites are airport security lanes and gate areas (morning and evening peaks, worse scores in the queues) and
the shops of a coffee chain (lunch and afternoon traffic, opening hours, closed at night), in zones with
whole, half and three-quarter hour offsets and on both hemispheres (seasons flip). One lane gets worse over
the last three weeks. Taps carry follow-up reasons from their location's config, a few comments in English,
Norwegian and Japanese, and a few repeat presses; they are stored through :func:`server.ingest.ingest_batch`
exactly as kiosks send them, so the rollups and kiosk counters are the production ones. A few kiosks are left
offline (taps still queued on them), one with a wrong clock, one with an old app version. Demo users (an admin,
a group manager, a location manager) get random passwords, returned once and stored only hashed.

The same ``rng_seed`` and ``today`` give the same data (kiosk ids, tokens and passwords excepted).
Raises :class:`server.InvalidInput` for counts out of range or a database that already has locations.
"""

from __future__ import annotations

import math
import random
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select, update

from server import InvalidInput, groups
from server.auth import accounts, kiosk_tokens
from server.auth.kiosk_tokens import KioskIdentity
from server.db import kiosks, locations, make_engine, upgrade
from server.ingest import ingest_batch
from server.locations import add_location, configure_location
from shared.protocol import (
    MAX_TAPS_PER_BATCH,
    NPS_SCALE,
    CommentSettings,
    FollowUp,
    LocationConfig,
    Scale,
    Tap,
    TapBatch,
    TapFlag,
    score_range,
)
from shared.scores import negative_scores, positive_scores

MAX_LOCATIONS = 1000
MAX_DAYS = 3660
EMAIL_DOMAIN = "smilepost.example"
APP_VERSION, OLD_APP_VERSION = "2.3.1", "2.1.0"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DECLINE_DAYS = 21  # the declining site gets worse over this many last days
REPEAT_SHARE, COMMENT_SHARE = 0.012, 0.006
OFFLINE_FOR = (timedelta(hours=26), timedelta(hours=5), timedelta(days=3), timedelta(days=11))


@dataclass(frozen=True)
class Profile:
    """How a kind of site behaves: traffic by local hour and weekday, opening hours, queues, reasons."""

    hourly: tuple[float, ...]  # relative traffic by local hour 0..23 when open
    weekday: tuple[float, ...]  # relative traffic Monday..Sunday
    hours: tuple[tuple[int, int], ...]  # (open, close) local hour Monday..Sunday; (0, 0) closed
    peak_hours: frozenset[int]  # queues: scores lower, waiting named more often
    peak_effect: float
    season_peak_day: int  # day of the year with the most traffic (northern hemisphere)
    season_amplitude: float
    negative_reasons: tuple[str, ...]  # the first is the queue-related one
    positive_reasons: tuple[str, ...]
    question: str
    comments: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]  # language -> (negative, positive) comments


# Comments customers type, by language: (negative ones, positive ones).
SECURITY_COMMENTS = {
    "en": (
        ("The queue was far too long", "Only one lane open at 7 am", "Had to take my shoes off twice"),
        ("Quick and friendly, thanks!", "Very well organised today"),
    ),
    "nb": (("Altfor lang kø", "Bare én luke åpen i morges"), ("Raskt og hyggelig!", "Veldig godt organisert")),
    "ja": (
        ("待ち時間が長すぎました", "案内が分かりにくかったです"),
        ("スタッフがとても親切でした", "早くて快適でした"),
    ),
}
GATE_COMMENTS = {
    "en": (("No free seats near the gate", "The wifi kept dropping"), ("Lovely view of the runway",)),
    "nb": (("Ingen ledige seter ved gaten", "Skittent på toalettene"), ("Fin utsikt og god kaffe",)),
}
SHOP_COMMENTS = {
    "en": (("Waited 15 minutes for a latte", "Tables were sticky"), ("Best coffee in town", "Lovely staff")),
    "ja": (("注文を間違えられました",), ("コーヒーがとても美味しかったです",)),
    "nb": (("Altfor dyrt",), ("Beste kaffen i byen",)),
}

AIRPORT = Profile(
    hourly=(0, 0, 0, 0, 1.5, 5, 9, 10, 8, 6, 5, 5, 5.5, 6, 6.5, 7.5, 8.5, 8, 6.5, 5, 4, 3, 2, 1),
    weekday=(1.05, 0.9, 0.95, 1.05, 1.15, 0.8, 1.1),
    hours=((4, 24),) * 7,
    peak_hours=frozenset({6, 7, 8, 16, 17}),
    peak_effect=-0.12,
    season_peak_day=196,
    season_amplitude=0.25,
    negative_reasons=("queue_time", "staff", "cleanliness", "security_check", "information", "other"),
    positive_reasons=("fast", "friendly_staff", "clean", "well_organised"),
    question="How was security today?",
    comments=SECURITY_COMMENTS,
)
GATE = replace(  # the same airport's gate area: open from 05, fewer queues, other reasons
    AIRPORT,
    hourly=(0, 0, 0, 0, 0, 2, 6, 8, 7, 6, 5, 5, 6, 6, 6, 6.5, 7, 7, 6, 5, 4, 3, 2, 1),
    hours=((5, 24),) * 7,
    peak_hours=frozenset({7, 8, 17}),
    peak_effect=-0.06,
    negative_reasons=("seating", "food", "information", "wifi", "cleanliness"),
    positive_reasons=("seating", "food", "wifi", "view"),
    question="How likely are you to recommend the airport to a friend?",
    comments=GATE_COMMENTS,
)
SHOP = Profile(
    hourly=(0, 0, 0, 0, 0, 0, 0, 3, 6, 7, 6, 5, 7, 8, 7, 6, 7, 8, 5, 0, 0, 0, 0, 0),
    weekday=(0.9, 0.9, 0.95, 1.0, 1.15, 1.3, 0.8),
    hours=((7, 19),) * 5 + ((8, 18), (9, 17)),
    peak_hours=frozenset({12, 13}),
    peak_effect=-0.05,
    season_peak_day=350,
    season_amplitude=0.1,
    negative_reasons=("waiting", "coffee", "price", "cleanliness", "staff"),
    positive_reasons=("coffee", "staff", "atmosphere", "fast"),
    question="How was your visit today?",
    comments=SHOP_COMMENTS,
)


@dataclass(frozen=True)
class Site:
    """One demo location: where, on which scale, how busy and how good, in which group."""

    name: str
    timezone: str
    group: str
    profile: Profile
    scale: Scale = 5
    kiosks: int = 1
    size: float = 1.0  # relative traffic
    quality: float = 0.72  # latent satisfaction 0..1
    languages: tuple[str, ...] = ("en",)
    declining: bool = False
    southern: bool = False  # seasons flipped


SITES = (
    Site("Oslo Airport – Security A", "Europe/Oslo", "Oslo Airport", AIRPORT, kiosks=3, size=2.5, quality=0.7,
         languages=("nb", "en")),
    Site("Fika & Co. – Brooklyn", "America/New_York", "Fika & Co. Americas", SHOP, kiosks=2, size=1.0, quality=0.78),
    Site("Fika & Co. – Thamel, Kathmandu", "Asia/Kathmandu", "Fika & Co. Asia-Pacific", SHOP, scale=3, size=0.6,
         quality=0.8),
    Site("Oslo Airport – Security B", "Europe/Oslo", "Oslo Airport", AIRPORT, kiosks=2, size=1.8, quality=0.74,
         languages=("nb", "en"), declining=True),
    Site("Fika & Co. – Rundle Mall, Adelaide", "Australia/Adelaide", "Fika & Co. Asia-Pacific", SHOP, size=0.8,
         quality=0.75, southern=True),
    Site("Fika & Co. – Water Street, St. John's", "America/St_Johns", "Fika & Co. Americas", SHOP, scale=4,
         size=0.5, quality=0.68),
    Site("Oslo Airport – Gate area", "Europe/Oslo", "Oslo Airport", GATE, scale=11, kiosks=2, size=1.2,
         quality=0.74, languages=("nb", "en")),
    Site("Haneda Airport – Security", "Asia/Tokyo", "Haneda Airport", AIRPORT, kiosks=2, size=2.0, quality=0.8,
         languages=("ja", "en")),
)  # fmt: skip
# Cities of the further coffee shops when more than len(SITES) locations are asked for.
BRANCHES = (
    ("Bergen", "Europe/Oslo", "Fika & Co. Europe", ("nb", "en")),
    ("Boston", "America/New_York", "Fika & Co. Americas", ("en",)),
    ("Osaka", "Asia/Tokyo", "Fika & Co. Asia-Pacific", ("ja", "en")),
    ("Pokhara", "Asia/Kathmandu", "Fika & Co. Asia-Pacific", ("en",)),
    ("Darwin", "Australia/Darwin", "Fika & Co. Asia-Pacific", ("en",)),
    ("Halifax", "America/Halifax", "Fika & Co. Americas", ("en",)),
    ("Trondheim", "Europe/Oslo", "Fika & Co. Europe", ("nb", "en")),
    ("Mumbai", "Asia/Kolkata", "Fika & Co. Asia-Pacific", ("en",)),
)

TEXTS = {
    "en": {"thanks": "Thank you!", "followup_question": "What was the main reason?"},
    "nb": {"question": "Hvordan var opplevelsen i dag?", "thanks": "Tusen takk!",
           "followup_question": "Hva var den viktigste grunnen?"},
    "ja": {"question": "本日のご感想をお聞かせください", "thanks": "ありがとうございました！",
           "followup_question": "主な理由は何ですか？"},
}  # fmt: skip


@dataclass(frozen=True)
class DemoUser:
    """A dashboard user made by the seed, with its password (returned once, stored only hashed)."""

    email: str
    password: str
    role: str
    sees: str  # what the user may see, in words


@dataclass(frozen=True)
class SeededLocation:
    """A location made by the seed and how much it got."""

    id: int
    name: str
    timezone: str
    scale: int
    group: str
    kiosks: int
    taps: int  # stored on the server
    queued: int  # still on its offline kiosks


@dataclass(frozen=True)
class SeedResult:
    """What :func:`seed` created."""

    locations: tuple[SeededLocation, ...]
    groups: tuple[str, ...]
    kiosks: int
    offline_kiosks: int
    users: tuple[DemoUser, ...]

    @property
    def taps(self) -> int:
        return sum(location.taps for location in self.locations)


@dataclass
class _Kiosk:
    """A seeded kiosk while its taps are generated: seq counter, unsent taps, fleet state to set at the end."""

    identity: KioskIdentity
    weight: float
    seq: int = 0
    pending: list[Tap] = field(default_factory=list)
    offline_since: datetime | None = None
    queued: int = 0
    stored: int = 0
    clock_offset: float = 0.0
    app_version: str = APP_VERSION


@dataclass
class _Location:
    site: Site
    id: int
    kiosks: list[_Kiosk]
    zone: ZoneInfo


@dataclass(frozen=True)
class _Draft:
    """One tap before it has a kiosk and a seq."""

    at: datetime
    score: int
    followup: str | None = None
    comment: str | None = None
    flags: tuple[TapFlag, ...] = ()


@dataclass(frozen=True)
class _Span:
    """The local days to fill: ``days`` of them up to ``today`` (None: each location's own today), none after now."""

    days: int
    today: date | None
    now: datetime


# --- public -----------------------------------------------------------------------------------


def seed(
    engine: Engine,
    *,
    locations: int = len(SITES),
    days: int = 365,
    taps_per_day: int = 150,
    rng_seed: int = 1,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """Fill an empty, migrated database with ``locations`` sites and ``days`` local days of taps up to ``today``.

    ``taps_per_day`` is the average per location and day (busy sites get more); ``today`` defaults to each
    location's own local date, and no tap is later than now. ``progress`` is called with the number of
    location-days just finished (``locations * days`` in all). Raises InvalidInput for counts out of range or
    a database that already has locations (demo data never mixes with real data).
    """
    _check_counts(locations, days, taps_per_day)
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    sites = [_site(i) for i in range(locations)]
    with engine.begin() as conn:
        _check_empty(conn)
        created, group_ids = _create_sites(conn, sites, rng)
    _plan_fleet(created, rng, now)
    for location in created:
        mean_taps = taps_per_day * location.site.size / _mean_size(sites)
        _fill(engine, location, rng, _Span(days, today, now), mean_taps, progress)
    with engine.begin() as conn:
        _set_fleet_state(conn, created, rng, now)
        users = _create_users(conn, created, group_ids)
    return _result(created, group_ids, users)


def seed_database(url: str, **options: Any) -> SeedResult:
    """Migrate the database at ``url`` to head and :func:`seed` it with ``options``.

    Raises InvalidInput like :func:`seed`; database and migration errors propagate.
    """
    engine = make_engine(url)
    try:
        upgrade(engine)
        return seed(engine, **options)
    finally:
        engine.dispose()


def describe(result: SeedResult) -> str:
    """The seed's result in words, for the CLI: locations, kiosks, taps, and each demo user's password."""
    lines = [
        f"{len(result.locations)} locations in {len(result.groups)} groups, {result.kiosks} kiosks"
        f" ({result.offline_kiosks} offline), {result.taps:,} taps stored",
    ]
    for loc in result.locations:
        queued = f", {loc.queued} still queued on an offline kiosk" if loc.queued else ""
        lines.append(
            f"  {loc.id:>4}  {loc.name} ({loc.timezone}, scale {loc.scale}, {loc.group}):"
            f" {_count(loc.kiosks, 'kiosk')}, {loc.taps:,} taps{queued}"
        )
    lines.append("Dashboard users (passwords shown once; stored only as hashes):")
    lines += [f"  {user.email}  password {user.password}  ({user.role}: {user.sees})" for user in result.users]
    lines.append("Start `smilepost server` and sign in at /login with one of them.")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --- structure: groups, locations, configs, kiosks ---------------------------------------------


def _check_counts(locations: int, days: int, taps_per_day: int) -> None:
    """Raises InvalidInput for a count outside its range."""
    if not 1 <= locations <= MAX_LOCATIONS:
        raise InvalidInput(f"locations must be 1..{MAX_LOCATIONS}, got {locations}")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be 1..{MAX_DAYS}, got {days}")
    if taps_per_day < 1:
        raise InvalidInput(f"taps per day must be at least 1, got {taps_per_day}")


def _check_empty(conn: Connection) -> None:
    """Raises InvalidInput when the database already has locations."""
    count = conn.execute(select(func.count()).select_from(locations)).scalar_one()
    if count:
        raise InvalidInput(
            f"the database already has {count} location(s); demo data is only seeded into an empty database"
            " (point SMILEPOST_DATA_DIR or SMILEPOST_DATABASE_URL at a new one)"
        )


def _site(index: int) -> Site:
    """The index-th demo site: the hand-made ones first, then coffee shops in :data:`BRANCHES`' cities."""
    if index < len(SITES):
        return SITES[index]
    city, zone, group, languages = BRANCHES[(index - len(SITES)) % len(BRANCHES)]
    return Site(
        f"Fika & Co. – {city} #{index + 1}", zone, group, SHOP, kiosks=1 + index % 2, size=0.5 + (index * 7 % 10) / 10,
        quality=0.62 + (index * 13 % 20) / 100, languages=languages, southern=zone.startswith("Australia"),
    )  # fmt: skip


def _mean_size(sites: Sequence[Site]) -> float:
    return sum(site.size for site in sites) / len(sites)


def _create_sites(
    conn: Connection, sites: Sequence[Site], rng: random.Random
) -> tuple[list[_Location], dict[str, int]]:
    """Create groups, locations (configured) and their kiosks; returns the locations and group ids by name."""
    group_ids: dict[str, int] = {}
    created = []
    for site in sites:
        if site.group not in group_ids:
            group_ids[site.group] = groups.add_group(conn, name=site.group)
        location_id = add_location(conn, name=site.name, timezone=site.timezone, scale=site.scale)
        groups.add_location(conn, group_ids[site.group], location_id)
        configure_location(conn, location_id, config=location_config(site))
        zone = ZoneInfo(site.timezone)
        created.append(_Location(site, location_id, _enroll(conn, site, location_id, zone, rng), zone))
    return created, group_ids


def _enroll(conn: Connection, site: Site, location_id: int, zone: ZoneInfo, rng: random.Random) -> list[_Kiosk]:
    """Enroll the site's kiosks; the first takes the most taps (it stands nearest the exit)."""
    result = []
    for n in range(site.kiosks):
        enrolment = kiosk_tokens.enroll_kiosk(
            conn, location_id=location_id, name=f"{site.name.split(' – ')[-1]} kiosk {n + 1}"
        )
        identity = KioskIdentity(enrolment.kiosk_id, location_id, zone)
        result.append(_Kiosk(identity, weight=(1.0 if n == 0 else rng.uniform(0.4, 0.8))))
    return result


def location_config(site: Site) -> LocationConfig:
    """The kiosk config of a demo site: its question in its languages, follow-up reasons, comments, hours."""
    profile = site.profile
    texts = {lang: {"question": profile.question, **TEXTS["en"], **TEXTS[lang]} for lang in site.languages}
    if "en" in texts:  # reason labels in English; the kiosk falls back to them in other languages
        reasons = {*profile.negative_reasons, *profile.positive_reasons}
        texts["en"].update({f"reason.{r}": r.replace("_", " ").capitalize() for r in sorted(reasons)})
    hours = {
        day: [(f"{start:02d}:00", f"{end:02d}:00")]
        for day, (start, end) in zip(WEEKDAYS, profile.hours, strict=True)
        if end > start  # a missing day is a closed day
    }
    return LocationConfig(
        default_language=site.languages[0],
        texts=texts,
        followup=FollowUp(
            negative_reasons=list(profile.negative_reasons), positive_reasons=list(profile.positive_reasons)
        ),
        comment=CommentSettings(enabled=True, max_chars=200),
        opening_hours=hours,  # type: ignore[arg-type]
    )


def _plan_fleet(created: Sequence[_Location], rng: random.Random, now: datetime) -> None:
    """Pick the kiosks that went offline (their later taps stay queued), one with a wrong clock, one old app."""
    fleet = [kiosk for location in created for kiosk in location.kiosks]
    order = rng.sample(fleet, len(fleet))
    offline = max(1, min(len(fleet) // 2, 2 + len(fleet) // 20))  # 2 of 14 kiosks, 17 of 300
    for n, kiosk in enumerate(order[:offline]):
        kiosk.offline_since = now - OFFLINE_FOR[n % len(OFFLINE_FOR)] - timedelta(minutes=rng.randrange(60))
        kiosk.app_version = OLD_APP_VERSION if n == 1 else APP_VERSION
    online = order[offline:]
    if online:
        online[0].clock_offset = 347.0  # its clock runs almost six minutes slow
    if len(online) > 1:
        online[1].app_version = OLD_APP_VERSION


# --- taps ----------------------------------------------------------------------------------------


def _fill(
    engine: Engine,
    location: _Location,
    rng: random.Random,
    span: _Span,
    mean_taps: float,
    progress: Callable[[int], None] | None,
) -> None:
    """Generate and store a location's taps day by day, oldest first, in batches of up to 1000 per kiosk."""
    last = span.today or span.now.astimezone(location.zone).date()
    for age in range(span.days - 1, -1, -1):
        drafts = _day(location, rng, last - timedelta(days=age), age, span, mean_taps)
        _assign(location, [draft for draft in drafts if draft.at <= span.now], rng)
        for kiosk in location.kiosks:
            while len(kiosk.pending) >= MAX_TAPS_PER_BATCH:
                _flush(engine, kiosk, MAX_TAPS_PER_BATCH)
        if progress is not None:
            progress(1)
    for kiosk in location.kiosks:
        while kiosk.pending:
            _flush(engine, kiosk, MAX_TAPS_PER_BATCH)


def _day(location: _Location, rng: random.Random, day: date, age: int, span: _Span, mean_taps: float) -> list[_Draft]:
    """One local day of drafts, in time order: volume by weekday, season and growth over the span, times by hour,
    a mood for the day (now and then a bad one; worse lately at a declining site)."""
    site, profile = location.site, location.site.profile
    weights = _open_weights(profile, day.weekday())
    if not any(weights):
        return []
    growth = 0.92 + 0.16 * (span.days - age) / span.days
    mean = mean_taps * profile.weekday[day.weekday()] * _season(site, day) * growth
    count = max(0, round(rng.gauss(mean, math.sqrt(mean))))
    mood = rng.gauss(0, 0.04) - (0.15 if rng.random() < 0.03 else 0.0) - _decline(site, age)
    drafts: list[_Draft] = []
    for hour in sorted(rng.choices(range(24), cum_weights=list(accumulate(weights)), k=count)):
        second = rng.randrange(3600)
        local = datetime(day.year, day.month, day.day, hour, second // 60, second % 60, tzinfo=location.zone)
        peak = hour in profile.peak_hours
        drafts += _taps_at(site, rng, local.astimezone(UTC), mood + profile.peak_effect * peak, peak)
    drafts.sort(key=lambda draft: draft.at)
    return drafts


def _open_weights(profile: Profile, weekday: int) -> list[float]:
    """Traffic weights by local hour on a weekday, zero outside the opening hours."""
    start, end = profile.hours[weekday]
    return [w if start <= hour < end else 0.0 for hour, w in enumerate(profile.hourly)]


def _season(site: Site, day: date) -> float:
    """Relative traffic by time of year: peaks on the profile's day (half a year later south of the equator)."""
    peak = site.profile.season_peak_day + (182 if site.southern else 0)
    return 1 + site.profile.season_amplitude * math.cos(2 * math.pi * (day.timetuple().tm_yday - peak) / 365.25)


def _decline(site: Site, age: int) -> float:
    """How much worse a declining site is ``age`` days before the last day (0 before the decline began)."""
    return 0.22 * max(0.0, 1 - age / DECLINE_DAYS) if site.declining else 0.0


def _taps_at(site: Site, rng: random.Random, at: datetime, mood: float, peak: bool) -> list[_Draft]:
    """One customer's tap (with follow-up and maybe a comment), and now and then a repeat press after it."""
    score = _score(site.scale, rng.gauss(site.quality + mood, 0.24))
    followup, flags = _followup(site, rng, score, peak)
    comment = _comment(site, rng, score) if rng.random() < COMMENT_SHARE else None
    tap = _Draft(at, score, followup, comment, flags)
    if rng.random() >= REPEAT_SHARE:
        return [tap]
    return [tap, _Draft(at + timedelta(seconds=rng.uniform(0.5, 4)), score, flags=("repeat",))]


def _score(scale: int, latent: float) -> int:
    """The face (or 0..10 answer) a customer with latent satisfaction ``latent`` (0..1) taps."""
    valid = score_range(scale)
    if scale == NPS_SCALE:
        latent += 0.08  # people are kinder on a 0..10 scale
    return valid[min(len(valid) - 1, max(0, round(latent * (len(valid) - 1))))]


def _followup(site: Site, rng: random.Random, score: int, peak: bool) -> tuple[str | None, tuple[TapFlag, ...]]:
    """A reason after a negative or positive answer (some customers let the question time out, some skip it)."""
    if score in negative_scores(site.scale):
        reasons, answered = site.profile.negative_reasons, 0.6
    elif score in positive_scores(site.scale):
        reasons, answered = site.profile.positive_reasons, 0.3
    else:
        return None, ()
    draw = rng.random()
    if draw < answered:
        weights = [(4.0 if peak or site.declining else 2.0) if i == 0 else 1.0 for i in range(len(reasons))]
        return rng.choices(reasons, weights=weights)[0], ()
    return None, (("followup_timeout",) if draw < answered + 0.2 else ())


def _comment(site: Site, rng: random.Random, score: int) -> str:
    """A comment in one of the site's languages, negative or positive as the score is."""
    comments = site.profile.comments
    language = rng.choice([lang for lang in site.languages if lang in comments])
    negative, positive = comments[language]
    return rng.choice(negative if score in negative_scores(site.scale) else positive)


def _assign(location: _Location, drafts: Sequence[_Draft], rng: random.Random) -> None:
    """Give each draft a kiosk (by kiosk weight; a repeat press goes to its tap's kiosk) and that kiosk's next seq;
    taps after a kiosk went offline stay queued on it."""
    kiosks = location.kiosks
    cum = list(accumulate(kiosk.weight for kiosk in kiosks))
    kiosk = kiosks[0]
    for draft in drafts:
        if "repeat" not in draft.flags:
            kiosk = rng.choices(kiosks, cum_weights=cum)[0]
        kiosk.seq += 1
        if kiosk.offline_since is not None and draft.at >= kiosk.offline_since:
            kiosk.queued += 1
            continue
        kiosk.pending.append(_tap(location, kiosk, draft, rng))


def _tap(location: _Location, kiosk: _Kiosk, draft: _Draft, rng: random.Random) -> Tap:
    """The wire tap a kiosk would send for a draft (id from the seeded generator, a boot id per month)."""
    return Tap(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        seq=kiosk.seq,
        scale=location.site.scale,
        score=draft.score,
        tapped_at=draft.at,
        mono_ns=int(draft.at.timestamp() * 1e9),
        boot_id=f"boot-{draft.at:%Y%m}",
        followup=draft.followup,
        comment=draft.comment,
        flags=list(draft.flags),
    )


def _flush(engine: Engine, kiosk: _Kiosk, size: int) -> None:
    """Send the kiosk's oldest ``size`` pending taps as one batch, sent now from another boot (no clock fix)."""
    taps, kiosk.pending = kiosk.pending[:size], kiosk.pending[size:]
    batch = TapBatch(sent_at=datetime.now(UTC), boot_id="seed-sync", mono_ns=0, taps=taps)
    kiosk.stored += ingest_batch(engine, kiosk.identity, batch).accepted


# --- fleet state and users ----------------------------------------------------------------------


def _set_fleet_state(conn: Connection, created: Sequence[_Location], rng: random.Random, now: datetime) -> None:
    """What the kiosks' last heartbeats said: seen minutes ago, or (offline) at ``offline_since`` with taps queued."""
    for kiosk in (kiosk for location in created for kiosk in location.kiosks):
        seen = kiosk.offline_since or now - timedelta(seconds=rng.uniform(20, 240))
        conn.execute(
            update(kiosks).where(kiosks.c.id == kiosk.identity.kiosk_id).values(
                last_seen_at=seen, last_sync_at=seen, queue_depth=kiosk.queued, app_version=kiosk.app_version,
                clock_offset_seconds=kiosk.clock_offset or round(rng.uniform(-1.5, 1.5), 3),
                reported_seq=kiosk.seq, quarantined=0,
            )
        )  # fmt: skip


def _create_users(conn: Connection, created: Sequence[_Location], group_ids: dict[str, int]) -> tuple[DemoUser, ...]:
    """An admin, a manager of the first location's group and a manager of one location (the second, if any)."""
    group = created[0].site.group
    local = created[1] if len(created) > 1 else created[0]
    specs: tuple[tuple[str, str, str, dict[str, list[int]]], ...] = (
        ("admin", "admin", "every location", {}),
        ("group.manager", "manager", f"group {group}", {"group_ids": [group_ids[group]]}),
        ("location.manager", "manager", f"location {local.site.name}", {"location_ids": [local.id]}),
    )
    users = []
    for name, role, sees, grants in specs:
        email, password = f"{name}@{EMAIL_DOMAIN}", secrets.token_urlsafe(12)
        accounts.add_user(conn, email=email, password=password, role=role, **grants)
        users.append(DemoUser(email, password, role, sees))
    return tuple(users)


def _result(created: Sequence[_Location], group_ids: dict[str, int], users: tuple[DemoUser, ...]) -> SeedResult:
    seeded = tuple(
        SeededLocation(
            id=loc.id, name=loc.site.name, timezone=loc.site.timezone, scale=loc.site.scale, group=loc.site.group,
            kiosks=len(loc.kiosks), taps=sum(k.stored for k in loc.kiosks), queued=sum(k.queued for k in loc.kiosks),
        )
        for loc in created
    )  # fmt: skip
    fleet = [kiosk for loc in created for kiosk in loc.kiosks]
    return SeedResult(
        locations=seeded, groups=tuple(group_ids), kiosks=len(fleet),
        offline_kiosks=sum(kiosk.offline_since is not None for kiosk in fleet), users=users,
    )  # fmt: skip
