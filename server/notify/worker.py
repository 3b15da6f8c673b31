"""Delivering the outbox: :func:`deliver_due` sends what is due once; :class:`DeliveryWorker` is the thread that calls
it every ``deliver_seconds`` (and at once after :meth:`DeliveryWorker.wake`) inside ``smilepost server`` or
``smilepost worker``.

A round claims up to BATCH due rows in one short transaction (:func:`~server.notify.outbox.claim_due`), sends each
with no transaction open, and records each outcome in its own short transaction:

===========================  ==============================================================================
send                         row
===========================  ==============================================================================
delivered                    ``sent`` (:func:`~server.notify.outbox.mark_sent`)
Temporary                    retried with backoff; ``failed`` after MAX_ATTEMPTS (``mark_failed``)
Permanent                    as Temporary until attempt PERMANENT_ATTEMPTS, then ``failed`` (``give_up``)
TargetGone                   ``failed`` at once: the webhook is revoked or unknown (``give_up``)
===========================  ==============================================================================

A relative ``url`` in a payload (``/alerts/17``) is sent under ``public_url`` as it is set when the row is sent.

A claim lasts CLAIM_SECONDS. A send starts only while at least CLAIM_MARGIN seconds of its claim are left (a send's
timeouts fit in that); the rest of the batch is handed back (``release``) and claimed afresh. So two workers never
send one row at once. A worker killed mid-round leaves its claims to expire, and those rows are sent again with the
same idempotency key: delivery is at least once, and receivers dedupe by ``Idempotency-Key`` / ``Message-ID``.

Every worker that sends webhooks must derive the same secrets: with several instances (or ``smilepost worker``
beside the server) set ``SMILEPOST_SECRET_KEY`` on each (:mod:`server.notify.signing`).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

import httpx
from sqlalchemy import Engine

from server import InvalidInput
from server.notify import DeliveryError, Permanent, TargetGone, Temporary
from server.notify.mail import SmtpConfig, build_message, parse_smtp_url, send_email
from server.notify.outbox import CLAIM_SECONDS, Delivery, claim_due, give_up, mark_failed, mark_sent, release
from server.notify.payloads import webhook_body, with_links
from server.notify.signing import server_key, webhook_secret
from server.notify.webhooks import SEND_TIMEOUT, describe, find_webhook, send_webhook
from server.reports.mail import report_message
from server.settings import Settings

log = logging.getLogger(__name__)

BATCH = 10  # rows claimed per transaction
PERMANENT_ATTEMPTS = 3  # a refusal (404, 550 …) is tried this often before the row is "failed"
CLAIM_MARGIN = 30.0  # seconds of claim a send must have left to start


@dataclass
class _Senders:
    """What sending needs, resolved on first use (so a worker without e-mail rows never parses ``smtp_url``)."""

    settings: Settings
    client: httpx.Client
    ssl_context: ssl.SSLContext | None

    @cached_property
    def smtp(self) -> SmtpConfig:
        """The parsed ``smtp_url``. Raises Permanent when it is unset or malformed."""
        if self.settings.smtp_url is None:
            raise Permanent("e-mail is not configured: set SMILEPOST_SMTP_URL, then retry")
        try:
            return parse_smtp_url(self.settings.smtp_url.get_secret_value())
        except InvalidInput as exc:
            raise Permanent(str(exc)) from None

    @cached_property
    def key(self) -> bytes:
        """The server's secret key. Raises Permanent for an unusable key, Temporary when its file cannot be read."""
        try:
            return server_key(self.settings)
        except InvalidInput as exc:
            raise Permanent(str(exc)) from None
        except OSError as exc:
            raise Temporary(f"cannot read or make the secret key: {exc}") from None


