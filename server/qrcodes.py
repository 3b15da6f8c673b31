"""QR codes of web touchpoints, made with segno: the SVG and PNG files served at ``/s/<slug>/qr.svg|png`` and the
inline SVG printed on the table tent. Pure: no I/O, no database.

Every code has error correction M at least (segno raises it further when that costs no extra size) and the quiet
zone of 4 modules the standard asks for, dark on white, so it scans from a sheet on a table and from a screen.
Raises segno's DataOverflowError only for text no QR code can hold (far beyond any touchpoint URL).
"""

from __future__ import annotations

import io
from functools import lru_cache

import segno
from markupsafe import Markup

ERROR = "m"  # 15 % of the code may be dirty or torn
BORDER = 4  # modules of quiet zone
SVG_MODULE_MM = 2  # a module of the SVG file is 2 mm: a 29-module code plus border prints 74 mm wide
PNG_MODULE_PX = 12  # a module of the PNG file is 12 px: a 37-module code is 444 px wide
CACHED = 512  # codes kept per process and format (a code takes ~10 ms to make, a few kB to keep)


def _code(text: str) -> segno.QRCode:
    return segno.make(text, error=ERROR, micro=False)


@lru_cache(maxsize=CACHED)
def qr_svg(text: str, *, title: str | None = None) -> bytes:
    """An SVG file of ``text``'s QR code: sized in millimetres, with a viewBox so that it scales, on white."""
    out = io.BytesIO()
    _code(text).save(out, kind="svg", scale=SVG_MODULE_MM, border=BORDER, unit="mm", light="#fff", title=title)
    return out.getvalue()


@lru_cache(maxsize=CACHED)
def qr_png(text: str) -> bytes:
    """A PNG file of ``text``'s QR code (black on white, :data:`PNG_MODULE_PX` pixels a module)."""
    out = io.BytesIO()
    _code(text).save(out, kind="png", scale=PNG_MODULE_PX, border=BORDER)
    return out.getvalue()


def qr_inline_svg(text: str) -> Markup:
    """``text``'s QR code as an ``<svg>`` element for an HTML page, with a viewBox and no size: CSS sizes it."""
    svg: str = _code(text).svg_inline(scale=1, border=BORDER, omitsize=True, light="#fff")
    return Markup(svg)  # segno's own markup; ``text`` is only encoded in the path, never written out
