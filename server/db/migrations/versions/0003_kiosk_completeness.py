"""Kiosk completeness and clock: highest seq and distinct taps stored, what the kiosk reports, clock offset.

``max_seq`` and ``received`` are filled from the taps already stored, so a kiosk upgraded with taps on
the server does not show them all as missing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kiosks", sa.Column("max_seq", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("kiosks", sa.Column("received", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("kiosks", sa.Column("reported_seq", sa.BigInteger))
    op.add_column("kiosks", sa.Column("quarantined", sa.Integer, nullable=False, server_default="0"))
    op.add_column("kiosks", sa.Column("clock_offset_seconds", sa.Float))
    op.add_column("kiosks", sa.Column("last_sync_at", UTCDateTime))
    op.execute(
        "UPDATE kiosks SET"
        " max_seq = COALESCE((SELECT MAX(taps.seq) FROM taps WHERE taps.kiosk_id = kiosks.id), 0),"
        " received = (SELECT COUNT(*) FROM taps WHERE taps.kiosk_id = kiosks.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("kiosks") as batch:
        for name in ("last_sync_at", "clock_offset_seconds", "quarantined", "reported_seq", "received", "max_seq"):
            batch.drop_column(name)
