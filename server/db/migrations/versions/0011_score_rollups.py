"""Chain-scale overview (#15): ``score_rollups`` keeps the counted taps of every local day, ISO week and calendar
month per location, question, channel, scale and score, so a year of 200 locations is read as about 11 months,
a few weeks and the edge days of each (server.analytics.grains) instead of 365 days of per-kiosk rows.

Filled from ``daily_rollups`` (which holds the same counted taps per day, split further by kiosk and reason).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The first date of the ISO week (Monday) and of the month of ``local_date``, per dialect.
_STARTS = {
    "sqlite": {"day": "local_date", "week": "date(local_date, 'weekday 0', '-6 days')",
               "month": "date(local_date, 'start of month')"},
    "postgresql": {"day": "local_date", "week": "CAST(date_trunc('week', local_date) AS DATE)",
                   "month": "CAST(date_trunc('month', local_date) AS DATE)"},
}  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "score_rollups",
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id"), primary_key=True),
        sa.Column("question_id", sa.String(64), primary_key=True),
        sa.Column("grain", sa.String(5), primary_key=True),
        sa.Column("local_date", sa.Date, primary_key=True),
        sa.Column("scale", sa.SmallInteger, primary_key=True),
        sa.Column("score", sa.SmallInteger, primary_key=True),
        sa.Column("channel", sa.String(8), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,  # stored in key order: a range of rows is read without a lookup per row
    )
    for grain, start in _STARTS[op.get_bind().dialect.name].items():
        op.execute(
            "INSERT INTO score_rollups (location_id, question_id, grain, local_date, scale, score, channel, count)"
            f" SELECT location_id, question_id, '{grain}', {start}, scale, score, channel, SUM(count)"
            f" FROM daily_rollups GROUP BY location_id, question_id, {start}, scale, score, channel"
        )


def downgrade() -> None:
    op.drop_table("score_rollups")
