"""Reports to webhooks: a report subscription may deliver to a webhook instead of its user's inbox.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        webhook = sa.ForeignKey("webhooks.id", ondelete="CASCADE")
        op.add_column("subscriptions", sa.Column("webhook_id", sa.Integer, webhook))
        return

    def add(batch: BatchOperations) -> None:
        batch.add_column(sa.Column("webhook_id", sa.Integer))
        batch.create_foreign_key("fk_subscriptions_webhook_id", "webhooks", ["webhook_id"], ["id"], ondelete="CASCADE")

    _copy_subscriptions(add)


def downgrade() -> None:
    op.get_bind().execute(sa.text("DELETE FROM subscriptions WHERE webhook_id IS NOT NULL"))  # else they would e-mail
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("subscriptions", "webhook_id")
        return
    _copy_subscriptions(lambda batch: batch.drop_column("webhook_id"))


def _copy_subscriptions(change: Callable[[BatchOperations], None]) -> None:
    """Change the subscriptions table on SQLite, which copies it. Dropping the old copy, with foreign keys on,
    empties report_runs by its ON DELETE CASCADE; its rows are put back afterwards, so no report is sent twice."""
    bind = op.get_bind()
    runs = bind.execute(sa.text("SELECT subscription_id, period_start, created_at FROM report_runs")).all()
    with op.batch_alter_table("subscriptions", recreate="always") as batch:
        change(batch)
    bind.execute(sa.text("DELETE FROM report_runs"))
    if runs:
        bind.execute(
            sa.text("INSERT INTO report_runs (subscription_id, period_start, created_at) VALUES (:s, :p, :c)"),
            [{"s": r[0], "p": r[1], "c": r[2]} for r in runs],
        )
