"""``smilepost db purge`` and ``smilepost location export``: retention and a data subject's copy (#14), a thin layer
over :mod:`server.retention` and :mod:`server.location_export`. Both have ``--json``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from server import SmilepostError
from server.cli import JsonOpt, _emit, _progress, _settings, db_app, location_app, server_side

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from server.retention import PurgeReport
    from server.settings import Settings


@contextmanager
def _admin_engine(settings: Settings) -> Iterator[Engine]:
    """The configured database's engine (migrated to head) for commands that commit in batches, acting as the CLI on
    this host for the audit trail; library errors become usage errors."""
    from server import audit
    from server.db import make_engine, upgrade

    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
        with audit.acting(audit.cli_actor()):  # the purge's audit rows name the CLI on this host
            yield engine
    except SmilepostError as exc:
        raise typer.BadParameter(str(exc)) from exc
    finally:
        engine.dispose()


@db_app.command("purge")
@server_side
def db_purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be removed; change nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Apply retention now: delete raw taps older than SMILEPOST_RETAIN_TAPS_DAYS and clear comments older than
    SMILEPOST_RETAIN_COMMENTS_DAYS (by local date); the rollups, and so every summary, stay. Prints what it removed."""
    from server.retention import purge

    settings = _settings()
    now = datetime.now(UTC)
    with _admin_engine(settings) as engine:
        report = purge(engine, settings, now, dry_run=True)
        if not dry_run:
            with _progress("purging", report.taps_deleted + report.comments_cleared) as advance:
                report = purge(engine, settings, now, progress=advance)
    _emit(as_json, report.to_json(), _describe(report, settings))


def _describe(report: PurgeReport, settings: Settings) -> str:
    """The purge in words: totals, then one line per location that had something to remove."""
    if not (settings.retain_taps_days or settings.retain_comments_days):
        return ("retention is off (SMILEPOST_RETAIN_TAPS_DAYS and SMILEPOST_RETAIN_COMMENTS_DAYS are 0): "
                "nothing purged")  # fmt: skip
    verb = ("would be deleted", "would be cleared") if report.dry_run else ("deleted", "cleared")
    lines = [f"{report.taps_deleted:,} taps {verb[0]} (kept {_days(settings.retain_taps_days)}), "
             f"{report.comments_cleared:,} comments {verb[1]} (kept {_days(settings.retain_comments_days)}); "
             + ("dry run: nothing changed" if report.dry_run else "rollups and summaries unchanged")]  # fmt: skip
    for place in report.locations:
        if place.taps_deleted or place.comments_cleared:
            lines.append(
                f"  location {place.location_id} {place.name}: {place.taps_deleted:,} taps before {place.taps_before},"
                f" {place.comments_cleared:,} comments before {place.comments_before}"
            )
    return "\n".join(lines)


def _days(days: int) -> str:
    return f"{days} days" if days else "for ever"


@location_app.command("export")
@server_side
def location_export(
    location_id: Annotated[int, typer.Argument(metavar="ID", help="Id of the location.")],
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="File to write (created with mode 0600).")],
    as_json: JsonOpt = False,
) -> None:
    """Export everything stored of a location as JSON lines: the location and its config, kiosks, touchpoints, every
    kept tap and the daily rollups; no secrets (no token or PIN hashes). Prints the records written per kind."""
    from server.location_export import export_location_file

    settings = _settings()
    with _admin_engine(settings) as engine:
        try:
            counts = export_location_file(engine, location_id, out)
        except OSError as exc:
            raise typer.BadParameter(f"cannot write {out}: {exc.strerror}", param_hint="'--out'") from exc
    written = dict(sorted(counts.items()))
    human = f"location {location_id} exported to {out}: " + ", ".join(f"{n:,} {kind}" for kind, n in written.items())
    _emit(as_json, {"location_id": location_id, "file": str(out), "records": written}, human)
