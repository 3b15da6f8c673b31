"""A private PostgreSQL cluster on 127.0.0.1 for the tests, the concurrency test and the benchmarks.

``running_cluster()`` initdb's a cluster into a temporary folder, starts it on a free loopback port,
yields its admin URL and removes it all afterwards. As root, initdb and pg_ctl run as the ``postgres``
OS user (PostgreSQL refuses to run as root). ``fresh_database(admin_url)`` makes a new, empty or
templated database and drops it afterwards.

Raises :class:`NoPostgres` when no PostgreSQL binaries are installed, ``subprocess.CalledProcessError``
when initdb or pg_ctl fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

# Settings for a throwaway test cluster: nothing in it has to survive a crash.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class NoPostgres(RuntimeError):
    """No PostgreSQL server binaries (initdb, pg_ctl, postgres) were found."""


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: ``pg_config --bindir`` or the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout
            candidates.append(Path(out.strip()))
        except (OSError, subprocess.CalledProcessError):
            pass
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += [Path(p) for p in sorted(versions, key=lambda p: int(Path(p).parent.name), reverse=True)]
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_postgres(args: list[str]) -> list[str]:
    """Run as the postgres OS user when we are root (PostgreSQL will not run as root)."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def running_cluster(*, durable: bool = False) -> Iterator[str]:
    """A started cluster; yields its admin URL (``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``).

    ``durable=False`` turns fsync, synchronous commit and full page writes off (tests only).
    Raises NoPostgres without binaries.
    """
    bindir = find_bindir()
    if bindir is None:
        raise NoPostgres("PostgreSQL binaries not found (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="smilepost-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, log = root / "data", root / "server.log"
    port = free_port()
    try:
        subprocess.run(
            _as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                          "-E", "UTF8", "--locale=C", "--no-sync"]),
            check=True, capture_output=True,
        )  # fmt: skip
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": f"'{root}'",
            "max_connections": "200",
            **({} if durable else FAST_SETTINGS),
        }
        with (data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"]),
            check=True, capture_output=True,
        )  # fmt: skip
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                check=False, capture_output=True,
            )  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as a libpq connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def create_database(admin_url: str, name: str, template: str = "template0") -> str:
    """Create database ``name`` (a file copy of ``template``, quickest for small ones) and return its URL."""
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')  # type: ignore[arg-type]
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name``, disconnecting whoever is still on it."""
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


@contextmanager
def fresh_database(admin_url: str, template: str = "template0", prefix: str = "smilepost_t") -> Iterator[str]:
    """A new database copied from ``template`` for the duration of the block; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = create_database(admin_url, name, template)
    try:
        yield url
    finally:
        drop_database(admin_url, name)


class ReusableDatabase:
    """One database per test process, copied from a template once and emptied after each test instead of being
    dropped and copied again: a copy writes the template's files (and, as a file copy, checkpoints first), which cost
    a quarter of a second a test on this machine's disk, more than most tests.

    :meth:`reset` deletes every row of every table but ``alembic_version`` with triggers off (the audit trail's
    refuse deletes) and restarts every sequence, so ids start at 1 again as in a fresh copy. When it cannot (a test
    left a lock behind) or the schema is no longer the template's revision, the database is dropped and copied anew.
    """

    def __init__(self, admin_url: str, template: str) -> None:
        self.admin_url = admin_url
        self.template = template
        self.name = f"smilepost_r_{uuid.uuid4().hex[:12]}"
        self.url = create_database(admin_url, self.name, template)
        self.revision = self._revision(self.url)

    def reset(self) -> None:
        """Empty the database for the next test (or copy it anew; see the class docstring)."""
        try:
            with psycopg.connect(_libpq(self.url), connect_timeout=10) as conn:
                conn.execute("SET lock_timeout = '5s'")
                conn.execute("SET session_replication_role = replica")  # no triggers, no foreign key checks
                tables = [row[0] for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )]  # fmt: skip
                for table in tables:
                    conn.execute(f'DELETE FROM "{table}"')  # type: ignore[arg-type]
                for (sequence,) in conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"):
                    conn.execute(f'ALTER SEQUENCE "{sequence}" RESTART')  # type: ignore[arg-type]
                revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            if revision is not None and revision[0] == self.revision:
                return
        except psycopg.Error:
            pass
        self.recreate()

    def recreate(self) -> None:
        """Drop the database and copy it anew from the template."""
        drop_database(self.admin_url, self.name)
        self.url = create_database(self.admin_url, self.name, self.template)

    def drop(self) -> None:
        drop_database(self.admin_url, self.name)

    @staticmethod
    def _revision(url: str) -> str | None:
        with psycopg.connect(_libpq(url)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return None if row is None else str(row[0])
