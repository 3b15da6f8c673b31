"""Real receivers for notifications on 127.0.0.1: an SMTP server (aiosmtpd; plain, STARTTLS or implicit TLS with a
trustme certificate; optional AUTH) and an HTTP webhook receiver that records every request and answers a scripted
sequence of statuses. Both are context managers on a free port.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, Session


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``condition`` every 20 ms until it holds. Raises AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.02)


# --- TLS -------------------------------------------------------------------------------------------------------


@dataclass
class Tls:
    """A private CA and a certificate for 127.0.0.1 / localhost: ``server`` context for the receiver, ``client``
    context trusting only that CA."""

    ca: trustme.CA

    @classmethod
    def make(cls) -> Tls:
        return cls(trustme.CA())

    @property
    def server(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    @property
    def client(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


# --- SMTP ------------------------------------------------------------------------------------------------------


class _Collector:
    """aiosmtpd handler keeping every message it accepts, with the envelope and the login used; ``refuse`` maps a
    recipient to the reply that refuses it (``"550 5.1.1 no such user"``)."""

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.refuse = refuse or {}
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[tuple[str, str]] = []
        self.tls: list[bool] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.tls.append(session.ssl is not None)
        return "250 Message accepted for delivery"


class _Session(Session):
    """aiosmtpd 1.4 logs a deprecation warning on every successful login when it sets this legacy property; a plain
    attribute keeps test logs about our code."""

    login_data: Any = None


class _SMTP(SMTP):
    def _create_session(self) -> Session:
        return _Session(self.loop)


class _Controller(Controller):
    """aiosmtpd's Controller on port 0 (the port the OS picked is read before the first connection), with the
    quieter session above."""

    def factory(self) -> SMTP:
        return _SMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpReceiver:
    """A real SMTP server on 127.0.0.1 collecting messages.

    ``tls``: None (plain, no STARTTLS offered), "starttls" (offers STARTTLS) or "implicit" (smtps). ``login``:
    (user, password) to offer AUTH (only over TLS) and accept exactly that. ``refuse``: recipient → refusing reply.
    """

    def __init__(
        self, *, tls: str | None = None, login: tuple[str, str] | None = None, refuse: dict[str, str] | None = None
    ) -> None:
        self.certificates = Tls.make() if tls else None
        self.tls_mode = tls
        self.collector = _Collector(refuse)
        self.login = login
        kwargs: dict[str, Any] = {"server_hostname": "smtp.test", "auth_require_tls": True}
        if tls == "starttls":
            assert self.certificates is not None
            kwargs["tls_context"] = self.certificates.server
        if tls == "implicit":
            assert self.certificates is not None
            kwargs["ssl_context"] = self.certificates.server
            kwargs["auth_require_tls"] = False  # implicit TLS is TLS; aiosmtpd only counts STARTTLS as such
        if login:
            kwargs["authenticator"] = self._authenticate
        self.controller = _Controller(self.collector, hostname="127.0.0.1", port=0, **kwargs)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            self.collector.logins.append((user, password))
            return AuthResult(success=(user, password) == self.login, handled=False)  # aiosmtpd answers 535
        return AuthResult(success=False, handled=False)

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages

    def url(self, *, user: str | None = None, password: str | None = None, query: str = "") -> str:
        """An ``smtp_url`` for this server (smtps:// for implicit TLS); the password is used as given (encode it)."""
        scheme = "smtps" if self.tls_mode == "implicit" else "smtp"
        auth = f"{user}:{password}@" if user else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}" + (f"?{query}" if query else "")

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


# --- webhooks --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request the webhook receiver got; header names lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered


class WebhookReceiver:
    """A threaded HTTP server on 127.0.0.1 recording every request.

    It answers ``statuses`` in order (then ``then``, default 200); ``delay`` seconds before answering simulate a
    slow receiver; ``on_request(received)`` runs before the answer (to probe the sender's state mid-send).
    """

    def __init__(
        self,
        statuses: Iterable[int] = (),
        *,
        then: int = 200,
        delay: float = 0.0,
        headers: Sequence[tuple[str, str]] = (),
        on_request: Callable[[Received], None] | None = None,
    ) -> None:
        self.script = list(statuses)
        self.then = then
        self.delay = delay
        self.extra_headers = list(headers)
        self.on_request = on_request
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="webhook", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def next_status(self) -> int:
        with self._lock:
            return self.script.pop(0) if self.script else self.then

    def record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.next_status()
                headers = {name.lower(): value for name, value in self.headers.items()}
                received = Received(self.command, self.path, headers, body, status)
                if receiver.on_request:
                    receiver.on_request(received)
                time.sleep(receiver.delay)
                receiver.record(received)
                self.send_response(status)
                for name, value in receiver.extra_headers:
                    self.send_header(name, value)
                answer = b"ok" if status < 300 else f"status {status} as scripted".encode()
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet test output

        return Handler

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
