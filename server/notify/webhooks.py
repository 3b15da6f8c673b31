"""Webhooks: the registry (:func:`add_webhook`, :func:`list_webhooks`, :func:`revoke_webhook`) and the sender
(:func:`send_webhook`).

A webhook is a URL and a format (``json``, ``slack``, ``teams``; see :mod:`server.notify.payloads`). Its signing
secret is derived from the server's key and its id (:func:`server.notify.signing.webhook_secret`), shown once when
it is added and never stored. Webhook URLs often carry a token in their path (Slack's and Teams' do), so logs and
errors name a webhook by its id and host only.

A delivery is one ``POST`` of the body with ``Content-Type: application/json``, ``X-Smilepost-Signature``,
``X-Smilepost-Event`` and ``Idempotency-Key`` (the same on every retry of that notification: receivers dedupe by it).
Redirects are not followed. Answers and what they raise:

=========================================  ===========================================================
answer                                     result
=========================================  ===========================================================
2xx                                        delivered
408, 425, 429, 5xx, no answer (network     Temporary: retried with the outbox's backoff
error, timeout)
3xx (the URL moved: fix the webhook)       Permanent: tried PERMANENT_ATTEMPTS times, then ``failed``
other 4xx (Slack's 404 ``no_service``,
400 ``invalid_payload``, 401, 403 …)
=========================================  ===========================================================

Raises :class:`server.InvalidInput` and :class:`server.NotFound` (registry), :class:`~server.notify.Temporary` and
:class:`~server.notify.Permanent` (sender).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection, insert, select, update

from server import InvalidInput, NotFound, __version__, audit
from server.db import webhooks
from server.notify import Permanent, Temporary
from server.notify.payloads import FORMATS
from server.notify.signing import sign, webhook_secret

SEND_TIMEOUT = httpx.Timeout(10.0, connect=5.0)  # per phase; a delivery's claim lasts 60 s
TEMPORARY_STATUSES = frozenset({408, 425, 429})  # 4xx answers that mean "later", as 5xx do
MAX_URL_CHARS = 2000
ERROR_BODY_CHARS = 200  # of a refusal's body, kept in last_error (Slack explains itself there)


@dataclass(frozen=True)
class Webhook:
    """A registered webhook; ``revoked_at`` None while it is in use."""

    id: int
    url: str
    format: str
    created_at: datetime
    revoked_at: datetime | None


def check_url(url: str) -> str:
    """``url`` stripped, when it is an absolute http(s) URL with a host.

    Raises InvalidInput for anything else (other schemes, no host, a bad port, spaces, over 2000 characters).
    """
    url = url.strip()
    if len(url) > MAX_URL_CHARS or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidInput("webhook URL must be at most 2000 characters without spaces")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise InvalidInput(f"webhook URL is malformed: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput("webhook URL must be http:// or https:// with a host, e.g. https://hooks.example.com/x")
    return url


def add_webhook(conn: Connection, url: str, format: str = "json", *, key: bytes) -> tuple[int, str]:
    """Register a webhook; its id and signing secret (derived from the server ``key``; shown once, not stored).

    Raises InvalidInput for a URL that is not http(s) with a host, or a format other than json, slack, teams.
    """
    url = check_url(url)
    if format not in FORMATS:
        raise InvalidInput(f"webhook format must be one of {', '.join(FORMATS)}, got {format!r}")
    row = conn.execute(insert(webhooks).values(url=url, format=format, created_at=datetime.now(UTC)))
    webhook_id = int(row.inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, "webhook.add", target=("webhook", webhook_id),  # the host only: the path may hold a token
                 summary=f"webhook {webhook_id} to {describe(url)} added ({format})",
                 after={"url": describe(url), "format": format})  # fmt: skip
    return webhook_id, webhook_secret(key, webhook_id)


def list_webhooks(conn: Connection, *, include_revoked: bool = False) -> list[Webhook]:
    """Registered webhooks by id; revoked ones only when asked."""
    query = select(webhooks).order_by(webhooks.c.id)
    if not include_revoked:
        query = query.where(webhooks.c.revoked_at.is_(None))
    return [Webhook(r.id, r.url, r.format, r.created_at, r.revoked_at) for r in conn.execute(query)]


def find_webhook(conn: Connection, webhook_id: int) -> Webhook | None:
    """Webhook ``webhook_id`` (revoked or not), or None when there is no such webhook."""
    row = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()
    return None if row is None else Webhook(row.id, row.url, row.format, row.created_at, row.revoked_at)


def active_webhook(conn: Connection, webhook_id: int, option: str = "--notify") -> Webhook:
    """Webhook ``webhook_id`` when it may be sent to (a rule's or a report's recipient); ``option`` names the
    setting in the error.

    Raises NotFound for an unknown webhook, InvalidInput for a revoked one.
    """
    webhook = find_webhook(conn, webhook_id)
    if webhook is None:
        raise NotFound(f"{option}: webhook {webhook_id} does not exist")
    if webhook.revoked_at is not None:
        raise InvalidInput(f"{option}: webhook {webhook_id} is revoked")
    return webhook


def revoke_webhook(conn: Connection, webhook_id: int, *, now: datetime | None = None) -> None:
    """Stop delivering to a webhook: its pending notifications fail as TargetGone. Revoking twice changes nothing.

    Raises NotFound for an unknown id.
    """
    webhook = find_webhook(conn, webhook_id)
    if webhook is None:
        raise NotFound(f"webhook {webhook_id} does not exist")
    now = now or datetime.now(UTC)
    revoked = conn.execute(
        update(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount
    if revoked:
        audit.record(conn, "webhook.revoke", target=("webhook", webhook_id),
                     summary=f"webhook {webhook_id} to {describe(webhook.url)} revoked",
                     before={"revoked_at": None}, after={"revoked_at": now})  # fmt: skip


def describe(url: str) -> str:
    """The part of a webhook URL fit for logs: scheme and host (the path may hold a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}"


