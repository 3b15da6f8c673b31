"""``smilepost report send|subscribe|unsubscribe|timezone|poster``: reports by e-mail and the results poster (#12), a
thin layer over :mod:`server.reports`. Every command has ``--json``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from server.cli import JsonOpt, _admin_connection, _emit, _settings, app, server_side

report_app = typer.Typer(help="Reports by e-mail (now, or subscribed) and the results poster.", no_args_is_help=True)
app.add_typer(report_app, name="report")


class Every(StrEnum):
    """Which period a report covers: the last complete local day, ISO week or calendar month."""

    day = "day"
    week = "week"
    month = "month"


ADJECTIVES = {Every.day: "daily", Every.week: "weekly", Every.month: "monthly"}
LocationOpt = Annotated[int | None, typer.Option("--location", help="Id of the location.", show_default=False)]
GroupOpt = Annotated[int | None, typer.Option("--group", help="Id of the group (its locations pooled).",
                                              show_default=False)]  # fmt: skip


def _scope(location: int | None, group: int | None) -> dict[str, int | None]:
    return {"location_id": location, "group_id": group}


@report_app.command("send")
@server_side
def report_send(
    period: Annotated[Every, typer.Option("--period", help="The last complete day, ISO week or month.")],
    to: Annotated[str, typer.Option("--to", help="E-mail address to send it to, or webhook:ID (period and figures).")],
    location: LocationOpt = None,
    group: GroupOpt = None,
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Also write the PDF to this file.", dir_okay=False, show_default=False)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send one report of a location or group now, through the outbox (a running server or `smilepost worker`
    delivers it)."""
    from server.reports.delivery import send_report_now
    from server.reports.mail import figures

    settings = _settings()
    with _admin_connection() as conn:
        sent = send_report_now(conn, location_id=location, group_id=group, period=period.value, to=to,
                               public_url=settings.public_url)  # fmt: skip
    if pdf is not None:
        pdf.write_bytes(sent.pdf)
    report = sent.report
    payload: dict[str, Any] = {
        **_scope(location, group), "name": report.scope.name, "period": period.value,
        "period_start": report.period.start.isoformat(), "period_end": report.period.end.isoformat(), "to": to,
        "notifications": sent.notification_ids, "pdf": str(pdf) if pdf else None, "figures": figures(report),
        "responses": report.now.responses,
    }  # fmt: skip
    wrote = f"; PDF written to {pdf}" if pdf else ""
    human = f"{ADJECTIVES[period]} report of {report.scope.name} ({report.period.start} – {report.period.last})"
    _emit(as_json, payload, f"{human} queued for {to}{wrote}")


@report_app.command("subscribe")
@server_side
def report_subscribe(
    email: Annotated[
        str,
        typer.Argument(help="The user (sign-in e-mail) whose reports they are: they receive them, unless --webhook."),
    ],
    every: Annotated[Every, typer.Option("--every", help="A report of every day, ISO week or month.")],
    location: LocationOpt = None,
    group: GroupOpt = None,
    at: Annotated[str, typer.Option("--at", help="Local time HH:MM in the user's time zone.")] = "08:00",
    webhook: Annotated[
        int | None,
        typer.Option(
            "--webhook",
            min=1,
            help="Deliver to this webhook instead of the user's inbox (admins only).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe a user to reports of a location or group they may see; prints the subscription's id. With
    --webhook an admin's reports go to a webhook (Slack, Teams or signed JSON) instead."""
    from server.auth.accounts import user_id_of
    from server.reports.subscriptions import subscribe, user_timezone

    with _admin_connection() as conn:
        user_id = user_id_of(conn, email)
        subscription_id = subscribe(conn, user_id=user_id, location_id=location, group_id=group, every=every.value,
                                    at=at, webhook_id=webhook)  # fmt: skip
        zone = user_timezone(conn, user_id)
    payload: dict[str, object] = {"id": subscription_id, "email": email.strip().lower(), **_scope(location, group),
                                  "every": every.value, "at": at, "timezone": zone, "webhook": webhook}  # fmt: skip
    where = f" to webhook {webhook}" if webhook is not None else ""
    _emit(as_json, payload, f"subscription {subscription_id}: {ADJECTIVES[every]} reports at {at} {zone}{where}")


@report_app.command("unsubscribe")
@server_side
def report_unsubscribe(
    subscription_id: Annotated[int, typer.Argument(metavar="ID", help="Id of the subscription.")],
    as_json: JsonOpt = False,
) -> None:
    """Stop a report subscription."""
    from server.reports.subscriptions import unsubscribe

    with _admin_connection() as conn:
        unsubscribe(conn, subscription_id)
    _emit(as_json, {"id": subscription_id, "deleted": True}, f"subscription {subscription_id} deleted")


@report_app.command("timezone")
@server_side
def report_timezone(
    email: Annotated[str, typer.Argument(help="The user (sign-in e-mail).")],
    zone: Annotated[
        str | None, typer.Argument(help="IANA time zone (Europe/Oslo); leave out for their first location's.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the time zone a user's reports arrive in."""
    from server.auth.accounts import user_id_of
    from server.reports.subscriptions import set_user_timezone, user_timezone

    with _admin_connection() as conn:
        user_id = user_id_of(conn, email)
        set_user_timezone(conn, user_id, zone)
        effective = user_timezone(conn, user_id)
    _emit(as_json, {"email": email.strip().lower(), "timezone": zone, "effective": effective},
          f"reports for {email.strip().lower()} arrive in {effective}")  # fmt: skip


@report_app.command("poster")
@server_side
def report_poster(
    location: Annotated[int, typer.Option("--location", help="Id of the location.")],
    out: Annotated[Path, typer.Option("--out", help="PDF file to write.", dir_okay=False)],
    as_json: JsonOpt = False,
) -> None:
    """Write the results poster of a location (the last 7 days, one A4 page) as a PDF."""
    from server.reports.poster import poster_data
    from server.reports.render import html_to_pdf, poster_html

    with _admin_connection() as conn:
        poster = poster_data(conn, location)
    data = html_to_pdf(poster_html(poster))
    out.write_bytes(data)
    payload = {"location_id": location, "out": str(out), "bytes": len(data),
               "period_start": poster.period.start.isoformat(), "period_end": poster.period.end.isoformat(),
               "responses": poster.now.responses}  # fmt: skip
    _emit(as_json, payload, f"poster of {poster.name} ({poster.period.start} – {poster.period.last}) written to {out}")
