"""E-mail: smtp_url parsing, the message, and sending to a real aiosmtpd server on 127.0.0.1 (plain, STARTTLS and
implicit TLS with trustme certificates)."""

from __future__ import annotations

import logging
import socket
import ssl
from datetime import UTC, datetime

import pytest

from server import InvalidInput
from server.notify import Permanent, Temporary
from server.notify.mail import SmtpConfig, build_message, parse_smtp_url, send_email
from server.notify.payloads import alert_payload
from tests.support.receivers import SmtpReceiver

PAYLOAD = alert_payload(
    "alert.opened", alert_id=17, rule_id=4, location_id=2, location_name="Gate 12", metric="negative",
    direction="above", value=46.2, threshold=40.0, responses=52, window_start=datetime(2026, 3, 14, 15, 50, tzinfo=UTC),
    window_end=datetime(2026, 3, 14, 16, 20, tzinfo=UTC), public_url="https://smile.example", timezone="Europe/Oslo",
)  # fmt: skip
PASSWORD = "p@ss:w/rd #1"
ENCODED = "p%40ss%3Aw%2Frd%20%231"


def message(to: str = "boss@example.com"):
    return build_message(PAYLOAD, mail_from="Smilepost <alerts@smile.example>", to=to, idempotency_key="4f2a9c")


# --- smtp_url ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", SmtpConfig("mail.example.com", 25)),
        ("smtp://mail.example.com:25", SmtpConfig("mail.example.com", 25)),
        (f"smtp://ann:{ENCODED}@mail.example.com:587",
         SmtpConfig("mail.example.com", 587, username="ann", password=PASSWORD)),
        ("smtp://mail.example.com:587?starttls=require", SmtpConfig("mail.example.com", 587, starttls="require")),
        ("smtp://127.0.0.1?starttls=never", SmtpConfig("127.0.0.1", 25, starttls="never")),
        ("smtps://ann%40example.com:pw@mail.example.com", SmtpConfig("mail.example.com", 465, implicit_tls=True,
                                                                    username="ann@example.com", password="pw")),
        ("SMTPS://Mail.Example.com:2465/", SmtpConfig("mail.example.com", 2465, implicit_tls=True)),
        ("smtp://[::1]:2525", SmtpConfig("::1", 2525)),
    ],
)  # fmt: skip
def test_smtp_url_parsed(url, expected):
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    "url",
    ["http://mail.example.com", "smtp://", "smtp://ann:secretpw@mail.example.com:99999",
     "smtp://ann:secretpw@mail.example.com/inbox", "smtp://h?starttls=maybe", "smtp://h?tls=1",
     "smtp://h?starttls=require&starttls=never", "smtps://h?starttls=require", "smtp://ann:secretpw@h:port"],
)  # fmt: skip
def test_malformed_smtp_url_refused_without_repeating_it(url):
    with pytest.raises(InvalidInput) as raised:
        parse_smtp_url(url)

    assert "secretpw" not in str(raised.value)


def test_password_is_left_out_of_repr_and_describe():
    config = parse_smtp_url(f"smtp://ann:{ENCODED}@mail.example.com:587")

    assert PASSWORD not in repr(config) and ENCODED not in repr(config)
    assert config.describe() == "smtp://ann@mail.example.com:587"


# --- the message ---------------------------------------------------------------------------------------------


def test_message_has_headers_text_and_html_parts():
    built = message()

    assert built["From"] == "Smilepost <alerts@smile.example>"
    assert built["To"] == "boss@example.com"
    assert built["Subject"] == "Alert at Gate 12: negative share 46.2 % (above 40 %)"
    assert built["Message-ID"] == "<4f2a9c@smilepost>"
    assert built["Auto-Submitted"] == "auto-generated"
    assert built.get_content_type() == "multipart/alternative"
    text = built.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = built.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Window: 2026-03-14 16:50–17:20 Europe/Oslo" in text
    assert "Open in Smilepost: https://smile.example/alerts/17" in text
    assert '<a href="https://smile.example/alerts/17">' in page and "<td>46.2 %</td>" in page


def test_message_escapes_html_and_keeps_the_subject_on_one_line():
    payload = {**PAYLOAD, "location_name": "Gate <b>12</b>\r\nBcc: everyone@example.com"}
    built = build_message(payload, mail_from="alerts@smile.example", to="boss@example.com", idempotency_key="k")

    assert "\n" not in built["Subject"] and built["Bcc"] is None
    assert "Gate &lt;b&gt;12&lt;/b&gt;" in built.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_unusable_address_is_permanent():
    with pytest.raises(Permanent):
        build_message(PAYLOAD, mail_from="alerts@smile.example", to="a@b\nBcc: c@d", idempotency_key="k")


