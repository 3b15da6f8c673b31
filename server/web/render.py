"""Rendering dashboard pages: :func:`render` (a template with the signed-in user, the session's CSRF token, its
one-shot message and the count of open alerts for the navigation), the Jinja2 environment and its filters, and the
query parameters the range, channel and question pickers share (:func:`url_with` keeps the rest of a page's view in
its links).

Templates are in ``server/web/templates`` (partials start with ``_``), static files (our CSS and JS, and Chart.js
vendored from npm) in ``server/web/static``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy import Engine

from server.analytics import dashboard
from server.analytics.summaries import RANGES
from server.api.deps import SESSION_COOKIE
from server.auth.accounts import Session
from server.web import i18n
from server.web.alert_views import local
from server.web.flash import take_flash
from server.web.i18n import N_

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
RANGE_LABELS = {"today": N_("Today"), "7d": N_("7 days"), "30d": N_("30 days"), "365d": N_("12 months"),
                "custom": N_("Custom")}  # fmt: skip
CHANNEL_LABELS = {None: N_("All channels"), "kiosk": N_("Kiosks"), "web": N_("Web (phones)")}

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.add_extension("jinja2.ext.i18n")


def _template_gettext(message: str) -> Markup:
    """A template's ``_()``: the message in the request's language, escaped like any other text of the page (a
    translation is text, never markup; Jinja formats it with its escaped ``%(name)s`` values afterwards)."""
    return escape(i18n.gettext(message))


def _template_ngettext(singular: str, plural: str, n: int) -> Markup:
    return escape(i18n.ngettext(singular, plural, n))


# The request's language (server.web.i18n), read when a template calls _(), ngettext() or {% trans %}.
templates.env.install_gettext_callables(_template_gettext, _template_ngettext, newstyle=True)  # type: ignore[attr-defined]

RangeQuery = Annotated[
    str, Query(pattern="^(" + "|".join([*RANGES, "custom"]) + ")$", description="today, 7d, 30d, 365d or custom")
]
StartQuery = Annotated[date | None, Query(description="first local date of a custom range")]
LastQuery = Annotated[date | None, Query(description="last local date of a custom range (inclusive)")]
ChannelQuery = Annotated[Literal["kiosk", "web"] | None, Query(description="kiosk or web; default every channel")]
QuestionQuery = Annotated[str | None, Query(max_length=64, description="question id; empty or none: the main one")]


def render(
    request: Request, name: str, session: Session | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page from its template in the request's language (:mod:`server.web.i18n`), with the signed-in user, the
    session's CSRF token for its forms and the session's one-shot message (:mod:`server.web.flash`), if any. An
    ``error`` or message the catalogues know is shown translated; others (the library's) as they are."""
    language = i18n.noted() or i18n.request_language(request, session.access.language if session else None)
    with i18n.use(language):
        flash = _take_flash(request) if session else None
        context.update(
            user=session.access if session else None,
            csrf_token=session.csrf_token if session else "",
            range_labels={key: i18n.gettext(label) for key, label in RANGE_LABELS.items()},
            channel_labels={key: i18n.gettext(label) for key, label in CHANNEL_LABELS.items()},
            flash=i18n.gettext(flash) if flash else None,
            nav_open_alerts=_open_alert_count(request, session) if session else 0,
            lang=language,
        )
        if isinstance(context.get("error"), str) and context["error"]:
            context["error"] = i18n.gettext(context["error"])
        return templates.TemplateResponse(request, name, context, status_code=status_code)


def _take_flash(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    engine: Engine = request.app.state.engine
    with engine.begin() as conn:
        return take_flash(conn, token)


def _open_alert_count(request: Request, session: Session) -> int:
    """Open alerts of the locations the user may see: the count beside "Alerts" in the navigation."""
    engine: Engine = request.app.state.engine
    with engine.connect() as conn:
        return sum(dashboard.open_alerts(conn, session.access.location_ids).values())


def sparkline(values: list[float | None], width: int = 120, height: int = 28, low: float = 0, high: float = 100) -> str:
    """SVG polyline points for a small trend line; gaps (None) are skipped."""
    if len(values) < 2:
        return ""
    step = width / (len(values) - 1)
    span = (high - low) or 1
    points = [f"{i * step:.1f},{height - (v - low) / span * height:.1f}" for i, v in enumerate(values) if v is not None]
    return " ".join(points)


def heat_colour(value: float | None, responses: int) -> str:
    """Background of a heatmap cell: red (0) to green (100) on the index scale, grey without answers."""
    if value is None or responses == 0:
        return "#eef0f3"
    hue = max(0.0, min(100.0, value)) * 1.2  # 0 red .. 120 green
    lightness = 80 if responses < 10 else 62
    return f"hsl({hue:.0f} 65% {lightness}%)"


def _seconds(value: float) -> str:
    """A number of seconds as people write it: 5, 2.5."""
    return f"{value:g}"


def _shown_seconds(value: float) -> str:
    """A number of seconds as people of the request's language write it: 5, 2.5 / 2,5."""
    return i18n.number(value, 0) if float(value).is_integer() else _seconds(value).replace(".", i18n.decimal_mark())


def _present(value: Any) -> bool:
    """Whether a view's value belongs in a URL: None, False and '' leave the key out (0 stays)."""
    return value is not None and value is not False and value != ""


def query_value(value: Any) -> str:
    """A view's value as a URL writes it: true, 2.5 (seconds as people write them), 2026-01-31, text as it is."""
    if value is True:
        return "true"
    if isinstance(value, float):
        return _seconds(value)
    return value.isoformat() if isinstance(value, date) else str(value)


def url_with(view: Mapping[str, Any], **changes: Any) -> str:
    """The query string (``?…``) of a page's view with ``changes``, keys whose value is None, False or '' left
    out: so a picker's links change one thing and keep the range, question, channel … the page shows."""
    merged = {**view, **changes}
    return "?" + urlencode({key: query_value(value) for key, value in merged.items() if _present(value)})


def hidden_view(view: Mapping[str, Any], skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(name, value) of a GET form's hidden inputs that keep a page's view, but for the ``skip`` keys (the
    form's own fields)."""
    return [(key, query_value(value)) for key, value in view.items() if key not in skip and _present(value)]


templates.env.filters["num"] = i18n.number
templates.env.filters["local"] = local
templates.env.filters["seconds"] = _shown_seconds
templates.env.filters["signed"] = i18n.signed
templates.env.filters["day"] = i18n.day
templates.env.globals["tr"] = i18n.gettext  # a label from data (N_-marked in Python), translated as it is
templates.env.globals["sparkline"] = sparkline
templates.env.globals["heat_colour"] = heat_colour
templates.env.globals["url_with"] = url_with
templates.env.globals["hidden_view"] = hidden_view
