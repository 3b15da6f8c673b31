"""The audit trail: who changed what, when, and the values before and after.

Every admin action records one row in ``audit_log`` in the transaction that makes the change, from the library
function that makes it, so the CLI, the API and the dashboard are covered alike. Who acts is known from where the
call comes from, not passed down:

- in a request, the dependency that authenticated a user or an API key notes an :class:`Actor` on the request
  (:func:`act_as`); the object is shared with the threads the request runs on;
- on the host, the CLI wraps each command in :func:`acting` with ``cli`` and the host's ``user@hostname``;
- anything else (the scheduler's retention purge, tests calling the library) is the ``system``.

The trail is append-only: no code path updates or deletes a row, and triggers refuse it in the database. Rows name
their target by kind and id, with no foreign key, so they outlive a deleted location or user (the summary keeps its
name). Values under a secret's name (passwords, tokens, key hashes, PINs, codes) are never written:
:func:`record` replaces them with ``"[secret]"``.

:func:`entries` reads it back, filtered and paged (``GET /api/v1/audit``, ``/admin/audit``).

Raises :class:`server.InvalidInput`.
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import Connection, func, insert, select

from server import InvalidInput
from server.db import audit_log, locations
from server.logs import REQUEST

ActorKind = Literal["user", "apikey", "cli", "system"]
SECRET = "[secret]"
MAX_LIMIT = 200  # entries per page of :func:`entries`
# Keys whose values are never written (matched on the lower-cased key, as a whole word part).
_SECRET_PARTS = ("password", "token", "secret", "hash", "pin", "code")


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user (``id`` their user id, ``label`` their e-mail), an API key (its id and name),
    the CLI on the host (``user@hostname``) or the system."""

    kind: ActorKind
    id: str
    label: str


SYSTEM = Actor("system", "", "system")
_ACTOR: ContextVar[Actor | None] = ContextVar("smilepost_actor", default=None)


def cli_actor() -> Actor:
    """The CLI on this host, as the person running it: ``user@hostname``."""
    try:
        user = getpass.getuser()
    except OSError:  # no name for the uid (a container without /etc/passwd entry)
        user = "unknown"
    who = f"{user}@{socket.gethostname()}"[:64]
    return Actor("cli", who, f"cli {who}")


@contextmanager
def acting(actor: Actor) -> Iterator[Actor]:
    """Run the block as ``actor`` (the CLI's commands, a test)."""
    token = _ACTOR.set(actor)
    try:
        yield actor
    finally:
        _ACTOR.reset(token)


def act_as(actor: Actor) -> None:
    """Note who acts in the current request (from the dependency that authenticated them); outside a request,
    nothing."""
    if (context := REQUEST.get()) is not None:
        context.actor = actor


def current_actor() -> Actor:
    """Who acts now: the block's :func:`acting` actor, else the request's, else :data:`SYSTEM`."""
    if (actor := _ACTOR.get()) is not None:
        return actor
    context = REQUEST.get()
    if context is not None and isinstance(context.actor, Actor):
        return context.actor
    return SYSTEM


def record(
    conn: Connection,
    action: str,
    *,
    target: tuple[str, object],
    summary: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Append one row for an admin action, in ``conn``'s transaction (so it is kept exactly when the change is).

    ``action`` is ``kind.verb`` (e.g. ``location.rename``); ``target`` the kind and id of what changed; ``before``
    and ``after`` the values changed (only those), with secrets replaced by ``"[secret]"``.
    """
    actor = current_actor()
    conn.execute(
        insert(audit_log).values(
            at=datetime.now(UTC), actor_kind=actor.kind, actor_id=actor.id[:64], actor=actor.label[:254],
            action=action, target_kind=target[0], target_id=str(target[1])[:64], summary=summary[:500],
            before=_json(before), after=_json(after),
        )
    )  # fmt: skip


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values that differ between ``before`` and ``after`` (keys of either), as two dicts for :func:`record`."""
    keys = [key for key in {**before, **after} if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def location_label(conn: Connection, location_id: int) -> str:
    """``location 3 'Oslo Gate B'`` for a summary (``location 3`` when there is no such location)."""
    name = conn.execute(select(locations.c.name).where(locations.c.id == location_id)).scalar()
    return f"location {location_id}" if name is None else f"location {location_id} {name!r}"


@dataclass(frozen=True)
class Entry:
    """One row of the trail: when, who (kind, id and label), what (action, target) and the values changed."""

    id: int
    at: datetime
    actor_kind: str
    actor_id: str
    actor: str
    action: str
    target_kind: str
    target_id: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class Page:
    """A page of the trail, newest first; ``next_before_id`` asks for the next (older) page, None on the last."""

    entries: list[Entry]
    next_before_id: int | None


def entries(
    conn: Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    target_kind: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> Page:
    """A page of the trail, newest first: at most ``limit`` (1-200) entries with an id below ``before_id`` (the
    page before's ``next_before_id``), filtered by ``actor`` (part of the label or the id, any case, or a kind such as
    ``cli``), ``action`` (a prefix: ``location`` or ``location.configure``), target kind and id, and ``since`` <=
    ``at`` < ``until``.

    Raises InvalidInput for a limit out of range, naive datetimes or a NUL in a text filter.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: expected 1 to {MAX_LIMIT}, got {limit}")
    texts = {"actor": actor, "action": action, "target_kind": target_kind, "target_id": target_id}
    for name, value in texts.items():
        if value is not None and "\x00" in value:
            raise InvalidInput(f"{name}: must not contain NUL")
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(f"{name}: expected a time with its UTC offset, got {moment.isoformat()}")
    a = audit_log.c
    query = select(audit_log).order_by(a.id.desc()).limit(limit + 1)  # one more: is there a next page?
    if actor:
        text = actor.strip().lower()
        named = func.lower(a.actor).contains(text, autoescape=True)
        query = query.where(named | (func.lower(a.actor_id) == text) | (a.actor_kind == text))
    if action:
        query = query.where(a.action.startswith(action.strip(), autoescape=True))
    if target_kind:
        query = query.where(a.target_kind == target_kind.strip())
    if target_id:
        query = query.where(a.target_id == target_id.strip())
    if since is not None:
        query = query.where(a.at >= since)
    if until is not None:
        query = query.where(a.at < until)
    if before_id is not None:
        query = query.where(a.id < before_id)
    found = [
        Entry(id=r.id, at=r.at, actor_kind=r.actor_kind, actor_id=r.actor_id, actor=r.actor, action=r.action,
              target_kind=r.target_kind, target_id=r.target_id, summary=r.summary,
              before=json.loads(r.before) if r.before else None, after=json.loads(r.after) if r.after else None)
        for r in conn.execute(query)
    ]  # fmt: skip
    return Page(found[:limit], found[limit - 1].id if len(found) > limit else None)


def scrub(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with every value under a secret's name (nested too) replaced by ``"[secret]"`` (None, which tells
    only that there is none, is kept)."""
    return {key: SECRET if _is_secret(key) and value is not None else _scrub_value(value)
            for key, value in values.items()}  # fmt: skip


def _scrub_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return scrub(value)
    if isinstance(value, list | tuple):
        return [_scrub_value(item) for item in value]
    return value


def _is_secret(key: str) -> bool:
    parts = key.lower().replace("-", "_").split("_")
    return any(part in _SECRET_PARTS or part.endswith(("password", "token", "secret")) for part in parts)


def _json(values: Mapping[str, Any] | None) -> str | None:
    if values is None:
        return None
    return json.dumps(scrub(values), default=_plain, sort_keys=True, ensure_ascii=False)


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)
