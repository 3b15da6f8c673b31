"""Comments customers typed: search and filter them (:func:`search`) by text, local dates, score, reason, channel
and location, a page at a time with the total that matches; and hide one from managers (:func:`hide_comment`).

Who sees what: a caller sees the locations its :class:`~server.auth.accounts.Access` grants. A comment an admin hid
is left out for everyone but admins (managers and read API keys never get it, whatever they ask); admins get it
marked ``hidden``. Texts are shown as the location page shows them: swear words masked for the locations that ask
for it (:mod:`server.privacy.profanity`), with the kiosk's or web touchpoint's name and the reason's label
(:mod:`shared.texts`). A comment retention cleared (NULL) is no longer one.

Raises :class:`server.InvalidInput`, :class:`server.NotFound` and :class:`server.Forbidden`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, func, select, update

from server import InvalidInput, NotFound, audit
from server.analytics.dashboard import COMMENT_SOURCE, COMMENTED_TAPS
from server.analytics.summaries import Place, question_texts, visible_locations
from server.auth.accounts import Access
from server.db import CHANNELS, taps
from server.locations import profanity_masked
from server.privacy.profanity import mask
from shared.texts import reason_label

MAX_PAGE = 100
MAX_TEXT = 200  # characters of the text searched for
MAX_REASON = 64  # as a reason id (shared.protocol)
SCORES = range(0, 11)  # every score of every scale (0-10 for NPS, 1..5 for faces)


@dataclass(frozen=True)
class Comment:
    """One comment as a list shows it: when (the location's local time), where, by which kiosk or touchpoint, the
    face and reason tapped, the text (masked if the location asks for it) and whether an admin hid it."""

    tap_id: str
    at: datetime
    location_id: int
    location: str
    source: str  # the kiosk's name, or the web touchpoint's
    channel: str  # "kiosk" | "web"
    score: int
    scale: int
    reason: str | None  # the reason id
    reason_label: str | None
    text: str
    hidden: bool


@dataclass(frozen=True)
class CommentPage:
    """A page of comments, newest first, and how many match in all."""

    total: int
    comments: list[Comment]
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts; None on the last one."""
        return self.offset + self.limit if self.offset + self.limit < self.total else None


def search(
    conn: Connection,
    access: Access,
    *,
    text: str | None = None,
    start: date | None = None,
    end: date | None = None,
    scores: Collection[int] = (),
    reason: str | None = None,
    channel: str | None = None,
    location_ids: Collection[int] | None = None,
    include_hidden: bool = True,
    languages: Sequence[str] = (),
    limit: int = 25,
    offset: int = 0,
) -> CommentPage:
    """The comments ``access`` may see that match every filter given, newest first: ``text`` anywhere in the
    comment ignoring case (``%`` and ``_`` are just characters); local dates from ``start`` to ``end``, both
    inclusive; one of ``scores``; follow-up ``reason`` (its id); ``channel`` ("kiosk" or "web"); one of
    ``location_ids``. Hidden comments are included, marked, for an admin who asks (``include_hidden``), never for
    anyone else. Reason labels in the first of ``languages`` each location has.

    Raises InvalidInput for a filter or page that cannot be used (the message names it), Forbidden for a location
    ``access`` may not see.
    """
    _check(text, start, end, scores, reason, channel, limit, offset)
    places = {place.id: place for place in visible_locations(conn, _locations(access, location_ids))}
    where = _where(places, text, start, end, scores, reason, channel, include_hidden and access.is_admin)
    if not places:
        return CommentPage(0, [], limit, offset)
    total = conn.execute(select(func.count()).select_from(taps).where(*where)).scalar_one()
    t = taps.c
    query = (
        select(t.id, t.effective_at, t.location_id, t.channel, t.score, t.scale, t.question_id, t.followup,
               t.comment, t.comment_hidden, COMMENT_SOURCE)
        .select_from(COMMENTED_TAPS)
        .where(*where)
        .order_by(t.effective_at.desc(), t.id.desc())
        .limit(limit)
        .offset(offset)
    )  # fmt: skip
    rows = conn.execute(query).all()
    masked = profanity_masked(conn, {row.location_id for row in rows})
    return CommentPage(int(total), [_comment(row, places, masked, languages) for row in rows], limit, offset)


def _check(
    text: str | None,
    start: date | None,
    end: date | None,
    scores: Collection[int],
    reason: str | None,
    channel: str | None,
    limit: int,
    offset: int,
) -> None:
    if text is not None and len(text) > MAX_TEXT:
        raise InvalidInput(f"text: at most {MAX_TEXT} characters, got {len(text)}")
    if text is not None and "\x00" in text:
        raise InvalidInput("text: must not contain NUL characters")
    if start is not None and end is not None and start > end:
        raise InvalidInput(f"start ({start}) must not be after end ({end})")
    if bad := sorted(score for score in scores if score not in SCORES):
        raise InvalidInput(f"scores: each must be 0..10, got {bad[0]}")
    if reason is not None and (not 1 <= len(reason) <= MAX_REASON or "\x00" in reason):
        raise InvalidInput(f"reason: a reason id of 1..{MAX_REASON} characters, without NUL")
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput(f"channel: one of {', '.join(CHANNELS)}, got {channel!r}")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit: must be 1..{MAX_PAGE}, got {limit}")
    if offset < 0:
        raise InvalidInput(f"offset: must be 0 or more, got {offset}")


def _locations(access: Access, location_ids: Collection[int] | None) -> frozenset[int] | None:
    """The locations searched: those asked for (each checked against ``access``), else every one it may see."""
    if location_ids is None:
        return access.location_ids
    for location_id in location_ids:
        access.check(location_id)
    return frozenset(location_ids)


def _where(
    places: dict[int, Place],
    text: str | None,
    start: date | None,
    end: date | None,
    scores: Collection[int],
    reason: str | None,
    channel: str | None,
    show_hidden: bool,
) -> list[ColumnElement[bool]]:
    t = taps.c
    where: list[ColumnElement[bool]] = [t.location_id.in_(sorted(places)), t.comment.is_not(None)]
    if not show_hidden:
        where.append(t.comment_hidden.is_(False))
    if text:  # LIKE with %, _ and the escape character escaped; lower() on both sides in SQLite, ILIKE in PostgreSQL
        where.append(t.comment.icontains(text, autoescape=True))
    if start is not None:
        where.append(t.local_date >= start)
    if end is not None:
        where.append(t.local_date <= end)
    if scores:
        where.append(t.score.in_(sorted(set(scores))))
    if reason is not None:
        where.append(t.followup == reason)
    if channel is not None:
        where.append(t.channel == channel)
    return where


def _comment(row: Any, places: dict[int, Place], masked: frozenset[int], languages: Sequence[str]) -> Comment:
    place = places[row.location_id]
    label = None
    if row.followup:
        config = question_texts(place.config, row.question_id)
        language = next((lang for lang in languages if lang in config.texts), None)
        label = reason_label(config, row.followup, language)
    return Comment(
        tap_id=str(row.id), at=row.effective_at.astimezone(ZoneInfo(place.timezone)), location_id=place.id,
        location=place.name, source=row[-1], channel=row.channel, score=row.score, scale=row.scale,
        reason=row.followup, reason_label=label, text=mask(row.comment) if place.id in masked else row.comment,
        hidden=bool(row.comment_hidden),
    )  # fmt: skip


@dataclass(frozen=True)
class ReasonChoice:
    """A reason a filter offers: its id and its label (as the first location asking it labels it)."""

    id: str
    label: str


def reason_choices(places: Sequence[Place], languages: Sequence[str] = ()) -> list[ReasonChoice]:
    """Every follow-up reason the locations' questions offer now (either side), labelled, by label."""
    found: dict[str, str] = {}
    for place in places:
        for question in place.questions:
            if question.followup is None:
                continue
            config = question_texts(place.config, question.id)
            language = next((lang for lang in languages if lang in config.texts), None)
            for reason in (*question.followup.negative_reasons, *question.followup.positive_reasons):
                found.setdefault(reason, reason_label(config, reason, language))
    return sorted((ReasonChoice(id, label) for id, label in found.items()), key=lambda r: (r.label.lower(), r.id))


def hide_comment(conn: Connection, tap_id: str | uuid.UUID, hidden: bool) -> bool:
    """Hide a tap's comment from managers (``hidden``) or show it to them again; True when that changed something.
    A change is recorded in the audit trail (``comment.hide`` / ``comment.show``), without the comment's text.

    Raises NotFound for an unknown tap id (or one that is not an id) and for a tap without a comment.
    """
    try:
        key = tap_id if isinstance(tap_id, uuid.UUID) else uuid.UUID(str(tap_id))
    except ValueError as exc:
        raise NotFound(f"tap {tap_id!r} does not exist") from exc
    t = taps.c
    row = conn.execute(select(t.location_id, t.comment.is_not(None), t.comment_hidden).where(t.id == key)).first()
    if row is None:
        raise NotFound(f"tap {key} does not exist")
    if not row[1]:
        raise NotFound(f"tap {key} has no comment (none was typed, or retention cleared it)")
    if bool(row.comment_hidden) == hidden:
        return False
    conn.execute(update(taps).where(t.id == key).values(comment_hidden=hidden))
    verb = "hidden from" if hidden else "shown again to"
    audit.record(
        conn, "comment.hide" if hidden else "comment.show", target=("tap", key),
        summary=f"comment of tap {key} at location {row.location_id} {verb} managers",
        before={"comment_hidden": not hidden}, after={"comment_hidden": hidden},
    )  # fmt: skip
    return True
