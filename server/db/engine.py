"""Engine creation (Smilepost's SQLite pragmas, private database files) and schema migration (Alembic).

Raises what SQLAlchemy and Alembic raise; see each function.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Durable, concurrent-reader settings for every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


PRIVATE_FILE_MODE = 0o600  # the database holds password hashes, session CSRF tokens, the PIN hash and comments


def _private_sqlite_files(path: Path) -> None:
    """Create the database file with mode 0600 before SQLite opens it (SQLite gives its ``-wal`` and ``-shm`` the
    main file's mode), and make an existing file and side files 0600 (older versions made them 0644).

    A missing folder is left to SQLite to report when it connects; a file we may not change only logs a warning.
    """
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE))
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("cannot create or open %s to make it private: %s", path, exc)
        return
    for file in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        try:
            if file.stat().st_mode & 0o777 != PRIVATE_FILE_MODE:
                file.chmod(PRIVATE_FILE_MODE)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("cannot make %s private (mode 0600): %s", file, exc)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with Smilepost's connection settings.

    Raises sqlalchemy.exc.ArgumentError for a malformed URL.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        if engine.url.database and engine.url.database != ":memory:" and not engine.url.database.startswith("file:"):
            _private_sqlite_files(Path(engine.url.database))
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` with Alembic. A database already at head is left at once (one
    query, no migration environment loaded: every CLI command and server start calls this).

    Raises alembic.util.CommandError when the revision is unknown.
    """
    from alembic import command

    if revision == "head" and current_revision(engine) == head_revision():
        return
    config = _alembic_config()
    with engine.begin() as connection:
        _take_migration_lock(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the migration scripts (read once per process)."""
    from alembic.script import ScriptDirectory

    head: str | None = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    return head


MIGRATION_LOCK_KEY = 0x5_3A1E_9057  # PostgreSQL advisory lock "smilepost migrates"


def _take_migration_lock(connection: Connection) -> None:
    """Make processes upgrading one database at once (a server starting while an operator's first command runs)
    take turns, each in one transaction: the next then finds the schema already at the revision. SQLite: the write
    lock from the start (``BEGIN IMMEDIATE``; waits up to the busy timeout); PostgreSQL: an advisory lock held until
    the transaction ends."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None when it has never been migrated."""
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        revision: str | None = MigrationContext.configure(connection).get_current_revision()
        return revision
