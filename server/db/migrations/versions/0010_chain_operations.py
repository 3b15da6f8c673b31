"""Operating a chain (#14): nested groups with many-to-many membership, archived locations, retired (moved)
kiosks, hidden comments, a dashboard language per user, and the append-only audit trail.

``locations.group_id`` is no longer read: its memberships are copied into ``group_locations``, and the column is
left empty. It stays because SQLite cannot drop a column that has a foreign key, and a batch copy of ``locations``
would cascade into every table referring to a location.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The audit trail refuses UPDATE and DELETE in the database itself, whatever code runs.
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]
_POSTGRESQL_TRIGGERS = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite adds a column's REFERENCES, not a separate constraint
        op.execute("ALTER TABLE groups ADD COLUMN parent_id INTEGER REFERENCES groups (id)")
    else:
        op.add_column("groups", sa.Column("parent_id", sa.Integer, sa.ForeignKey("groups.id")))
    op.create_index("ix_groups_parent_id", "groups", ["parent_id"])
    op.create_table(
        "group_locations",
        sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_group_locations_location_id", "group_locations", ["location_id"])
    op.execute(
        "INSERT INTO group_locations (group_id, location_id) SELECT group_id, id FROM locations"
        " WHERE group_id IS NOT NULL"
    )
    op.execute("UPDATE locations SET group_id = NULL")
    op.add_column("locations", sa.Column("archived_at", UTCDateTime))
    op.add_column("kiosks", sa.Column("retired_at", UTCDateTime))
    op.add_column("kiosks", sa.Column("successor_id", sa.String(32)))
    op.add_column("pair_codes", sa.Column("predecessor_id", sa.String(32)))
    op.add_column("taps", sa.Column("comment_hidden", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("users", sa.Column("language", sa.String(8)))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor_kind", sa.String(8), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(254), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_target", "audit_log", ["target_kind", "target_id"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRESQL_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.drop_table("audit_log")
    op.execute("ALTER TABLE users DROP COLUMN language")
    op.execute("ALTER TABLE taps DROP COLUMN comment_hidden")
    op.execute("ALTER TABLE pair_codes DROP COLUMN predecessor_id")
    op.execute("ALTER TABLE kiosks DROP COLUMN successor_id")
    op.execute("ALTER TABLE kiosks DROP COLUMN retired_at")
    op.execute("ALTER TABLE locations DROP COLUMN archived_at")
    # A location keeps one of its groups (the lowest id), as before nesting and many-to-many membership.
    op.execute(
        "UPDATE locations SET group_id = (SELECT min(group_id) FROM group_locations"
        " WHERE group_locations.location_id = locations.id)"
    )
    op.drop_table("group_locations")
    op.drop_index("ix_groups_parent_id", "groups")
    op.execute("ALTER TABLE groups DROP COLUMN parent_id")
