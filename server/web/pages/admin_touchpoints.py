"""Admin pages of web touchpoints, their QR codes and table tents (being built, issue #13)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
