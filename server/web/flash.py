"""One-shot page messages ("Settings saved", "Kiosk … revoked"), kept in the session's row in the database.

A message is set by a form post and shown once by the next page of the same session, on any server instance.
Pages never take a message from the URL, so a link cannot make the dashboard say something the server did not
(``/admin/locations/1?code=13371337`` once showed "Pairing code: 13371337"). Raises nothing of its own.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from server.auth.tokens import hash_secret
from server.db import sessions

MAX_LENGTH = 500


def set_flash(conn: Connection, token: str, message: str) -> None:
    """Keep ``message`` for the next page of the session whose cookie token this is (a no-op for an unknown one)."""
    conn.execute(update(sessions).where(sessions.c.token_hash == hash_secret(token)).values(flash=message[:MAX_LENGTH]))


def take_flash(conn: Connection, token: str) -> str | None:
    """The session's message, cleared so that it shows once; None when there is none."""
    token_hash = hash_secret(token)
    message = conn.execute(select(sessions.c.flash).where(sessions.c.token_hash == token_hash)).scalar()
    if message is not None:
        conn.execute(update(sessions).where(sessions.c.token_hash == token_hash).values(flash=None))
    return message
