"""A data subject's copy (#14): everything stored of one location as JSON lines — ``smilepost location export``.

One JSON object per line, each with ``"record"`` naming its kind, in this order: the ``location`` (its columns,
the config parsed, without the kiosk admin PIN hash), its ``kiosk`` rows (without token hashes), its
``touchpoint`` rows, every ``tap`` (all columns; only those retention kept, see :mod:`server.retention`) and its
``daily_rollup`` rows. Rows are read in pages as they are written (the taps of a big location never sit in
memory at once); the file is created with mode 0600, as it holds comments.

Raises :class:`server.NotFound` for an unknown location and OSError when the file cannot be written.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, Table, select

from server import NotFound
from server.db import daily_rollups, kiosks, locations, taps, touchpoints
from server.locations import parse_config

EXPORT_FILE_MODE = 0o600
PAGE_ROWS = 1000  # rows fetched from the database at a time
SECRET_COLUMNS = frozenset({"token_hash", "key_hash", "password_hash", "code_hash"})  # never exported


def export_location_file(engine: Engine, location_id: int, path: Path) -> Counter[str]:
    """Write location ``location_id``'s records to ``path`` (created or replaced, mode 0600); records per kind.

    Raises NotFound for an unknown location (before the file is touched) and OSError from the file system.
    """
    with engine.connect() as conn:
        _location_row(conn, location_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, EXPORT_FILE_MODE)
        os.fchmod(fd, EXPORT_FILE_MODE)  # an existing file keeps its mode through O_CREAT
        with open(fd, "w", encoding="utf-8") as out:
            return export_location(conn, location_id, out.write)


def export_location(conn: Connection, location_id: int, write: Callable[[str], object]) -> Counter[str]:
    """Write the location's records, one JSON line each, through ``write``; records per kind.

    Raises NotFound for an unknown location.
    """
    counts: Counter[str] = Counter()
    for kind, record in _records(conn, location_id):
        write(json.dumps({"record": kind, **record}, ensure_ascii=False, default=_json) + "\n")
        counts[kind] += 1
    return counts


def _records(conn: Connection, location_id: int) -> Iterable[tuple[str, dict[str, Any]]]:
    yield "location", _location_record(_location_row(conn, location_id))
    owned: list[tuple[str, Table, Any]] = [
        ("kiosk", kiosks, kiosks.c.id),
        ("touchpoint", touchpoints, touchpoints.c.id),
        ("tap", taps, (taps.c.local_date, taps.c.effective_at, taps.c.id)),
        ("daily_rollup", daily_rollups, tuple(daily_rollups.primary_key.columns)),
    ]
    for kind, table, order in owned:
        query = select(table).where(table.c.location_id == location_id)
        query = query.order_by(*order) if isinstance(order, tuple) else query.order_by(order)
        for row in conn.execution_options(stream_results=True, yield_per=PAGE_ROWS).execute(query):
            yield kind, _public(row._mapping)


def _location_row(conn: Connection, location_id: int) -> Any:
    """Raises NotFound for an unknown location."""
    row = conn.execute(select(locations).where(locations.c.id == location_id)).first()
    if row is None:
        raise NotFound(f"location {location_id} does not exist")
    return row


def _location_record(row: Any) -> dict[str, Any]:
    """The location's columns, its config parsed (defaults when unset) and without the admin PIN hash."""
    record = _public(row._mapping)
    config = parse_config(row.config)
    record["config"] = config.model_dump(mode="json", exclude={"admin_pin_hash"})
    return record


def _public(mapping: Any) -> dict[str, Any]:
    return {name: value for name, value in mapping.items() if name not in SECRET_COLUMNS}


def _json(value: object) -> object:
    """JSON for what the database returns beyond JSON's own types (times, dates, UUIDs)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
