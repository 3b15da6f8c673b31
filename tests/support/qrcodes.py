"""Reading QR codes as a phone's camera would: every code in a PNG (zxing-cpp), and every code on a PDF page rendered
to PNG (``pdftoppm`` from poppler-utils, through :func:`tests.support.pdfs.png`).

Without ``pdftoppm`` the PDF case is skipped locally and fails under ``CI`` (as the browser tests do without
Chromium): CI must look at the printed codes, not skip them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from tests.support import pdfs


def decoded(png: bytes | Path) -> list[str]:
    """The text of every code (QR or other) in a PNG image (its bytes or its file), in the order found."""
    source = io.BytesIO(png) if isinstance(png, bytes) else png
    with Image.open(source) as image:
        found = zxingcpp.read_barcodes(image.convert("L"))
    return [code.text for code in found]


def codes_on_page(pdf: bytes, name: str, *, page: int = 1, dpi: int = 110) -> list[str]:
    """The text of every QR code on page ``page`` of ``pdf``, rendered at ``dpi`` to ``test-output/reports/<name>.png``.

    Skips the test without pdftoppm (``apt-get install poppler-utils``); fails instead under CI.
    """
    path = pdfs.png(pdf, name, page=page, dpi=dpi)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("pdftoppm is missing; CI must decode the printed QR codes (apt-get install poppler-utils)")
        pytest.skip("pdftoppm is missing (apt-get install poppler-utils); the printed QR codes are not read locally")
    return decoded(path)
