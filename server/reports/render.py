"""Rendering reports and posters: one Jinja2 template per document (``server/web/templates/reports/``) makes the
HTML (the e-mail's body, the poster page) and, through WeasyPrint, the PDF. Autoescaping is on: comments and names
are customer and operator text. Charts are inline SVG (:mod:`server.reports.charts`), styles inline; nothing is
fetched while rendering: WeasyPrint gets a URL fetcher that refuses every URL but ``data:``.

Raises nothing of its own; a template error (a bug) propagates.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from server.reports import charts
from server.reports.data import Report
from server.reports.periods import describe, span
from server.reports.poster import Poster
from shared import scores

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parents[1] / "web" / "templates"
KIND_TITLES = {"day": "Daily report", "week": "Weekly report", "month": "Monthly report"}
_PDF_LOCK = threading.Lock()  # WeasyPrint (Pango, fontconfig) does not promise thread safety: one render at a time


@cache
def environment() -> Environment:
    """The Jinja2 environment of the report templates: autoescaped, strict about undefined names."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    env.filters.update(num=number, signed=signed)
    env.globals.update(face=charts.face, interval=interval)
    return env


def number(value: float | None, digits: int = 1) -> str:
    """``72.4``; ``–`` for None."""
    return "–" if value is None else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 1) -> str:
    """``+3.2`` / ``−1.0``; ``–`` for None."""
    return "–" if value is None else f"{value:+.{digits}f}".replace("-", "−")


def interval(figure: scores.Estimate | scores.Share) -> str:
    """``69.1–75.6``: the 95 % interval, or an empty string without answers."""
    if figure.low is None or figure.high is None:
        return ""
    return f"{figure.low:.1f}–{figure.high:.1f}"


@dataclass(frozen=True)
class Progress:
    """How far the headline is from the target: bar positions in percent of the scale's width."""

    target: float
    value: float | None
    reached: bool
    gap: float | None  # target minus value; None without answers
    value_at: float
    target_at: float


def progress(report: Report) -> Progress | None:
    """The headline against the report's target, or None without a target."""
    if report.target is None:
        return None
    low = -100.0 if report.nps else 0.0
    value = report.now.headline.value

    def at(x: float) -> float:
        return max(0.0, min(100.0, (x - low) / (100.0 - low) * 100))

    return Progress(
        target=report.target, value=value, reached=value is not None and value >= report.target,
        gap=None if value is None else report.target - value, value_at=at(value if value is not None else low),
        target_at=at(report.target),
    )  # fmt: skip


def report_html(report: Report, *, public_url: str | None = None, pdf: bool = False) -> str:
    """The report as an HTML document: the e-mail's body, or (``pdf``) the page WeasyPrint prints."""
    points = [charts.Point(bar.label, bar.estimate) for bar in report.trend]
    trend_title = "Per hour" if report.kind == "day" else "Per day"
    context: dict[str, Any] = {
        "r": report, "pdf": pdf, "title": f"{KIND_TITLES[report.kind]}: {report.scope.name}",
        "heading": KIND_TITLES[report.kind], "period_text": describe(report.kind, report.period),
        "before_text": span(report.before_period), "progress": progress(report), "headline_name": _headline(report),
        "url": _link(report, public_url), "small_sample": scores.SMALL_SAMPLE,
        "trend_svg": charts.trend_chart(points, nps=report.nps, target=report.target, title=trend_title),
        "trend_title": trend_title, "faces_svg": charts.faces_bar(report.now.counts, report.scope.scale),
    }  # fmt: skip
    return environment().get_template("reports/report.html").render(context)


def _headline(report: Report) -> str:
    return "NPS" if report.nps else "Happy Index"


def _link(report: Report, public_url: str | None) -> str | None:
    """The dashboard page of the report's location (the overview for a group), or None without a public URL."""
    if not public_url:
        return None
    path = f"locations/{report.scope.location_id}" if report.scope.location_id is not None else ""
    return public_url.rstrip("/") + "/" + path


def poster_html(poster: Poster) -> str:
    """The results poster as an HTML page (A4, with its print stylesheet)."""
    context = {"p": poster, "period_text": span(poster.period), "faces": _poster_faces(poster)}
    return environment().get_template("reports/poster.html").render(context)


def _poster_faces(poster: Poster) -> list[tuple[Markup, str]]:
    """(face, share text) from the best face to the worst; empty for a 0–10 question."""
    if poster.nps:
        return []
    total = poster.now.responses
    return [
        (charts.face(int(score), poster.scale, 110), f"{count / total * 100:.0f} %" if total else "")
        for score, count in sorted(poster.now.counts.items(), key=lambda item: -int(item[0]))
    ]


def html_to_pdf(html: str) -> bytes:
    """The PDF WeasyPrint makes of ``html``, with no URL fetched but ``data:`` ones (others are refused and
    logged by WeasyPrint as warnings). Renders one document at a time per process."""
    from weasyprint import HTML  # the server extra; imported here so that importing reports stays cheap

    with _PDF_LOCK:
        pdf: bytes = HTML(string=html, base_url=None, url_fetcher=data_only_fetcher()).write_pdf()
    return pdf


def data_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher allowing only ``data:`` URLs: its ``URLFetcher`` (WeasyPrint 67+), or a fetcher
    function (the older API)."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint < 67
        return _refuse_but_data
    return URLFetcher(allowed_protocols=("data",), allow_redirects=False)


def _refuse_but_data(url: str, timeout: float = 10, ssl_context: Any = None) -> Any:
    """WeasyPrint < 67's fetcher signature. Raises ValueError for any URL but ``data:``."""
    from weasyprint import default_url_fetcher

    if not url.lower().startswith("data:"):
        raise ValueError(f"reports fetch nothing: refused {url[:80]!r}")
    return default_url_fetcher(url, timeout=timeout, ssl_context=ssl_context)
