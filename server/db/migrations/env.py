"""Alembic environment: runs on the connection handed over by ``server.db.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from server.db import make_engine, metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # `alembic -x url=... upgrade head` from a shell
    url = context.get_x_argument(as_dictionary=True)["url"]
    with make_engine(url).begin() as conn:
        _run(conn)
