"""E-mail over SMTP: :func:`parse_smtp_url` reads ``SMILEPOST_SMTP_URL``, :func:`build_message` makes the message
with the standard library's :class:`~email.message.EmailMessage`, :func:`send_email` sends it with :mod:`smtplib`.
(The module is not called ``email`` so that it never stands in for the standard library's package.)

=========================================  ============================================================
``smtp_url``                               connection
=========================================  ============================================================
``smtp://host:25`` (port 25 by default)    plain SMTP, upgraded with STARTTLS when the server offers it
``smtp://user:pass@host:587``              the same; the password is sent only over TLS, so a server
                                           offering no STARTTLS fails (Permanent)
``smtp://host:587?starttls=require``       STARTTLS or nothing: a server not offering it fails (Permanent)
``smtp://127.0.0.1:25?starttls=never``     never STARTTLS (a local relay with a self-signed certificate;
                                           no password then)
``smtps://user:pass@host:465`` (465)       TLS from the first byte (implicit TLS)
=========================================  ============================================================

User name and password are URL-decoded (``p%40ss`` is ``p@ss``). Certificates are verified (the system's CAs, or the
``ssl_context`` given), for STARTTLS too, and a failed TLS handshake never falls back to plain text. Timeouts apply to
every step (connect, each command). The password appears in no message, log line or ``repr``.

Each message has a plain-text part and an HTML alternative, ``From: mail_from`` and ``Message-ID: <KEY@smilepost>``
from the delivery's idempotency key, so a re-delivery of the same notification is recognisable as the same message.

Raises :class:`server.InvalidInput` (a malformed URL), :class:`~server.notify.Permanent` and
:class:`~server.notify.Temporary` (sending): SMTP replies 5xx, missing STARTTLS or AUTH, a message the addresses
cannot go in are Permanent; 4xx replies, network errors, timeouts and TLS failures are Temporary.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from server import InvalidInput
from server.notify import DeliveryError, Permanent, Temporary
from server.notify.payloads import OPEN_LABEL, facts, title

SMTP_TIMEOUT = 10.0  # seconds, per step
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
STARTTLS_MODES = ("auto", "require", "never")
MESSAGE_ID_DOMAIN = "smilepost"


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send mail; ``password`` is left out of ``repr``."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: str = "auto"  # auto | require | never; only for smtp://
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """``smtp://user@host:587``: the connection without the password, for messages and logs."""
        user = f"{self.username}@" if self.username else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpConfig:
    """The connection ``url`` describes (see the module's table).

    Raises InvalidInput for another scheme, no host, a bad port, a path, or a query other than
    ``starttls=auto|require|never`` (on smtp:// only); the message never repeats the URL (it may hold a password).
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise InvalidInput("SMILEPOST_SMTP_URL is malformed (check the port)") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidInput("SMILEPOST_SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://…")
    if parts.path not in ("", "/") or parts.fragment:
        raise InvalidInput("SMILEPOST_SMTP_URL takes no path; URL-encode / # ? in the password (%2F %23 %3F)")
    return SmtpConfig(
        host=parts.hostname, port=port or DEFAULT_PORTS[scheme], implicit_tls=scheme == "smtps",
        starttls=_starttls_mode(parts.query, scheme),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )  # fmt: skip


def _starttls_mode(query: str, scheme: str) -> str:
    """The ``starttls`` query value (default auto). Raises InvalidInput for other keys or values."""
    try:
        values = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise InvalidInput("SMILEPOST_SMTP_URL has a malformed query") from None
    if set(values) - {"starttls"} or len(values.get("starttls", [])) > 1:
        raise InvalidInput("SMILEPOST_SMTP_URL takes one option only: ?starttls=auto|require|never")
    mode = values.get("starttls", ["auto"])[0].lower()
    if mode not in STARTTLS_MODES:
        raise InvalidInput(f"starttls must be one of {', '.join(STARTTLS_MODES)}, got {mode!r}")
    if scheme == "smtps" and "starttls" in values:
        raise InvalidInput("smtps:// is TLS from the start; ?starttls= applies to smtp:// only")
    return mode


def message_id(idempotency_key: str) -> str:
    """``<KEY@smilepost>``: the same for every delivery attempt of one notification."""
    return f"<{idempotency_key}@{MESSAGE_ID_DOMAIN}>"


def build_message(
    payload: Mapping[str, Any], *, mail_from: str, to: str, idempotency_key: str, now: datetime | None = None
) -> EmailMessage:
    """The e-mail for one notification: subject from its title, a plain-text part and an HTML alternative.

    Raises Permanent when ``mail_from`` or ``to`` cannot be put in a header (a malformed address).
    """
    message = EmailMessage()
    try:
        message["Subject"] = " ".join(title(payload).split())  # one line, whatever a location is called
        message["From"] = mail_from
        message["To"] = to
    except (ValueError, HeaderParseError, IndexError) as exc:
        raise Permanent(f"cannot address the e-mail (From {mail_from!r}, To {to!r}): {exc}") from None
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id(idempotency_key)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    message["X-Smilepost-Event"] = str(payload["event"])
    message.set_content(text_body(payload), cte="quoted-printable")
    message.add_alternative(html_body(payload), subtype="html")
    return message


def text_body(payload: Mapping[str, Any]) -> str:
    """The plain-text part: the title, one ``Label: text`` line per fact, the link."""
    lines = [title(payload), "", *(f"{name}: {text}" for name, text in facts(payload))]
    if payload.get("url"):
        lines += ["", f"{OPEN_LABEL}: {payload['url']}"]
    return "\n".join(lines) + "\n"


def html_body(payload: Mapping[str, Any]) -> str:
    """The HTML part: the title, a table of facts, the link; every text escaped."""
    cell = '<th align="left" style="padding:2px 12px 2px 0">'
    rows = "".join(
        f"<tr>{cell}{html.escape(name)}</th><td>{html.escape(text)}</td></tr>" for name, text in facts(payload)
    )
    link = f'<p><a href="{html.escape(payload["url"])}">{OPEN_LABEL}</a></p>' if payload.get("url") else ""
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f'<h1 style="font-size:18px">{html.escape(title(payload))}</h1><table>{rows}</table>{link}</body></html>'
    )


def send_email(
    config: SmtpConfig, message: EmailMessage, *, ssl_context: ssl.SSLContext | None = None,
    timeout: float = SMTP_TIMEOUT,
) -> None:  # fmt: skip
    """Send ``message`` through the server ``config`` names (TLS as its URL says, then AUTH when it has a user).

    Raises Permanent for a 5xx reply (recipient or sender refused, bad credentials), STARTTLS required but not
    offered, a password that would go unencrypted, a non-ASCII password or AUTH the server does not offer;
    Temporary for a 4xx reply, a network error, a timeout or a TLS failure (certificate included).
    """
    context = ssl_context or ssl.create_default_context()
    where = config.describe()
    if not f"{config.username or ''}{config.password or ''}".isascii():
        raise Permanent(f"{where}: smtplib sends only ASCII user names and passwords; use an ASCII password")
    try:
        with _connect(config, context, timeout) as smtp:
            _secure(smtp, config, context, where)
            if config.username:
                smtp.login(config.username, config.password or "")
            smtp.send_message(message)
    except DeliveryError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        kind = Permanent if all(code >= 500 for code in codes) else Temporary
        raise kind(f"{where} refused the recipient: {_reply(exc.recipients)}", min(codes, default=None)) from None
    except smtplib.SMTPResponseException as exc:
        kind = Permanent if exc.smtp_code >= 500 else Temporary
        raise kind(f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}", exc.smtp_code) from None
    except smtplib.SMTPServerDisconnected as exc:
        raise Temporary(f"{where}: {exc}") from None
    except smtplib.SMTPException as exc:  # no AUTH method in common, STARTTLS or AUTH not supported
        raise Permanent(f"{where}: {exc}") from None
    except OSError as exc:  # smtplib's errors are OSErrors too, so this comes last: network, timeout, TLS
        raise Temporary(f"{where}: {type(exc).__name__}: {exc}") from None


def _connect(config: SmtpConfig, context: ssl.SSLContext, timeout: float) -> smtplib.SMTP:
    """An open SMTP connection (TLS already up for smtps://). Raises OSError and smtplib errors."""
    if config.implicit_tls:
        return smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=context)
    return smtplib.SMTP(config.host, config.port, timeout=timeout)


def _secure(smtp: smtplib.SMTP, config: SmtpConfig, context: ssl.SSLContext, where: str) -> None:
    """STARTTLS as the config says. Raises Permanent when TLS is required (by ``?starttls=require`` or by a
    password to send) but not offered; smtplib errors as they come."""
    if config.implicit_tls:
        return
    smtp.ehlo()
    if config.starttls != "never" and smtp.has_extn("starttls"):
        smtp.starttls(context=context)
        smtp.ehlo()
        return
    if config.starttls == "require":
        raise Permanent(f"{where} does not offer STARTTLS, which ?starttls=require insists on")
    if config.username:
        raise Permanent(f"{where} is not encrypted (no STARTTLS): the password is sent only over TLS")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _reply(recipients: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{address}: {code} {_text(text)}" for address, (code, text) in recipients.items())
