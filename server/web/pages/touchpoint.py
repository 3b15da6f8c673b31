"""The customer page of a web touchpoint (``/s/<slug>``): no sign-in, no cookies (being built, issue #13)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["web"])
