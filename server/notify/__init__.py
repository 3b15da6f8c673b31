"""Notifications: the transactional outbox (:mod:`server.notify.outbox`), its delivery worker and the senders
(e-mail over SMTP, signed webhooks).

A notification is written to the outbox in the same transaction that opens, closes or acknowledges an alert (or makes
a report), so it is never lost; workers on any instance claim due rows, send them and mark them sent — at least once,
with one idempotency key per delivery, and never by two instances at the same time. See docs/architecture.md.
"""
