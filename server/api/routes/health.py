"""``GET /healthz``: liveness plus a database round trip."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from server import __version__
from server.api.deps import EngineDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str


@router.get("/healthz", response_model=Health)
def healthz(engine: EngineDep) -> Health:
    """200 when the server can reach its database."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__)