def send_webhook(
    client: httpx.Client, url: str, body: bytes, secret: str, idempotency_key: str, now: datetime, *, event: str
) -> int:
    """POST ``body``, signed with ``secret`` at ``now``, to ``url``; the 2xx status it got.

    Raises Temporary for no answer (network error, timeout), 408, 425, 429 and 5xx; Permanent for a redirect (not
    followed), any other 4xx, or a URL httpx cannot use. Messages name the status and host, never the path.
    """
    headers = {
        "Content-Type": "application/json", "User-Agent": f"Smilepost/{__version__}", "X-Smilepost-Event": event,
        "X-Smilepost-Signature": sign(secret, body, int(now.timestamp())), "Idempotency-Key": idempotency_key,
    }  # fmt: skip
    where = describe(url)
    try:
        with client.stream(
            "POST", url, content=body, headers=headers, timeout=SEND_TIMEOUT, follow_redirects=False
        ) as response:
            return _judge(response, where)
    except httpx.TimeoutException:
        raise Temporary(f"{where} did not answer in time") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise Permanent(f"{where}: unusable URL ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise Temporary(f"{where} unreachable: {type(exc).__name__}: {exc}") from None


def _judge(response: httpx.Response, where: str) -> int:
    """The status of a 2xx answer. Raises Temporary or Permanent for the others (see the module's table)."""
    status = response.status_code
    if 200 <= status < 300:
        return status
    text = f"{where} answered {status} {response.reason_phrase}"
    if 300 <= status < 400:
        raise Permanent(f"{text}: redirects are not followed; point the webhook at its new address", status)
    if detail := _start_of_body(response):
        text += f": {detail}"
    if status >= 500 or status in TEMPORARY_STATUSES:
        raise Temporary(text, status)
    raise Permanent(text, status)


def _start_of_body(response: httpx.Response) -> str:
    """The first ERROR_BODY_CHARS characters of an answer's body on one line, read no further than that ("" when
    reading it fails)."""
    chunk = b""
    try:
        for piece in response.iter_bytes():
            chunk += piece
            if len(chunk) >= ERROR_BODY_CHARS * 4:
                break
    except httpx.HTTPError:
        pass  # the status decides; the body only explains
    text = chunk.decode("utf-8", "replace")[:ERROR_BODY_CHARS]
    return " ".join(text.split())
