"""The table tent of a web touchpoint: one A4 sheet that, folded in half, stands on a table with the same face on
both sides (the upper half is printed upside down): its QR code large, the location's question in the location's
default language, the location's name and a line asking to scan. The PDF is made as the reports' are
(:func:`server.reports.render.html_to_pdf`: WeasyPrint, nothing fetched); the QR code is inline SVG.

Raises :class:`server.NotFound` for an unknown or revoked touchpoint (a revoked one's code leads nowhere).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from server import NotFound
from server.locations import location_config
from server.qrcodes import qr_inline_svg
from server.reports.render import environment, html_to_pdf
from server.touchpoints import get_touchpoint
from shared.protocol import DEFAULT_TEXTS
from shared.texts import lookup

SCAN_LINE = "Scan to tell us"
SCAN_HINT = "Point your phone's camera at the code: it takes a few seconds, no app needed."


@dataclass(frozen=True)
class TableTent:
    """What a table tent shows."""

    touchpoint_id: int
    location_name: str
    question: str
    language: str
    url: str

    @property
    def question_size(self) -> int:
        """Font size (pt) of the question, smaller for a longer one so that up to 300 characters fit its column."""
        length = len(self.question)
        return 24 if length <= 60 else 19 if length <= 110 else 15 if length <= 180 else 12


def table_tent_data(conn: Connection, touchpoint_id: int, *, base_url: str) -> TableTent:
    """The table tent of a touchpoint whose page is under ``base_url`` (the server as people reach it).

    Raises NotFound for an unknown or revoked touchpoint.
    """
    touchpoint = get_touchpoint(conn, touchpoint_id)
    if touchpoint.revoked_at is not None:
        raise NotFound(f"touchpoint {touchpoint_id} is revoked: its QR code leads nowhere")
    config = location_config(conn, touchpoint.location_id)
    question = lookup(config, "question") or DEFAULT_TEXTS["question"]
    return TableTent(
        touchpoint_id=touchpoint.id, location_name=touchpoint.location_name, question=question,
        language=config.default_language, url=touchpoint.url(base_url),
    )  # fmt: skip


def table_tent_html(tent: TableTent) -> str:
    """The table tent as an HTML page (A4 portrait, both halves), as WeasyPrint prints it."""
    context = {"t": tent, "qr": qr_inline_svg(tent.url), "scan_line": SCAN_LINE, "scan_hint": SCAN_HINT}
    return environment().get_template("reports/table_tent.html").render(context)


def table_tent_pdf(tent: TableTent) -> bytes:
    """The table tent as a one-page A4 PDF."""
    return html_to_pdf(table_tent_html(tent))
