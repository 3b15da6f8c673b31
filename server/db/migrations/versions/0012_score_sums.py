"""Trend lines at chain scale (#15): ``score_sums`` keeps, per day and ISO week, location, question, scale and
channel, what a headline needs (taps, the sum of their scores, NPS promoters and detractors), so a trend reads one
row per scale and span instead of one per score.

Filled from the day and week rows of ``score_rollups``, which hold the same counted taps per score.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The NPS scale (0-10) and its promoters (9-10) and detractors (0-6), as shared.scores defines them at this revision.
_NPS = "scale = 11"


def upgrade() -> None:
    op.create_table(
        "score_sums",
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id"), primary_key=True),
        sa.Column("question_id", sa.String(64), primary_key=True),
        sa.Column("grain", sa.String(5), primary_key=True),
        sa.Column("local_date", sa.Date, primary_key=True),
        sa.Column("scale", sa.SmallInteger, primary_key=True),
        sa.Column("channel", sa.String(8), primary_key=True),
        sa.Column("taps", sa.BigInteger, nullable=False),
        sa.Column("score_total", sa.BigInteger, nullable=False),
        sa.Column("promoters", sa.BigInteger, nullable=False),
        sa.Column("detractors", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO score_sums (location_id, question_id, grain, local_date, scale, channel, taps, score_total,"
        " promoters, detractors)"
        " SELECT location_id, question_id, grain, local_date, scale, channel, SUM(count), SUM(count * score),"
        f" SUM(CASE WHEN {_NPS} AND score >= 9 THEN count ELSE 0 END),"
        f" SUM(CASE WHEN {_NPS} AND score <= 6 THEN count ELSE 0 END)"
        " FROM score_rollups WHERE grain IN ('day', 'week')"
        " GROUP BY location_id, question_id, grain, local_date, scale, channel"
    )


def downgrade() -> None:
    op.drop_table("score_sums")