def deliver_due(
    engine: Engine,
    settings: Settings,
    *,
    worker_id: str,
    client: httpx.Client,
    now: datetime | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> int:
    """Send every due notification this worker can claim (at ``now``, default the clock); how many were sent.

    Failed sends do not raise: they are recorded on their rows. Raises what the database raises; the claims of that
    round then expire and their rows are sent again later (at least once).
    """
    return _deliver(engine, _Senders(settings, client, ssl_context), worker_id, now, threading.Event())


def _deliver(engine: Engine, senders: _Senders, worker_id: str, now: datetime | None, stopping: threading.Event) -> int:
    """Claim and send batches until nothing due is left (or ``stopping`` is set); how many were sent."""
    sent = 0
    while not stopping.is_set() and (batch := _claim(engine, worker_id, now)):
        sent += _deliver_batch(engine, senders, batch, worker_id, now, stopping)
    return sent


def _claim(engine: Engine, worker_id: str, now: datetime | None) -> list[Delivery]:
    with engine.begin() as conn:
        return claim_due(conn, worker_id, limit=BATCH, now=now, seconds=CLAIM_SECONDS)


def _deliver_batch(
    engine: Engine,
    senders: _Senders,
    batch: list[Delivery],
    worker_id: str,
    now: datetime | None,
    stopping: threading.Event,
) -> int:
    """Send a claimed batch while its claims last and no stop is asked; the rest is released. How many were sent."""
    deadline = time.monotonic() + CLAIM_SECONDS - CLAIM_MARGIN
    sent = 0
    for index, delivery in enumerate(batch):
        if time.monotonic() > deadline or stopping.is_set():
            _release(engine, batch[index:], worker_id)
            break
        error = _attempt(engine, senders, delivery, now or datetime.now(UTC))
        sent += _record(engine, delivery, worker_id, error, now or datetime.now(UTC))
    return sent


def _attempt(engine: Engine, senders: _Senders, delivery: Delivery, now: datetime) -> DeliveryError | None:
    """Send one delivery; the error, or None when it was delivered. An unexpected exception counts as Temporary
    (logged with its traceback), so one bad row never stops the others."""
    try:
        if delivery.channel == "email":
            _send_email(senders, delivery, now)
        elif delivery.channel == "webhook":
            _send_webhook(engine, senders, delivery, now)
        else:
            raise Permanent(f"unknown channel {delivery.channel!r}")
    except DeliveryError as exc:
        return exc
    except Exception as exc:
        log.exception("notification %s: unexpected error while sending", delivery.id)
        return Temporary(f"unexpected error: {type(exc).__name__}: {exc}")
    return None


def _send_email(senders: _Senders, delivery: Delivery, now: datetime) -> None:
    """Build and send the e-mail. Raises Temporary or Permanent."""
    payload = with_links(delivery.payload, senders.settings.public_url)
    build = report_message if delivery.event == "report" else build_message  # a report carries its HTML and PDF
    message = build(
        payload, mail_from=senders.settings.mail_from, to=delivery.target, idempotency_key=delivery.idempotency_key,
        now=now,
    )  # fmt: skip
    send_email(senders.smtp, message, ssl_context=senders.ssl_context)


def _send_webhook(engine: Engine, senders: _Senders, delivery: Delivery, now: datetime) -> None:
    """Render, sign and POST to the delivery's webhook. Raises TargetGone for a revoked or unknown webhook,
    Permanent for an unknown format, and what :func:`send_webhook` raises."""
    webhook_id = int(delivery.target) if delivery.target.isdigit() else -1
    with engine.connect() as conn:  # a read, finished before the send
        webhook = find_webhook(conn, webhook_id)
    if webhook is None or webhook.revoked_at is not None:
        raise TargetGone(f"webhook {delivery.target} is {'revoked' if webhook else 'unknown'}")
    try:
        body = webhook_body(webhook.format, with_links(delivery.payload, senders.settings.public_url))
    except InvalidInput as exc:
        raise Permanent(str(exc)) from None
    secret = webhook_secret(senders.key, webhook.id)
    send_webhook(senders.client, webhook.url, body, secret, delivery.idempotency_key, now, event=delivery.event)
    log.debug("notification %s posted to webhook %s (%s)", delivery.id, webhook.id, describe(webhook.url))


def _record(engine: Engine, delivery: Delivery, worker_id: str, error: DeliveryError | None, now: datetime) -> int:
    """Write the outcome of one attempt in its own transaction; 1 when the row is now sent, else 0."""
    with engine.begin() as conn:
        if error is None:
            if mark_sent(conn, delivery.id, worker_id, now=now):
                log.info("notification %s (%s) sent by %s", delivery.id, delivery.event, delivery.channel)
                return 1
            log.warning("notification %s was sent after its claim expired: it may arrive twice", delivery.id)
            return 0
        attempt = delivery.attempts + 1
        if isinstance(error, TargetGone) or (isinstance(error, Permanent) and attempt >= PERMANENT_ATTEMPTS):
            status = "failed" if give_up(conn, delivery.id, worker_id, str(error), now=now) else None
        else:
            status = mark_failed(conn, delivery.id, worker_id, str(error), now=now)
    log.warning("notification %s (%s) attempt %d failed: %s; now %s", delivery.id, delivery.event, attempt, error,
                status or "claimed elsewhere")  # fmt: skip
    return 0


def _release(engine: Engine, deliveries: list[Delivery], worker_id: str) -> None:
    with engine.begin() as conn:
        for delivery in deliveries:
            release(conn, delivery.id, worker_id)


def default_worker_id() -> str:
    """``host-pid-random``, at most 64 characters (the ``claimed_by`` column)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


class DeliveryWorker:
    """A background thread delivering the outbox: :func:`deliver_due` every ``settings.deliver_seconds``, and at
    once after :meth:`wake` (call it after committing an enqueue). Uses its own ``httpx.Client`` unless given one.

    ``start()`` once, ``stop()`` at shutdown. Errors of a round are logged and the next round tries again.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        worker_id: str | None = None,
        client: httpx.Client | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.worker_id = worker_id or default_worker_id()
        self.ssl_context = ssl_context
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=SEND_TIMEOUT, follow_redirects=False)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smilepost-delivery", daemon=True)

    @property
    def _senders(self) -> _Senders:
        return _Senders(self.settings, self.client, self.ssl_context)  # fresh each round: settings errors retried

    def start(self) -> None:
        """Start the thread. Raises RuntimeError when called twice."""
        self._thread.start()

    def wake(self) -> None:
        """Deliver now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop after the send in progress (waiting up to ``timeout`` seconds) and close the worker's own client."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("delivery worker %s still sending after %.0f s; left to finish", self.worker_id, timeout)
        elif self._own_client:
            self.client.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                _deliver(self.engine, self._senders, self.worker_id, None, self._stopping)
            except Exception:
                log.exception("delivering notifications failed; trying again in %s s", self.settings.deliver_seconds)
            self._wake.wait(self.settings.deliver_seconds)
