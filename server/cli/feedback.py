"""``smilepost alert|webhook|target|worker``: acting on feedback (#12), a thin layer over :mod:`server.alerts`,
:mod:`server.notify` and :mod:`server.scheduler`. Every command that lists or creates has ``--json``."""

from __future__ import annotations

import json
import signal
import threading
from enum import StrEnum
from typing import Annotated, Any

import typer

from server.cli import JsonOpt, _admin_connection, _emit, _emit_list, _settings, app, server_side

alert_app = typer.Typer(help="Alert rules: when a location's figures need someone's attention.", no_args_is_help=True)
webhook_app = typer.Typer(
    help="Webhook receivers of notifications (signed JSON, Slack or Teams).", no_args_is_help=True
)
target_app = typer.Typer(help="Service targets: the Happy Index (or NPS) a location or group aims for.",
                         no_args_is_help=True)  # fmt: skip
app.add_typer(alert_app, name="alert")
app.add_typer(webhook_app, name="webhook")
app.add_typer(target_app, name="target")


class Metric(StrEnum):
    """What an alert rule watches."""

    negative = "negative"
    happy_index = "index"  # (the name `index` is str.index)
    responses = "responses"
    silence = "silence"
    offline = "offline"
    baseline = "baseline"
    target = "target"


class WebhookFormat(StrEnum):
    """How a webhook's payload looks."""

    json = "json"
    slack = "slack"
    teams = "teams"


LocationOpt = Annotated[int | None, typer.Option("--location", help="Id of the location.", show_default=False)]
GroupOpt = Annotated[int | None, typer.Option("--group", help="Id of the group (each of its locations).",
                                              show_default=False)]  # fmt: skip


