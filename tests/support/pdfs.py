"""Reading the PDFs Smilepost makes, as a person or a script would: their pages and text (pypdf), and a page as a
PNG to look at (``pdftoppm`` from poppler-utils, when installed) in ``test-output/reports/<name>.png``."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from pypdf import PdfReader

PNGS = Path(__file__).resolve().parents[2] / "test-output" / "reports"
A4_POINTS = (595.28, 841.89)


def pages(pdf: bytes) -> list[tuple[float, float]]:
    """(width, height) in points of every page."""
    return [(float(page.mediabox.width), float(page.mediabox.height)) for page in PdfReader(io.BytesIO(pdf)).pages]


def text(pdf: bytes) -> str:
    """The text of every page, whitespace collapsed to single spaces."""
    raw = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", raw).strip()


def png(pdf: bytes, name: str, *, page: int = 1, dpi: int = 110) -> Path | None:
    """Page ``page`` of ``pdf`` as ``test-output/reports/<name>.png``; None when pdftoppm is not installed
    (``apt-get install poppler-utils``). Raises CalledProcessError when pdftoppm fails."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return None
    PNGS.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as source:
        source.write(pdf)
        source.flush()
        prefix = PNGS / name
        subprocess.run([tool, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", source.name,
                        str(prefix)], check=True, capture_output=True, timeout=60)  # fmt: skip
    return prefix.with_suffix(".png")
