"""Webhooks: the registry on each database, and the sender against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from server import InvalidInput, NotFound
from server.db import webhooks
from server.notify import Permanent, Temporary
from server.notify import webhooks as webhooks_module
from server.notify.signing import verify, webhook_secret
from server.notify.webhooks import add_webhook, find_webhook, list_webhooks, revoke_webhook, send_webhook
from tests.support.receivers import WebhookReceiver

KEY = b"0123456789abcdef" * 4
BODY = b'{"event":"alert.opened","alert_id":1}'


# --- registry ------------------------------------------------------------------------------------------------


def test_added_webhook_gets_a_derived_secret_that_is_not_stored(engine):
    with engine.begin() as conn:
        webhook_id, secret = add_webhook(conn, " https://hooks.slack.com/services/T0/B0/xyz ", "slack", key=KEY)

    assert secret == webhook_secret(KEY, webhook_id)
    with engine.connect() as conn:
        row = conn.execute(select(webhooks)).one()
    assert (row.url, row.format, row.revoked_at) == ("https://hooks.slack.com/services/T0/B0/xyz", "slack", None)
    assert secret not in repr(tuple(row)) and secret[6:] not in repr(tuple(row))


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "example.com/hook", "https:///path-only", "http://exa mple.com/", "http://h:99999/",
     "javascript:alert(1)", "https://" + "a" * 2000 + ".example"],
)  # fmt: skip
def test_webhook_url_must_be_http_with_a_host(engine, url):
    with engine.begin() as conn, pytest.raises(InvalidInput):
        add_webhook(conn, url, "json", key=KEY)


def test_webhook_format_must_be_known(engine):
    with engine.begin() as conn, pytest.raises(InvalidInput, match="json, slack, teams"):
        add_webhook(conn, "https://example.com/hook", "xml", key=KEY)


def test_revoked_webhooks_leave_the_list(engine):
    with engine.begin() as conn:
        kept, _ = add_webhook(conn, "https://a.example/hook", "json", key=KEY)
        gone, _ = add_webhook(conn, "https://b.example/hook", "teams", key=KEY)
        revoke_webhook(conn, gone)
        revoke_webhook(conn, gone)  # twice: no change, no error

    with engine.connect() as conn:
        assert [w.id for w in list_webhooks(conn)] == [kept]
        assert [w.id for w in list_webhooks(conn, include_revoked=True)] == [kept, gone]
        assert find_webhook(conn, gone).revoked_at is not None  # type: ignore[union-attr]
        assert find_webhook(conn, 999) is None


def test_revoking_an_unknown_webhook_is_not_found(engine):
    with engine.begin() as conn, pytest.raises(NotFound):
        revoke_webhook(conn, 999)


# --- sender --------------------------------------------------------------------------------------------------

SECRET = webhook_secret(KEY, 1)


def post(url: str, now: datetime | None = None) -> int:
    with httpx.Client() as client:
        return send_webhook(client, url, BODY, SECRET, "key-1", now or datetime.now(UTC), event="alert.opened")


def test_webhook_post_is_signed_and_carries_event_and_idempotency_key():
    with WebhookReceiver() as receiver:
        assert post(receiver.url) == 200

    (request,) = receiver.requests
    assert (request.method, request.path, request.body) == ("POST", "/hook", BODY)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-smilepost-event"] == "alert.opened"
    assert request.headers["idempotency-key"] == "key-1"
    assert request.headers["user-agent"].startswith("Smilepost/")
    assert verify(SECRET, request.headers["x-smilepost-signature"], request.body, datetime.now(UTC))


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_delivered(status):
    with WebhookReceiver([status]) as receiver:
        assert post(receiver.url) == status


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, Temporary), (502, Temporary), (503, Temporary), (408, Temporary), (425, Temporary), (429, Temporary),
     (400, Permanent), (401, Permanent), (403, Permanent), (404, Permanent), (410, Permanent), (413, Permanent)],
)  # fmt: skip
def test_refusals_raise_by_kind_and_name_the_status(status, error):
    with WebhookReceiver([status]) as receiver, pytest.raises(error) as raised:
        post(receiver.url)

    assert type(raised.value) is error and raised.value.status == status
    assert f"answered {status}" in str(raised.value)
    assert "as scripted" in str(raised.value)  # the start of the body explains (Slack's "invalid_payload")
    assert "/hook" not in str(raised.value)  # the path may hold a token: host only


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_not_followed(status):
    moved = [("Location", "http://127.0.0.1:9/elsewhere")]
    with WebhookReceiver([status], headers=moved) as receiver, pytest.raises(Permanent, match="not followed") as raised:
        post(receiver.url)

    assert raised.value.status == status and len(receiver.requests) == 1


def test_slow_receiver_times_out_as_temporary(monkeypatch):
    monkeypatch.setattr(webhooks_module, "SEND_TIMEOUT", httpx.Timeout(0.2))  # fault injection: a short timeout
    with WebhookReceiver(delay=1.0) as receiver, pytest.raises(Temporary, match="did not answer in time") as raised:
        post(receiver.url)

    assert raised.value.status is None


def test_nobody_listening_is_temporary():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(Temporary, match="unreachable") as raised:
            post(f"http://127.0.0.1:{port}/hook")

    assert raised.value.status is None
