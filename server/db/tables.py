"""Tables (SQLAlchemy Core): what queries are written against.

The schema itself is created and upgraded by Alembic (``server/db/migrations``); a test checks the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
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
    Column("group_id", Integer, ForeignKey("groups.id"), index=True),  # NULL: in no group
)

# Named groups of locations ("Oslo Airport" -> its security lanes); a manager of a group sees its locations.
groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
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

taps = Table(
    "taps",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kiosk_id", String(32), ForeignKey("kiosks.id"), nullable=False),
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
    Index("ix_taps_kiosk_seq", "kiosk_id", "seq"),
    Index("ix_taps_location_date", "location_id", "local_date"),
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
    Column("count", BigInteger, nullable=False),
)

# One row per (location, question, local date, kiosk, scale, score, follow-up reason): whole-day summaries,
# trends, the per-kiosk split and the reasons breakdown read this (a year is 365 dates, not 8760 hours).
# ``followup`` is '' for a tap without a reason (a primary key column cannot be NULL).
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
    Column("count", BigInteger, nullable=False),
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
    Column("count", BigInteger, nullable=False),
)
