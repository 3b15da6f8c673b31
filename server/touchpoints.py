"""Web touchpoints: a link or QR code a customer opens on their phone (``/s/<slug>``), as operators create, list and
revoke them from the CLI, the API and the admin pages, and what the customer page is served.

A touchpoint belongs to one location; its slug is random (128 bits, URL-safe) and unguessable, so the page's
address is its only way in. A revoked touchpoint's page and tap endpoint answer 404, as an unknown slug's do.
Its taps go through :func:`server.ingest.ingest_web_batch`, stored with channel ``web`` and the touchpoint.

Raises :class:`server.NotFound` and :class:`server.InvalidInput`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, insert, select, update

from server import InvalidInput, NotFound, audit
from server.db import locations, touchpoints
from server.ingest import Source
from server.locations import parse_config
from shared.protocol import (
    CommentSettings,
    FollowUp,
    LocationConfig,
    Question,
    QuestionMode,
    Scale,
)

SLUG_BYTES = 16  # 128 bits: 22 URL-safe characters
MAX_NAME = 200
PAGE_PATH = "/s/"


@dataclass(frozen=True)
class Touchpoint:
    """A touchpoint as operators see it."""

    id: int
    location_id: int
    location_name: str
    name: str
    slug: str
    created_at: datetime
    revoked_at: datetime | None
    last_tap_at: datetime | None
    received: int

    @property
    def path(self) -> str:
        return f"{PAGE_PATH}{self.slug}"

    def url(self, public_url: str | None) -> str:
        """The page's absolute address under ``public_url`` (the server as people reach it), else its path."""
        return f"{public_url.rstrip('/')}{self.path}" if public_url else self.path


class PageConfig(BaseModel):
    """What the customer page needs of its location (served inside the page; never the admin PIN hash)."""

    model_config = ConfigDict(frozen=True)

    slug: str
    location_name: str
    scale: Scale
    question_id: str
    default_language: str
    texts: dict[str, dict[str, str]]
    followup: FollowUp | None
    comment: CommentSettings
    questions: list[Question]
    question_mode: QuestionMode
    question_timeout_seconds: float
    thank_you_seconds: float
    attract_after_seconds: float
    repeat_press_seconds: float  # kiosk mode: a press this soon after the previous one is the same customer's


@dataclass(frozen=True)
class WebTarget:
    """An active touchpoint with its location: where a page's taps go and what the page shows."""

    touchpoint_id: int
    slug: str
    location_id: int
    location_name: str
    timezone: ZoneInfo
    scale: Scale
    config: LocationConfig
    archived: bool = False  # its location is archived: the page is gone and taps are refused (server.lifecycle)

    @property
    def source(self) -> Source:
        return Source(location_id=self.location_id, timezone=self.timezone, touchpoint_id=self.touchpoint_id)

    @property
    def repeat_seconds(self) -> float:
        return self.config.web_repeat_minutes * 60

    def page_config(self) -> PageConfig:
        c = self.config
        return PageConfig(
            slug=self.slug, location_name=self.location_name, scale=self.scale, question_id=c.question_id,
            default_language=c.default_language, texts=c.texts, followup=c.followup, comment=c.comment,
            questions=c.questions, question_mode=c.question_mode,
            question_timeout_seconds=c.question_timeout_seconds, thank_you_seconds=c.thank_you_seconds,
            attract_after_seconds=c.attract_after_seconds, repeat_press_seconds=c.repeat_press_seconds,
        )  # fmt: skip


