"""Making and sending reports: :func:`send_report_now` (``smilepost report send``) and :func:`due_reports`, which
the scheduler's leader calls every tick.

Never twice: a subscription's report of a period is sent in the transaction that inserts its ``report_runs`` row
(primary key ``(subscription_id, period_start)``) and writes its e-mail to the outbox. A second instance, a second
thread or a restart that gets there too fails on the key and sends nothing. Never skipped: the run row of a period
whose send time passed while every instance was down is still missing at the next tick, so that tick sends it,
once; only the latest due period is sent, never a backlog (:func:`server.reports.periods.due_period`).

The report is rendered (PDF included) before that short transaction, so no lock is held while WeasyPrint works; a
report made by two instances at once is rendered twice and sent once. Within one tick a report is rendered once
for all subscribers of the same scope and period.

Raises :class:`server.InvalidInput`, :class:`server.NotFound` (from :func:`send_report_now`); :func:`due_reports`
logs what goes wrong with one subscription and goes on with the others.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from server import Forbidden, InvalidInput, SmilepostError
from server.analytics.summaries import Period
from server.auth.accounts import access_of
from server.db import report_runs
from server.notify.outbox import enqueue, recipient
from server.notify.webhooks import active_webhook
from server.reports.data import Report, Scope, build_report, scope_of
from server.reports.mail import Rendered, report_payload
from server.reports.periods import Kind, check_kind, due_period, last_complete, parse_hhmm
from server.reports.render import html_to_pdf, report_html
from server.reports.subscriptions import Subscription, may_see, report_subscriptions, user_timezone

log = logging.getLogger(__name__)

REPORTS_PER_CALL = 20  # a PDF takes a few tenths of a second: about as many as fit in one scheduler tick


@dataclass(frozen=True)
class SentReport:
    """A report written to the outbox: its period, the outbox rows and the PDF that was attached."""

    report: Report
    notification_ids: list[int]
    pdf: bytes


def render(report: Report, public_url: str | None = None) -> Rendered:
    """The report's e-mail HTML and its PDF (the same template, printed)."""
    html = report_html(report, public_url=public_url)
    pdf = html_to_pdf(report_html(report, public_url=public_url, pdf=True))
    return Rendered(html, pdf, pdf_filename(report))


def pdf_filename(report: Report) -> str:
    """``smilepost-week-gardermoen-gate-12-2026-03-09.pdf``: ASCII, no spaces."""
    ascii_name = unicodedata.normalize("NFKD", report.scope.name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60] or "report"
    return f"smilepost-{report.kind}-{slug}-{report.period.start.isoformat()}.pdf"


def send_report_now(
    conn: Connection,
    *,
    location_id: int | None = None,
    group_id: int | None = None,
    period: str,
    to: str,
    now: datetime | None = None,
    public_url: str | None = None,
) -> SentReport:
    """Write one report of the last complete day, week or month of a location or group to the outbox (in
    ``conn``'s transaction) for ``to`` (an e-mail address, or ``webhook:ID``); the report and its PDF.

    Raises InvalidInput for a bad period, address or revoked webhook, or neither or both of location and group;
    NotFound for an unknown location, group or webhook.
    """
    kind = check_kind(period)
    to = report_recipient(conn, to)
    scope = scope_of(conn, location_id=location_id, group_id=group_id)
    report = build_report(conn, scope, kind, last_complete(kind, scope.timezone, now or datetime.now(UTC)))
    rendered = render(report, public_url)
    ids = enqueue(conn, event="report", payload=report_payload(report, rendered), recipients=[to], now=now)
    return SentReport(report, ids, rendered.pdf)


def report_recipient(conn: Connection, to: str) -> str:
    """``email:ADDR`` or ``webhook:ID`` for ``--to``: an e-mail address (``email:`` optional) or ``webhook:ID``.

    Raises InvalidInput for anything else or a revoked webhook, NotFound for an unknown webhook.
    """
    text = to.strip()
    try:
        channel, target = recipient(text if text.startswith(("email:", "webhook:")) else f"email:{text}")
    except InvalidInput:
        raise InvalidInput(f"--to: expected an e-mail address or webhook:ID, got {to!r}") from None
    if channel == "webhook":
        active_webhook(conn, int(target), "--to")
    return f"{channel}:{target}"


def due_reports(
    engine: Engine, now: datetime | None = None, *, public_url: str | None = None, limit: int = REPORTS_PER_CALL
) -> int:
    """Send the subscribed reports due at ``now`` and not sent yet, at most ``limit`` (the rest at the next call,
    so that a busy Monday 08:00 does not hold up the scheduler's other work); how many were written to the outbox.

    One subscription's failure is logged and the others go on (it is tried again at the next call). Raises only
    what reading the subscriptions raises.
    """
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        subscriptions = report_subscriptions(conn)
    made: dict[tuple[int | None, int | None, Kind, Period], tuple[Report, Rendered]] = {}
    sent = 0
    for subscription in subscriptions:
        if sent >= limit:
            break
        try:
            sent += _send_due(engine, subscription, now, public_url, made)
        except Exception:
            log.exception("report subscription %s failed; it is tried again at the next tick", subscription.id)
    return sent


def _send_due(
    engine: Engine,
    subscription: Subscription,
    now: datetime,
    public_url: str | None,
    made: dict[tuple[int | None, int | None, Kind, Period], tuple[Report, Rendered]],
) -> int:
    """Render (or reuse) and send one subscription's due report; 1 when this call sent it, else 0."""
    with engine.connect() as conn:
        due = _due(conn, subscription, now)
        if due is None:
            return 0
        scope, period = due
        key = (subscription.location_id, subscription.group_id, subscription.every, period)
        if key not in made:
            report = build_report(conn, scope, subscription.every, period)
            made[key] = (report, render(report, public_url))
    report, rendered = made[key]
    try:
        with engine.begin() as conn:
            conn.execute(insert(report_runs).values(subscription_id=subscription.id, period_start=period.start,
                                                    created_at=now))  # fmt: skip
            enqueue(conn, event="report", payload=report_payload(report, rendered),
                    recipients=[subscription.recipient], now=now)  # fmt: skip
    except IntegrityError:
        log.debug("report %s of %s was sent by another instance", subscription.id, period.start)
        return 0
    log.info("report subscription %s: %s report of %s sent to the outbox", subscription.id, subscription.every,
             period.start)  # fmt: skip
    return 1


def _due(conn: Connection, subscription: Subscription, now: datetime) -> tuple[Scope, Period] | None:
    """The scope and period of the subscription's report due at ``now`` and not yet sent; None when there is none,
    or the scope has no location or is no longer the user's to see (logged at debug: it is asked every tick)."""
    try:
        scope = scope_of(conn, location_id=subscription.location_id, group_id=subscription.group_id)
        zone = user_timezone(conn, subscription.user_id)
        period = due_period(subscription.every, scope.timezone, parse_hhmm(subscription.at), zone,
                            since=subscription.created_at, now=now)  # fmt: skip
        if period is None or _sent(conn, subscription.id, period):
            return None
        if not may_see(access_of(conn, subscription.user_id), scope):
            raise Forbidden(f"user {subscription.user_id} may no longer see {scope.name!r}")
    except SmilepostError as exc:
        log.debug("report subscription %s: nothing to send (%s)", subscription.id, exc)
        return None
    return scope, period


def _sent(conn: Connection, subscription_id: int, period: Period) -> bool:
    r = report_runs.c
    query = select(r.subscription_id).where(r.subscription_id == subscription_id, r.period_start == period.start)
    return conn.execute(query).first() is not None
