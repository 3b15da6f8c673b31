"""Filtered presses, the kiosk's last tap, sign-in throttling per account and one-shot page messages.

- ``filtered_rollups`` counts, per location, question, local date and kiosk, the presses that were stored but
  left out of the figures, by why (``repeat``). It is filled from the taps already stored, so an upgraded
  server shows its history at once.
- ``kiosks.last_tap_at``: the newest tap the kiosk reported in its heartbeat.
- ``login_throttle``: failed sign-ins per account (SHA-256 of the normalised email), shared by every instance.
- ``sessions.flash``: a message the next page of the session shows once (never taken from the URL).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_REPEAT = "(',' || flags || ',') LIKE '%,repeat,%'"


def upgrade() -> None:
    op.create_table(
        "filtered_rollups",
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id"), primary_key=True),
        sa.Column("question_id", sa.String(64), primary_key=True),
        sa.Column("local_date", sa.Date, primary_key=True),
        sa.Column("kiosk_id", sa.String(32), primary_key=True),
        sa.Column("why", sa.String(32), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO filtered_rollups (location_id, question_id, local_date, kiosk_id, why, count)"
        " SELECT location_id, question_id, local_date, kiosk_id, 'repeat', COUNT(*)"
        f" FROM taps WHERE {_REPEAT} GROUP BY location_id, question_id, local_date, kiosk_id"
    )
    op.add_column("kiosks", sa.Column("last_tap_at", UTCDateTime))
    op.add_column("sessions", sa.Column("flash", sa.Text))
    op.create_table(
        "login_throttle",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failed_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("flash")
    with op.batch_alter_table("kiosks") as batch:
        batch.drop_column("last_tap_at")
    op.drop_table("filtered_rollups")