def add_touchpoint(conn: Connection, *, location_id: int, name: str | None = None) -> Touchpoint:
    """Create a touchpoint with a fresh random slug; ``name`` defaults to "Web <n>" (n-th of the location).

    Raises NotFound for an unknown location, InvalidInput for an empty or over-long name.
    """
    location = conn.execute(select(locations.c.name).where(locations.c.id == location_id)).first()
    if location is None:
        raise NotFound(f"location {location_id} does not exist")
    if name is not None:
        name = name.strip()
        if not name or len(name) > MAX_NAME or "\x00" in name:
            raise InvalidInput(f"name: expected 1 to {MAX_NAME} characters, got {len(name)}")
    else:
        count = len(conn.execute(select(touchpoints.c.id).where(touchpoints.c.location_id == location_id)).all())
        name = f"Web {count + 1}"
    values = {"location_id": location_id, "name": name, "slug": new_slug(), "created_at": datetime.now(UTC)}
    touchpoint_id = conn.execute(insert(touchpoints).values(**values)).inserted_primary_key
    assert touchpoint_id is not None
    touchpoint = get_touchpoint(conn, int(touchpoint_id[0]))
    audit.record(conn, "touchpoint.add", target=("touchpoint", touchpoint.id),
                 summary=f"touchpoint {touchpoint.id} {name!r} added at {audit.location_label(conn, location_id)}",
                 after={"location_id": location_id, "name": name})  # fmt: skip
    return touchpoint


def new_slug() -> str:
    """A random, unguessable slug (128 bits, URL-safe base64 without padding)."""
    return secrets.token_urlsafe(SLUG_BYTES)


def revoke_touchpoint(conn: Connection, touchpoint_id: int) -> Touchpoint:
    """Revoke a touchpoint: its page and its tap endpoint answer 404 from now on; its taps stay. Revoking twice
    keeps the first time. Raises NotFound for an unknown touchpoint."""
    touchpoint = get_touchpoint(conn, touchpoint_id)
    if touchpoint.revoked_at is None:
        now = datetime.now(UTC)
        conn.execute(update(touchpoints).where(touchpoints.c.id == touchpoint_id).values(revoked_at=now))
        audit.record(conn, "touchpoint.revoke", target=("touchpoint", touchpoint_id),
                     summary=f"touchpoint {touchpoint_id} {touchpoint.name!r} at "
                             f"{audit.location_label(conn, touchpoint.location_id)} revoked",
                     before={"revoked_at": None}, after={"revoked_at": now})  # fmt: skip
    return get_touchpoint(conn, touchpoint_id)


def get_touchpoint(conn: Connection, touchpoint_id: int) -> Touchpoint:
    """One touchpoint. Raises NotFound for an unknown one."""
    found = _listed(conn, touchpoints.c.id == touchpoint_id)
    if not found:
        raise NotFound(f"touchpoint {touchpoint_id} does not exist")
    return found[0]


def list_touchpoints(conn: Connection, *, location_ids: list[int] | None = None) -> list[Touchpoint]:
    """Touchpoints (of these locations, else all), by location and id, revoked ones included."""
    where = touchpoints.c.location_id.in_(location_ids) if location_ids is not None else None
    return _listed(conn, where)


def _listed(conn: Connection, where: object) -> list[Touchpoint]:
    t = touchpoints.c
    query = (
        select(t.id, t.location_id, locations.c.name.label("location_name"), t.name, t.slug, t.created_at,
               t.revoked_at, t.last_tap_at, t.received)
        .join(locations, locations.c.id == t.location_id)
        .order_by(t.location_id, t.id)
    )  # fmt: skip
    if where is not None:
        query = query.where(where)  # type: ignore[arg-type]
    return [Touchpoint(**row._mapping) for row in conn.execute(query)]


def find_active(conn: Connection, slug: str) -> WebTarget | None:
    """The active touchpoint with this slug and its location, or None (unknown or revoked: the same answer)."""
    row = conn.execute(
        select(touchpoints.c.id, touchpoints.c.slug, locations.c.id.label("location_id"), locations.c.name,
               locations.c.timezone, locations.c.scale, locations.c.config, locations.c.archived_at)
        .join(locations, locations.c.id == touchpoints.c.location_id)
        .where(touchpoints.c.slug == slug, touchpoints.c.revoked_at.is_(None))
    ).first()  # fmt: skip
    if row is None:
        return None
    config = parse_config(row.config)
    return WebTarget(
        touchpoint_id=row.id, slug=row.slug, location_id=row.location_id, location_name=row.name,
        timezone=ZoneInfo(row.timezone), scale=row.scale, config=config, archived=row.archived_at is not None,
    )  # fmt: skip
