"""Acting on feedback: alert rules and alerts, webhooks, the notification outbox, the scheduler lease, service
targets, report subscriptions and runs, a user's time zone, and an index for alert windows in effective time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("closed_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id", ondelete="CASCADE")),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE")),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(5), nullable=False),
        sa.Column("threshold", sa.Float),
        sa.Column("window_seconds", sa.Integer, nullable=False),
        sa.Column("min_responses", sa.Integer, nullable=False),
        sa.Column("notify", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("disabled_at", UTCDateTime),
    )
    op.create_index("ix_alert_rules_location_id", "alert_rules", ["location_id"])
    op.create_index("ix_alert_rules_group_id", "alert_rules", ["group_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.Integer, sa.ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kiosk_id", sa.String(32), nullable=False, server_default=""),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("window_start", UTCDateTime, nullable=False),
        sa.Column("window_end", UTCDateTime, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("threshold", sa.Float),
        sa.Column("responses", sa.Integer, nullable=False, server_default="0"),
        sa.Column("clear_since", UTCDateTime),
        sa.Column("acknowledged_at", UTCDateTime),
        sa.Column("acknowledged_by", sa.String(254)),
        sa.Column("ack_comment", sa.Text),
        sa.Column("closed_at", UTCDateTime),
    )
    op.create_index("ix_alerts_location_state", "alerts", ["location_id", "state"])
    op.create_index(
        "ux_alerts_one_active", "alerts", ["rule_id", "location_id", "kiosk_id"], unique=True,
        sqlite_where=_ACTIVE, postgresql_where=_ACTIVE,
    )  # fmt: skip
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="SET NULL")),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("target", sa.String(320), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
        sa.Column("status", sa.String(8), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id", ondelete="CASCADE"), unique=True),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), unique=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("location_id", sa.Integer, sa.ForeignKey("locations.id", ondelete="CASCADE")),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE")),
        sa.Column("period", sa.String(8)),
        sa.Column("at_time", sa.String(5)),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_subscriptions_user_id", "subscriptions", ["user_id"])
    op.create_table(
        "report_runs",
        sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("period_start", sa.Date, primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )  # fmt: skip
    op.add_column("users", sa.Column("timezone", sa.String(64)))
    op.create_index("ix_taps_location_effective", "taps", ["location_id", "effective_at"])


def downgrade() -> None:
    op.drop_index("ix_taps_location_effective", table_name="taps")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("timezone")
    for table in ("report_runs", "subscriptions", "targets", "leases", "notifications", "webhooks", "alerts",
                  "alert_rules"):  # fmt: skip
        op.drop_table(table)
