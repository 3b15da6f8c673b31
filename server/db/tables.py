"""Tables (SQLAlchemy Core): what queries are written against.

The schema itself is created and upgraded by Alembic (``server/db/migrations``); a test checks the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
    false,
    text,
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zone type, so values are stored as naive UTC there; PostgreSQL gets
    ``timestamptz``. Raises ValueError when given a naive datetime (its zone would be a guess).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Smilepost stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

locations = Table(
    "locations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("scale", SmallInteger, nullable=False, server_default="5"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("config", Text),  # JSON of a shared.protocol.LocationConfig; NULL = defaults
    # Unused since migration 0010 (left NULL): membership is ``group_locations``, where a location can be in several.
    Column("group_id", Integer, ForeignKey("groups.id"), index=True),
    Column("mask_profanity", Boolean, nullable=False, server_default=false()),  # comments masked when shown
    Column("archived_at", UTCDateTime),  # archived: hidden from the overview, its kiosks refused (403), data kept
)

# Named groups of locations, nested (region -> city -> site) without cycles; a manager of a group sees its whole
# subtree (server.groups).
groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("parent_id", Integer, ForeignKey("groups.id"), index=True),  # NULL: a top-level group
)

# Which locations are in a group directly (a location can be in several groups).
group_locations = Table(
    "group_locations",
    metadata,
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", Integer, ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True, index=True),
)

# Dashboard users: admins see and change everything, managers see the locations granted to them.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),  # stored lower-cased
    Column("password_hash", String(200), nullable=False),  # argon2id
    Column("role", String(16), nullable=False),  # "admin" | "manager"
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
    Column("timezone", String(64)),  # for reports at a local hour; None: the time zone of their first location
    Column("language", String(8)),  # the dashboard's language ("en" | "nb" | "de"); None: from Accept-Language
)

user_locations = Table(
    "user_locations",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", Integer, ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
)

user_groups = Table(
    "user_groups",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)

# Dashboard sessions, in the database so any server instance can serve any request; the cookie's
# token is stored only as its SHA-256 hash. ``csrf_token`` is the value every form of the session posts back.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("flash", Text),  # a message the session's next page shows once (never taken from the URL)
)

# Failed sign-ins per account, shared by every server instance: each failure beyond a few makes the next
# attempt on that account wait longer (server.auth.accounts). ``account`` is the SHA-256 hex of the normalised email.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("account", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", UTCDateTime, nullable=False),
)

kiosks = Table(
    "kiosks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_seen_at", UTCDateTime),
    Column("queue_depth", Integer),
    Column("app_version", String(32)),
    # Completeness (server.fleet): kept by ingest for newly stored taps only, and by heartbeats.
    Column("max_seq", BigInteger, nullable=False, server_default="0"),  # highest seq stored
    Column("received", BigInteger, nullable=False, server_default="0"),  # distinct taps stored
    Column("reported_seq", BigInteger),  # Heartbeat.last_seq: highest seq the kiosk has recorded
    Column("quarantined", Integer, nullable=False, server_default="0"),  # Heartbeat.quarantined
    Column("clock_offset_seconds", Float),  # received_at - sent_at of the last batch or heartbeat
    Column("last_sync_at", UTCDateTime),  # last POST /api/v1/taps that touched the kiosk
    Column("last_tap_at", UTCDateTime),  # Heartbeat.last_tap_at: the kiosk's newest tap (clock-corrected)
    # Moved to another location (server.lifecycle): its token still delivers taps here, nothing else changes.
    Column("retired_at", UTCDateTime),
    Column("successor_id", String(32)),  # the kiosk id the device got at its new location, once it paired
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("scope", String(16), nullable=False, server_default="read"),  # "read" | "admin"
    Column("last_used_at", UTCDateTime),  # last request it authenticated (written at most once a minute)
)

# One-time pairing codes (8 digits, stored as SHA-256 hex), redeemed by a kiosk for its token.
pair_codes = Table(
    "pair_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("kiosk_name", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    Column("kiosk_id", String(32), ForeignKey("kiosks.id")),
    Column("predecessor_id", String(32)),  # a move's code: the kiosk id the device had before (server.lifecycle)
)

# Failed pairing attempts, counted per client and overall to rate-limit guessing (shared by all instances).
pair_failures = Table(
    "pair_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", String(64), nullable=False),
    Column("failed_at", UTCDateTime, nullable=False),
    Index("ix_pair_failures_client_failed_at", "client", "failed_at"),
    Index("ix_pair_failures_failed_at", "failed_at"),
)

# A web touchpoint: a link or QR code a customer opens on their phone (``/s/<slug>``). The slug is random
# (128 bits) and is the page's address, not a credential; revoking a touchpoint retires its address.
touchpoints = Table(
    "touchpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("slug", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_seen_at", UTCDateTime),  # last batch received
    Column("last_tap_at", UTCDateTime),  # newest tap stored (effective time)
    Column("received", BigInteger, nullable=False, server_default="0"),  # taps stored
)

CHANNELS = ("kiosk", "web")

taps = Table(
    "taps",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kiosk_id", String(32), ForeignKey("kiosks.id")),  # NULL for a web tap
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("scale", SmallInteger, nullable=False),
    Column("score", SmallInteger, nullable=False),
    Column("tapped_at", UTCDateTime, nullable=False),  # as the kiosk said
    Column("effective_at", UTCDateTime, nullable=False),  # corrected when the kiosk clock was off
    Column("local_date", Date, nullable=False),
    Column("local_hour", SmallInteger, nullable=False),
    Column("mono_ns", BigInteger, nullable=False),
    Column("boot_id", String(64), nullable=False),
    Column("followup", String(64)),
    Column("comment", Text),
    Column("flags", String(200), nullable=False, server_default=""),
    Column("received_at", UTCDateTime, nullable=False),
    Column("channel", String(8), nullable=False, server_default="kiosk"),  # "kiosk" | "web"
    Column("touchpoint_id", Integer, ForeignKey("touchpoints.id")),  # a web tap's touchpoint
    Column("first_tap_id", Uuid),  # a further answer of one customer: their first tap (Tap.first_tap_id)
    Column("comment_hidden", Boolean, nullable=False, server_default=false()),  # by an admin: not shown to managers
    Index("ix_taps_kiosk_seq", "kiosk_id", "seq"),
    Index("ix_taps_touchpoint_device", "touchpoint_id", "boot_id", "effective_at"),  # one answer per phone per N min
    Index("ix_taps_location_date", "location_id", "local_date"),
    Index("ix_taps_location_effective", "location_id", "effective_at"),  # alert windows in effective time
    # Latest comments of a location without scanning its taps.
    Index(
        "ix_taps_location_comments",
        "location_id",
        "effective_at",
        sqlite_where=text("comment IS NOT NULL"),
        postgresql_where=text("comment IS NOT NULL"),
    ),  # fmt: skip
)

# One row per (location, question, scale, local date, local hour, score): the only table summaries read.
rollups = Table(
    "rollups",
    metadata,
    Column("location_id", Integer, ForeignKey("locations.id"), primary_key=True),
    Column("question_id", String(64), primary_key=True),
    Column("local_date", Date, primary_key=True),
    Column("local_hour", SmallInteger, primary_key=True),
    Column("scale", SmallInteger, primary_key=True),
    Column("score", SmallInteger, primary_key=True),
    Column("channel", String(8), primary_key=True, server_default="kiosk"),
    Column("count", BigInteger, nullable=False),
)

# One row per (location, question, local date, kiosk, scale, score, follow-up reason): whole-day summaries,
# trends, the per-kiosk split and the reasons breakdown read this (a year is 365 dates, not 8760 hours).
# ``followup`` is '' for a tap without a reason, and ``kiosk_id`` '' for a web tap (a primary key column cannot be
# NULL). Every rollup is split by channel ("kiosk" | "web"), so figures can be filtered by it.
daily_rollups = Table(
    "daily_rollups",
    metadata,
    Column("location_id", Integer, ForeignKey("locations.id"), primary_key=True),
    Column("question_id", String(64), primary_key=True),
    Column("local_date", Date, primary_key=True),
    Column("kiosk_id", String(32), primary_key=True),
    Column("scale", SmallInteger, primary_key=True),
    Column("score", SmallInteger, primary_key=True),
    Column("followup", String(64), primary_key=True),
    Column("channel", String(8), primary_key=True, server_default="kiosk"),
    Column("count", BigInteger, nullable=False),
)


# One row per (location, question, grain, first date, channel, scale, score): the counted taps of each local day,
# ISO week and calendar month (server.analytics.grains), so the overview reads a year as about 11 months, a few weeks
# and the days at its edges. A week or month row is always the sum of its days' rows.
score_rollups = Table(
    "score_rollups",
    metadata,
    Column("location_id", Integer, ForeignKey("locations.id"), primary_key=True),
    Column("question_id", String(64), primary_key=True),
    Column("grain", String(5), primary_key=True),  # "day" | "week" | "month"
    Column("local_date", Date, primary_key=True),  # the first date of the day, week or month
    Column("scale", SmallInteger, primary_key=True),
    Column("score", SmallInteger, primary_key=True),
    Column("channel", String(8), primary_key=True),  # last: a trend groups by the columns before it in key order
    Column("count", BigInteger, nullable=False),
    sqlite_with_rowid=False,  # rows stored in key order: a range is read without a second lookup per row
)


# One row per (location, question, grain, first date, scale, channel) for the grains a trend line is drawn in (days
# and ISO weeks): what a headline needs without reading each score (shared.scores.Sums): taps, the sum of their
# scores, and on the NPS scale promoters and detractors (0 on face scales). Always the sums of the same key's
# ``score_rollups`` rows, kept beside them by ingest and rebuild-rollups, so a trend reads one row per scale and
# span instead of one per score.
score_sums = Table(
    "score_sums",
    metadata,
    Column("location_id", Integer, ForeignKey("locations.id"), primary_key=True),
    Column("question_id", String(64), primary_key=True),
    Column("grain", String(5), primary_key=True),  # "day" | "week"
    Column("local_date", Date, primary_key=True),  # the first date of the day or week
    Column("scale", SmallInteger, primary_key=True),
    Column("channel", String(8), primary_key=True),
    Column("taps", BigInteger, nullable=False),
    Column("score_total", BigInteger, nullable=False),
    Column("promoters", BigInteger, nullable=False),
    Column("detractors", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)


# Presses stored but left out of the figures, by why ("repeat"; shared.scores.FILTERED), per location, question,
# local date and kiosk: kept by ingest in the batch's transaction, so nothing is left out silently.
filtered_rollups = Table(
    "filtered_rollups",
    metadata,
    Column("location_id", Integer, ForeignKey("locations.id"), primary_key=True),
    Column("question_id", String(64), primary_key=True),
    Column("local_date", Date, primary_key=True),
    Column("kiosk_id", String(32), primary_key=True),
    Column("why", String(32), primary_key=True),
    Column("channel", String(8), primary_key=True, server_default="kiosk"),
    Column("count", BigInteger, nullable=False),
)


# --- Acting on feedback: alert rules, alerts, notifications, targets, report subscriptions (#12) -------------------

# A rule watches one location, or every location of a group (also ones added later). ``window_seconds`` is the
# window of figures (or, for ``silence`` and ``offline``, the minutes without taps or contact). ``notify`` is a JSON
# list of "email:ADDR" and "webhook:ID".
alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("location_id", Integer, ForeignKey("locations.id", ondelete="CASCADE"), index=True),
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), index=True),
    Column("metric", String(16), nullable=False),
    Column("direction", String(5), nullable=False),  # "above" | "below"
    Column("threshold", Float),
    Column("window_seconds", Integer, nullable=False),
    Column("min_responses", Integer, nullable=False),
    Column("notify", Text, nullable=False, server_default="[]"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(254), nullable=False),
    Column("disabled_at", UTCDateTime),
)

# An alert of one rule at one location (and kiosk, for ``offline``; '' otherwise): open, acknowledged, closed. At most
# one is not closed per (rule, location, kiosk): a partial unique index, so two evaluators can never open two.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", Integer, ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id", ondelete="CASCADE"), nullable=False),
    Column("kiosk_id", String(32), nullable=False, server_default=""),
    Column("state", String(12), nullable=False),  # "open" | "acknowledged" | "closed"
    Column("opened_at", UTCDateTime, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("value", Float),
    Column("threshold", Float),
    Column("responses", Integer, nullable=False, server_default="0"),
    Column("clear_since", UTCDateTime),  # the condition has been clear since then (closes after one window)
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_by", String(254)),
    Column("ack_comment", Text),
    Column("closed_at", UTCDateTime),
    Index("ix_alerts_location_state", "location_id", "state"),
    Index(
        "ux_alerts_one_active",
        "rule_id",
        "location_id",
        "kiosk_id",
        unique=True,
        sqlite_where=text("closed_at IS NULL"),
        postgresql_where=text("closed_at IS NULL"),
    ),  # fmt: skip
)

# Webhook receivers. Their signing secrets are not stored: each is derived from the server's secret key and the
# webhook's id (server.notify), so the database never holds one.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("format", String(8), nullable=False),  # "json" | "slack" | "teams"
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

# The transactional outbox: one row per notification to deliver, written in the transaction that opened, closed or
# acknowledged the alert (or made the report); workers claim due rows, send, and mark them sent.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="SET NULL")),
    Column("event", String(32), nullable=False),  # alert.opened | alert.closed | alert.acknowledged | report
    Column("channel", String(8), nullable=False),  # "email" | "webhook"
    Column("target", String(320), nullable=False),  # an e-mail address, or a webhook id
    Column("payload", Text, nullable=False),  # JSON
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("status", String(8), nullable=False, server_default="pending"),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index("ix_notifications_due", "status", "next_attempt_at"),
)

# Leases: one row per job that one instance at a time should lead (the scheduler), held until ``expires_at``.
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Service targets: a Happy Index (or NPS) a location or a group aims for.
targets = Table(
    "targets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("location_id", Integer, ForeignKey("locations.id", ondelete="CASCADE"), unique=True),
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), unique=True),
    Column("value", Float, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# What a user asked to receive: alerts of their locations, or reports every day, week or month at a local time.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(8), nullable=False),  # "alerts" | "report"
    Column("location_id", Integer, ForeignKey("locations.id", ondelete="CASCADE")),
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE")),
    Column("period", String(8)),  # "day" | "week" | "month" for reports
    Column("at_time", String(5)),  # "HH:MM" in the user's time zone, for reports
    # a report delivered to this webhook instead of the user's inbox (an admin's: made with their access and zone)
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE")),
    Column("created_at", UTCDateTime, nullable=False),
)

# A report sent for a subscription and period: the primary key makes "never twice" a database fact.
report_runs = Table(
    "report_runs",
    metadata,
    Column("subscription_id", Integer, ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)


# The audit trail (server.audit): one row per admin action, from the CLI, the API or the dashboard. Append-only:
# triggers refuse UPDATE and DELETE, and rows name their target by kind and id (no foreign keys), so they outlive it.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor_kind", String(8), nullable=False),  # "user" | "apikey" | "cli" | "system"
    Column("actor_id", String(64), nullable=False),  # user id, API key id, "user@host" of the CLI, or ""
    Column("actor", String(254), nullable=False),  # for people: the e-mail, key name, or CLI user@host
    Column("action", String(64), nullable=False, index=True),  # e.g. "location.rename"
    Column("target_kind", String(16), nullable=False),  # "location" | "kiosk" | "group" | "user" | ...
    Column("target_id", String(64), nullable=False),
    Column("summary", String(500), nullable=False),
    Column("before", Text),  # JSON of the values changed, as they were; never a secret
    Column("after", Text),  # JSON of the values changed, as they became
    Index("ix_audit_log_target", "target_kind", "target_id"),
)
