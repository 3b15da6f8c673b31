"""Web touchpoints and several questions: a touchpoints table; taps carry their channel, touchpoint and the
customer's first tap, and a web tap has no kiosk; every rollup is split by channel.

The rollups' primary keys gain ``channel``: each rollup table is rebuilt under its old name with the new key
(the same statements on SQLite and PostgreSQL), every existing row becoming a ``kiosk`` row. Going down, web taps
and web rollup rows are deleted (a schema without channels cannot tell them apart), and the touchpoints with them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _rollup_columns(name: str) -> list[sa.Column[Any]]:
    """The key columns of a rollup table as 0001/0005 created them (count comes last)."""
    location = sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id"), primary_key=True)
    question = sa.Column("question_id", sa.String(64), primary_key=True)
    day = sa.Column("local_date", sa.Date, primary_key=True)
    rest: list[sa.Column[Any]]
    if name == "rollups":
        rest = [sa.Column("local_hour", sa.SmallInteger, primary_key=True),
                sa.Column("scale", sa.SmallInteger, primary_key=True),
                sa.Column("score", sa.SmallInteger, primary_key=True)]  # fmt: skip
    elif name == "daily_rollups":
        rest = [sa.Column("kiosk_id", sa.String(32), primary_key=True),
                sa.Column("scale", sa.SmallInteger, primary_key=True),
                sa.Column("score", sa.SmallInteger, primary_key=True),
                sa.Column("followup", sa.String(64), primary_key=True)]  # fmt: skip
    else:
        rest = [sa.Column("kiosk_id", sa.String(32), primary_key=True),
                sa.Column("why", sa.String(32), primary_key=True)]  # fmt: skip
    return [location, question, day, *rest]


def _rebuild(name: str, *, with_channel: bool) -> None:
    """Rebuild rollup table ``name`` with (or without) ``channel`` in its key, keeping its kiosk counts."""
    keys = _rollup_columns(name)
    names = [c.name for c in keys]
    channel = [sa.Column("channel", sa.String(8), primary_key=True, server_default="kiosk")] if with_channel else []
    op.create_table(f"{name}_new", *keys, *channel, sa.Column("count", sa.BigInteger, nullable=False))
    listed = ", ".join(names)
    where = "" if with_channel else " WHERE channel = 'kiosk'"
    op.execute(f"INSERT INTO {name}_new ({listed}, count) SELECT {listed}, count FROM {name}{where}")
    op.drop_table(name)
    op.rename_table(f"{name}_new", name)
    if op.get_bind().dialect.name == "postgresql":  # the key keeps the table's own name, as a fresh schema has
        op.execute(f"ALTER TABLE {name} RENAME CONSTRAINT {name}_new_pkey TO {name}_pkey")


def upgrade() -> None:
    op.create_table(
        "touchpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
        sa.Column("last_seen_at", UTCDateTime),
        sa.Column("last_tap_at", UTCDateTime),
        sa.Column("received", sa.BigInteger, nullable=False, server_default="0"),
    )
    with op.batch_alter_table("taps") as batch:
        batch.alter_column("kiosk_id", existing_type=sa.String(32), nullable=True)
        batch.add_column(sa.Column("channel", sa.String(8), nullable=False, server_default="kiosk"))
        batch.add_column(sa.Column("touchpoint_id", sa.Integer))
        batch.add_column(sa.Column("first_tap_id", sa.Uuid))
        batch.create_foreign_key("fk_taps_touchpoint_id", "touchpoints", ["touchpoint_id"], ["id"])
        batch.create_index("ix_taps_touchpoint_device", ["touchpoint_id", "boot_id", "effective_at"])
    for name in ("rollups", "daily_rollups", "filtered_rollups"):
        _rebuild(name, with_channel=True)


def downgrade() -> None:
    op.execute("DELETE FROM taps WHERE channel <> 'kiosk'")
    for name in ("rollups", "daily_rollups", "filtered_rollups"):
        _rebuild(name, with_channel=False)
    with op.batch_alter_table("taps") as batch:
        batch.drop_index("ix_taps_touchpoint_device")
        batch.drop_constraint("fk_taps_touchpoint_id", type_="foreignkey")
        batch.drop_column("first_tap_id")
        batch.drop_column("touchpoint_id")
        batch.drop_column("channel")
        batch.alter_column("kiosk_id", existing_type=sa.String(32), nullable=False)
    op.drop_table("touchpoints")
