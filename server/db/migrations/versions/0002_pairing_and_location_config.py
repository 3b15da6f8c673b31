"""Kiosk setup: location config, one-time pairing codes, failed-pairing log, API key scopes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("locations", sa.Column("config", sa.Text))
    op.add_column("api_keys", sa.Column("scope", sa.String(16), nullable=False, server_default="read"))
    op.create_table(
        "pair_codes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("kiosk_name", sa.String(200)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime),
        sa.Column("kiosk_id", sa.String(32), sa.ForeignKey("kiosks.id")),
    )
    op.create_table(
        "pair_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("failed_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_pair_failures_client_failed_at", "pair_failures", ["client", "failed_at"])
    op.create_index("ix_pair_failures_failed_at", "pair_failures", ["failed_at"])


def downgrade() -> None:
    op.drop_table("pair_failures")
    op.drop_table("pair_codes")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scope")
    with op.batch_alter_table("locations") as batch:
        batch.drop_column("config")
