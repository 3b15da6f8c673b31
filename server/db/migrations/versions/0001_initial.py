"""Initial schema: locations, kiosks, API keys, taps and hourly rollups.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "locations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("scale", sa.SmallInteger, nullable=False, server_default="5"),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "kiosks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
        sa.Column("last_seen_at", UTCDateTime),
        sa.Column("queue_depth", sa.Integer),
        sa.Column("app_version", sa.String(32)),
    )
    op.create_index("ix_kiosks_location_id", "kiosks", ["location_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
    )
    op.create_table(
        "taps",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("kiosk_id", sa.String(32), sa.ForeignKey("kiosks.id"), nullable=False),
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("scale", sa.SmallInteger, nullable=False),
        sa.Column("score", sa.SmallInteger, nullable=False),
        sa.Column("tapped_at", UTCDateTime, nullable=False),
        sa.Column("effective_at", UTCDateTime, nullable=False),
        sa.Column("local_date", sa.Date, nullable=False),
        sa.Column("local_hour", sa.SmallInteger, nullable=False),
        sa.Column("mono_ns", sa.BigInteger, nullable=False),
        sa.Column("boot_id", sa.String(64), nullable=False),
        sa.Column("followup", sa.String(64)),
        sa.Column("comment", sa.Text),
        sa.Column("flags", sa.String(200), nullable=False, server_default=""),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_taps_kiosk_seq", "taps", ["kiosk_id", "seq"])
    op.create_index("ix_taps_location_date", "taps", ["location_id", "local_date"])
    op.create_table(
        "rollups",
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id"), primary_key=True),
        sa.Column("question_id", sa.String(64), primary_key=True),
        sa.Column("local_date", sa.Date, primary_key=True),
        sa.Column("local_hour", sa.SmallInteger, primary_key=True),
        sa.Column("scale", sa.SmallInteger, primary_key=True),
        sa.Column("score", sa.SmallInteger, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("rollups", "taps", "api_keys", "kiosks", "locations"):
        op.drop_table(table)