@alert_app.command("add")
@server_side
def alert_add(
    metric: Annotated[Metric, typer.Option("--metric", help="What to watch.")],
    location: LocationOpt = None,
    group: GroupOpt = None,
    above: Annotated[
        float | None,
        typer.Option("--above", help="Fire above X, in the figure's unit (40 = 40 %).", show_default=False),
    ] = None,  # fmt: skip
    below: Annotated[
        float | None,
        typer.Option("--below", help="Fire below X (index: trouble; responses: quiet).", show_default=False),
    ] = None,  # fmt: skip
    window: Annotated[
        str, typer.Option("--window", help="15m to 24h (1d); silence/offline: the minutes without.")
    ] = "30m",
    min_responses: Annotated[
        int | None,
        typer.Option(
            "--min-responses",
            min=0,
            show_default=False,
            help="Responses a window needs before it can fire [default 10].",
        ),
    ] = None,  # fmt: skip
    notify: Annotated[list[str] | None, typer.Option("--notify", help="email:ADDR or webhook:ID (repeat).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an alert rule for a location or a group; prints its id."""
    from server.alerts.rules import add_rule

    with _admin_connection() as conn:
        rule_id = add_rule(
            conn, location_id=location, group_id=group, metric=metric.value, above=above, below=below, window=window,
            min_responses=min_responses, notify=notify or [], created_by="cli",
        )  # fmt: skip
    _emit(as_json, {"id": rule_id}, f"alert rule {rule_id} added")


@alert_app.command("list")
@server_side
def alert_list(as_json: JsonOpt = False) -> None:
    """List the alert rules (enabled and disabled)."""
    from server.alerts.rules import list_rules

    with _admin_connection() as conn:
        rules = list_rules(conn)
    rows = [_rule_json(rule) for rule in rules]
    human = "\n".join(
        f"{r['id']}: {r['metric']} {r['direction']} {r['threshold']} over {r['window_seconds']} s at "
        f"{'location ' + str(r['location_id']) if r['location_id'] else 'group ' + str(r['group_id'])}"
        f"{'' if r['enabled'] else ' (disabled)'}"
        for r in rows
    )
    _emit_list(as_json, rows, human, "no alert rules")


@alert_app.command("disable")
@server_side
def alert_disable(rule_id: Annotated[int, typer.Argument(metavar="ID", help="Id of the rule.")],
                  as_json: JsonOpt = False) -> None:  # fmt: skip
    """Disable an alert rule; its open alerts close (with their notifications)."""
    from server.alerts.rules import disable_rule

    with _admin_connection() as conn:
        closed = disable_rule(conn, rule_id)
    _emit(as_json, {"id": rule_id, "closed_alerts": closed}, f"alert rule {rule_id} disabled")


def _rule_json(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.id, "location_id": rule.location_id, "group_id": rule.group_id, "metric": rule.metric,
        "direction": rule.direction, "threshold": rule.threshold, "window_seconds": rule.window_seconds,
        "min_responses": rule.min_responses, "notify": list(rule.notify), "enabled": rule.enabled,
    }  # fmt: skip


@webhook_app.command("add")
@server_side
def webhook_add(
    url: Annotated[str, typer.Argument(help="Where to POST, http(s)://…")],
    format: Annotated[
        WebhookFormat, typer.Option("--format", help="Plain JSON, or Slack / Teams messages.")
    ] = WebhookFormat.json,
    as_json: JsonOpt = False,
) -> None:
    """Add a webhook receiver; prints its id and signing secret (shown once, never stored)."""
    from server.notify.signing import server_key
    from server.notify.webhooks import add_webhook

    key = server_key(_settings())
    with _admin_connection() as conn:
        webhook_id, secret = add_webhook(conn, url, format.value, key=key)
    _emit(as_json, {"id": webhook_id, "secret": secret},
          f"webhook {webhook_id} added; its signing secret (shown once): {secret}")  # fmt: skip


@webhook_app.command("list")
@server_side
def webhook_list(as_json: JsonOpt = False) -> None:
    """List the webhook receivers."""
    from server.notify.webhooks import list_webhooks

    with _admin_connection() as conn:
        rows = [{"id": w.id, "url": w.url, "format": w.format} for w in list_webhooks(conn)]
    typer.echo(json.dumps(rows) if as_json else "\n".join(f"{r['id']}: {r['url']} ({r['format']})" for r in rows)
               or "no webhooks")  # fmt: skip


@webhook_app.command("revoke")
@server_side
def webhook_revoke(webhook_id: Annotated[int, typer.Argument(metavar="ID", help="Id of the webhook.")],
                   as_json: JsonOpt = False) -> None:  # fmt: skip
    """Stop delivering to a webhook (its pending notifications fail)."""
    from server.notify.webhooks import revoke_webhook

    with _admin_connection() as conn:
        revoke_webhook(conn, webhook_id)
    _emit(as_json, {"id": webhook_id, "revoked": True}, f"webhook {webhook_id} revoked")


@target_app.command("set")
@server_side
def target_set(
    index: Annotated[float, typer.Option("--index", help="The Happy Index to reach (NPS on 0-10 locations).")],
    location: LocationOpt = None,
    group: GroupOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the service target of a location or a group."""
    from server.alerts.targets import set_target

    with _admin_connection() as conn:
        set_target(conn, location_id=location, group_id=group, index=index)
    where = {"location_id": location} if location is not None else {"group_id": group}
    _emit(as_json, {**where, "index": index}, f"target set: {index:g}")


@app.command()
@server_side
def worker() -> None:
    """Deliver notifications and run the scheduler (alerts) without serving HTTP, until Ctrl-C or SIGTERM; run the
    servers with SMILEPOST_BACKGROUND=false then (or leave both on: instances share the work safely)."""
    from server.db import make_engine
    from server.scheduler import Background

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    background = Background(engine, settings)
    background.start()
    typer.echo("worker running: notifications and the scheduler; Ctrl-C stops it")
    stop.wait()
    background.stop()
    engine.dispose()


@alert_app.command("subscribe")
@server_side
def alert_subscribe(
    email: Annotated[str, typer.Argument(help="The user's sign-in e-mail.")],
    location: LocationOpt = None,
    group: GroupOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe a user to the alerts (opened, acknowledged, closed) of a location or group they may see, by e-mail;
    prints the subscription's id."""
    from server.alerts.subscriptions import subscribe_alerts
    from server.auth.accounts import user_id_of

    with _admin_connection() as conn:
        subscription = subscribe_alerts(conn, user_id=user_id_of(conn, email), location_id=location, group_id=group)
    _emit(as_json, {"id": subscription}, f"alert subscription {subscription}: {email}")


@alert_app.command("unsubscribe")
@server_side
def alert_unsubscribe(subscription_id: Annotated[int, typer.Argument(metavar="ID", help="Id of the subscription.")],
                      as_json: JsonOpt = False) -> None:  # fmt: skip
    """Stop an alert subscription."""
    from server.alerts.subscriptions import unsubscribe_alerts

    with _admin_connection() as conn:
        unsubscribe_alerts(conn, subscription_id)
    _emit(as_json, {"id": subscription_id, "unsubscribed": True}, f"alert subscription {subscription_id} stopped")
