"""Notifications: the transactional outbox (:mod:`server.notify.outbox`), its delivery worker and the senders
(e-mail over SMTP, signed webhooks).

A notification is written to the outbox in the same transaction that opens, closes or acknowledges an alert (or makes
a report), so it is never lost; workers on any instance claim due rows, send them and mark them sent — at least once,
with one idempotency key per delivery, and never by two instances at the same time. See docs/architecture.md.

Modules: :mod:`~server.notify.outbox` (the queue), :mod:`~server.notify.signing` (the server's secret key, webhook
secrets, ``X-Smilepost-Signature``), :mod:`~server.notify.payloads` (what an event says: plain JSON, Slack, Teams,
e-mail text; pure), :mod:`~server.notify.webhooks` (webhook registry and sender), :mod:`~server.notify.mail`
(``smtp_url``, messages, SMTP sender), :mod:`~server.notify.worker` (``deliver_due`` and the ``DeliveryWorker``
thread).

Exception tree (what a send raises; the worker turns it into the row's next state)::

    SmilepostError
    └── DeliveryError          one attempt failed; ``.status`` is the HTTP status or SMTP reply code (None: no
        │                      answer came); the message is for people (``last_error``, logs), never control flow
        ├── Temporary          may work later: network errors, timeouts, TLS failures, HTTP 408/425/429/5xx, SMTP 4xx
        │                      replies → retried with backoff until MAX_ATTEMPTS, then ``failed``
        └── Permanent          will not work unchanged: HTTP 3xx (redirects are not followed) and other 4xx, SMTP 5xx
            │                  replies, STARTTLS required but not offered, no usable ``smtp_url`` → tried
            │                  PERMANENT_ATTEMPTS times (a receiver mid-deploy may answer 404 for a minute), then
            │                  ``failed``
            └── TargetGone     the webhook was revoked or never existed → ``failed`` at once

Control flow decides on the class, never on the message. Setup errors (a bad URL given to ``add_webhook``, a
malformed ``smtp_url`` when parsed on its own) raise :class:`server.InvalidInput`; unknown ids :class:`server.NotFound`.
"""

from __future__ import annotations

from server import SmilepostError


class DeliveryError(SmilepostError):
    """One delivery attempt failed. ``status``: the HTTP status or SMTP reply code, None when no answer came."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Temporary(DeliveryError):
    """Worth trying again later (the network, a busy or broken receiver)."""


class Permanent(DeliveryError):
    """The receiver refused the delivery in a way that retrying unchanged will not fix."""


class TargetGone(Permanent):
    """The delivery's webhook is revoked or does not exist: nothing to send to, ever."""