# --- sending -------------------------------------------------------------------------------------------------


def test_mail_arrives_over_plain_smtp_without_credentials():
    with SmtpReceiver() as server:
        send_email(parse_smtp_url(server.url()), message())

    (received,) = server.messages
    assert received["Message-ID"] == "<4f2a9c@smilepost>"
    assert received["Subject"] == "Alert at Gate 12: negative share 46.2 % (above 40 %)"
    assert server.collector.envelopes == [("alerts@smile.example", ["boss@example.com"])]
    assert {part.get_content_type() for part in received.walk()} >= {"text/plain", "text/html"}


def test_starttls_with_a_trusted_certificate_and_an_encoded_password():
    with SmtpReceiver(tls="starttls", login=("ann", PASSWORD)) as server:
        config = parse_smtp_url(server.url(user="ann", password=ENCODED))
        send_email(config, message(), ssl_context=server.certificates.client)  # type: ignore[union-attr]

    assert len(server.messages) == 1
    assert server.collector.tls == [True]
    assert server.collector.logins == [("ann", PASSWORD)]


def test_starttls_required_and_offered():
    with SmtpReceiver(tls="starttls") as server:
        config = parse_smtp_url(server.url(query="starttls=require"))
        send_email(config, message(), ssl_context=server.certificates.client)  # type: ignore[union-attr]

    assert server.collector.tls == [True]


def test_starttls_required_but_not_offered_fails_clearly():
    with SmtpReceiver() as server, pytest.raises(Permanent, match="does not offer STARTTLS") as raised:
        send_email(parse_smtp_url(server.url(query="starttls=require")), message())

    assert "starttls=require" in str(raised.value)
    assert server.messages == []


def test_password_is_never_sent_without_tls():
    with SmtpReceiver() as server, pytest.raises(Permanent, match="only over TLS"):
        send_email(parse_smtp_url(server.url(user="ann", password="pw")), message())

    assert server.messages == [] and server.collector.logins == []


def test_starttls_never_sends_in_plain_text_to_a_server_offering_it():
    with SmtpReceiver(tls="starttls") as server:
        send_email(parse_smtp_url(server.url(query="starttls=never")), message())

    assert server.collector.tls == [False]


def test_smtps_implicit_tls():
    with SmtpReceiver(tls="implicit", login=("ann", "pw")) as server:
        config = parse_smtp_url(server.url(user="ann", password="pw"))
        send_email(config, message(), ssl_context=server.certificates.client)  # type: ignore[union-attr]

    assert len(server.messages) == 1 and server.collector.logins == [("ann", "pw")]


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_untrusted_certificate_is_temporary_and_never_falls_back_to_plain(tls):
    with SmtpReceiver(tls=tls) as server, pytest.raises(Temporary, match="CERTIFICATE_VERIFY_FAILED"):
        send_email(parse_smtp_url(server.url()), message(), ssl_context=ssl.create_default_context())

    assert server.messages == []


def test_wrong_password_is_permanent_and_never_logged_or_shown(caplog):
    caplog.set_level(logging.DEBUG)
    with SmtpReceiver(tls="starttls", login=("ann", "right")) as server:
        config = parse_smtp_url(server.url(user="ann", password=ENCODED))
        with pytest.raises(Permanent) as raised:
            send_email(config, message(), ssl_context=server.certificates.client)  # type: ignore[union-attr]

    assert raised.value.status == 535
    assert PASSWORD not in str(raised.value) and ENCODED not in str(raised.value)
    assert PASSWORD not in caplog.text and ENCODED not in caplog.text


@pytest.mark.parametrize(("reply", "error"), [("550 5.1.1 no such user", Permanent), ("450 4.2.1 busy", Temporary)])
def test_refused_recipient_by_reply_code(reply, error):
    with SmtpReceiver(refuse={"gone@example.com": reply}) as server, pytest.raises(error) as raised:
        send_email(parse_smtp_url(server.url()), message(to="gone@example.com"))

    assert raised.value.status == int(reply[:3]) and "gone@example.com" in str(raised.value)


def test_non_ascii_password_is_refused_before_connecting():
    config = parse_smtp_url("smtp://ann:%C3%A9t%C3%A9@127.0.0.1:9")
    assert config.password == "été"
    with pytest.raises(Permanent, match="ASCII") as raised:
        send_email(config, message())

    assert "été" not in str(raised.value)


def test_nobody_listening_is_temporary():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(Temporary, match="ConnectionRefusedError"):
            send_email(parse_smtp_url(f"smtp://127.0.0.1:{port}"), message(), timeout=2)
