"""The report e-mail: what the outbox stores for it, and the message the delivery worker builds from that.

The report is rendered once, when it is made (:func:`report_payload`): the ``report`` event's JSON
(:func:`server.notify.payloads.report_payload`: period, name, headline figures, ``url``) plus, under ``email``,
the rendered HTML body and the PDF (base64). Every delivery attempt then sends the same bytes, taps that arrive
later do not change a report already made, and the worker needs neither the database nor WeasyPrint to send it.
A report's row holds some 50–150 kB of JSON; that is the price of this.

:func:`report_message` is the worker's builder for ``report`` rows (``build_message`` stays the one for alerts):
the subject, headers and plain-text part of :func:`server.notify.mail.build_message`, the stored HTML as the HTML
alternative, and the PDF attached. Raises :class:`server.notify.Permanent` for an address that cannot be put in a
header, or a payload without a usable ``email`` part.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from server.notify import Permanent
from server.notify.mail import build_message
from server.notify.payloads import EMAIL_PART
from server.notify.payloads import report_payload as event_payload
from shared import scores

if TYPE_CHECKING:  # the worker imports this module to send; it needs none of the report's reading and rendering
    from server.reports.data import Report


@dataclass(frozen=True)
class Rendered:
    """A report made for sending: the e-mail's HTML body, the PDF, and the PDF's file name."""

    html: str
    pdf: bytes
    filename: str


def figures(report: Report) -> dict[str, dict[str, float | int | None]]:
    """The headline figures of the report event: value, 95 % interval and n of each, shares in percent."""
    now = report.now
    out: dict[str, scores.Estimate | scores.Share] = {"csat": now.csat, "negative": now.negative}
    out = {("nps" if report.nps else "happy_index"): now.headline, **out}
    return {
        name: {"value": figure.value, "low": figure.low, "high": figure.high, "n": figure.n}
        for name, figure in out.items()
    }


def report_payload(report: Report, rendered: Rendered) -> dict[str, Any]:
    """The outbox payload of a report e-mail: the ``report`` event (with ``responses``, ``target`` and ``change``;
    ``url`` relative, made absolute under ``SMILEPOST_PUBLIC_URL`` when sent) and the rendered ``email`` part."""
    scope = report.scope
    payload = event_payload(
        period=report.kind, period_start=report.period.start, period_end=report.period.end, name=scope.name,
        figures=figures(report), public_url=None, location_id=scope.location_id, group_id=scope.group_id,
    )  # fmt: skip
    payload["url"] = f"/locations/{scope.location_id}" if scope.location_id is not None else "/"
    payload.update(responses=report.now.responses, target=report.target, change=report.change)
    payload[EMAIL_PART] = {
        "html": rendered.html, "pdf": base64.b64encode(rendered.pdf).decode("ascii"), "filename": rendered.filename,
    }  # fmt: skip
    return payload


def report_message(
    payload: Mapping[str, Any], *, mail_from: str, to: str, idempotency_key: str, now: datetime | None = None
) -> EmailMessage:
    """The e-mail of a ``report`` row: subject, headers and text as for every notification, the report's HTML as
    the HTML alternative, its PDF attached.

    Raises Permanent for an address that cannot be put in a header, or a payload without its ``email`` part.
    """
    try:
        part = payload[EMAIL_PART]
        html, filename = str(part["html"]), str(part["filename"])
        pdf = base64.b64decode(part["pdf"], validate=True)
    except (KeyError, TypeError, binascii.Error) as exc:
        raise Permanent(f"the report's payload has no usable e-mail part ({type(exc).__name__})") from None
    message = build_message(payload, mail_from=mail_from, to=to, idempotency_key=idempotency_key, now=now)
    body = message.get_body(("html",))
    if body is None:  # build_message always adds one; keep the type checker and a future change honest
        raise Permanent("the message has no HTML part to replace")
    body.set_content(html, subtype="html", cte="quoted-printable")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return message
