"""The database: tables (:mod:`server.db.tables`), engine and migrations (:mod:`server.db.engine`, Alembic scripts in
``server/db/migrations``). Queries import the tables and the engine helpers from here."""

from __future__ import annotations

from server.db.engine import MIGRATIONS_DIR, current_revision, make_engine, upgrade
from server.db.tables import (
    CHANNELS,
    UTCDateTime,
    alert_rules,
    alerts,
    api_keys,
    audit_log,
    daily_rollups,
    filtered_rollups,
    group_locations,
    groups,
    kiosks,
    leases,
    locations,
    login_throttle,
    metadata,
    notifications,
    pair_codes,
    pair_failures,
    report_runs,
    rollups,
    score_rollups,
    score_sums,
    sessions,
    subscriptions,
    taps,
    targets,
    touchpoints,
    user_groups,
    user_locations,
    users,
    webhooks,
)

__all__ = [
    "MIGRATIONS_DIR", "UTCDateTime", "alert_rules", "alerts", "api_keys", "leases", "notifications", "report_runs",
    "audit_log", "group_locations",
    "subscriptions", "targets", "webhooks", "current_revision", "daily_rollups", "filtered_rollups", "groups",
    "kiosks", "locations", "login_throttle", "make_engine", "metadata", "pair_codes", "pair_failures", "rollups",
    "score_rollups", "score_sums", "sessions", "taps", "upgrade", "user_groups", "user_locations", "users", "CHANNELS",
    "touchpoints",
]  # fmt: skip
