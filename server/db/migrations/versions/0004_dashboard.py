"""Dashboard: users, groups, sessions, daily rollups and a comments index.

``daily_rollups`` is filled from the taps already stored (repeat presses excluded, as ingest does), so an
upgraded server shows its history at once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_NOT_REPEAT = "(',' || flags || ',') NOT LIKE '%,repeat,%'"


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    # A plain ADD COLUMN, also on SQLite: a batch copy would drop a table kiosks refer to, and Alembic will
    # not add a foreign key there, though SQLite itself allows REFERENCES on a new nullable column.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE locations ADD COLUMN group_id INTEGER REFERENCES groups (id)")
    else:
        op.add_column("locations", sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id")))
    op.create_index("ix_locations_group_id", "locations", ["group_id"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("disabled_at", UTCDateTime),
    )
    op.create_table(
        "user_locations",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_table(
        "user_groups",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_index(
        "ix_taps_location_comments", "taps", ["location_id", "effective_at"],
        sqlite_where=sa.text("comment IS NOT NULL"), postgresql_where=sa.text("comment IS NOT NULL"),
    )  # fmt: skip
    op.create_table(
        "daily_rollups",
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id"), primary_key=True),
        sa.Column("question_id", sa.String(64), primary_key=True),
        sa.Column("local_date", sa.Date, primary_key=True),
        sa.Column("kiosk_id", sa.String(32), primary_key=True),
        sa.Column("scale", sa.SmallInteger, primary_key=True),
        sa.Column("score", sa.SmallInteger, primary_key=True),
        sa.Column("followup", sa.String(64), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO daily_rollups"
        " (location_id, question_id, local_date, kiosk_id, scale, score, followup, count)"
        " SELECT location_id, question_id, local_date, kiosk_id, scale, score, COALESCE(followup, ''), COUNT(*)"
        f" FROM taps WHERE {_NOT_REPEAT}"
        " GROUP BY location_id, question_id, local_date, kiosk_id, scale, score, COALESCE(followup, '')"
    )


def downgrade() -> None:
    op.drop_table("daily_rollups")
    op.drop_index("ix_taps_location_comments", table_name="taps")
    op.drop_table("sessions")
    op.drop_table("user_groups")
    op.drop_table("user_locations")
    op.drop_table("users")
    op.drop_index("ix_locations_group_id", table_name="locations")
    with op.batch_alter_table("locations") as batch:
        batch.drop_column("group_id")
    op.drop_table("groups")
