"""Operating a chain (#14), first steps: when an API key was last used, and a per-location profanity mask.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("last_used_at", UTCDateTime))
    op.add_column("locations", sa.Column("mask_profanity", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN, also on SQLite (3.35+): a batch copy of locations would drop the old table, and
    # with foreign keys on that cascades into every table referring to a location.
    op.execute("ALTER TABLE locations DROP COLUMN mask_profanity")
    op.execute("ALTER TABLE api_keys DROP COLUMN last_used_at")
