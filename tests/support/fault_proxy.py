"""A loopback TCP proxy that misbehaves on purpose, between a kiosk and a real server.

Each new client connection gets one fault, drawn from a seeded schedule:

- ``pass``      forward both ways untouched;
- ``drop``      forward the request, wait until the server has answered (so it committed), then cut the
                client off without the answer — the kiosk never learns its batch was stored;
- ``reset``     close the client connection at once with a TCP RST, before anything is forwarded;
- ``stall``     read the request and never answer (the kiosk's timeout must fire);
- ``http500``, ``http503``, ``http429``, ``http413``   answer with that status instead of the server
                (413 only for bodies over 4 KiB, so a one-tap batch is never told it is too large).

Runs its own asyncio loop on a thread; ``counts`` records how many of each fault were served.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Sequence

FAULTS = ("pass", "drop", "reset", "stall", "http500", "http503", "http429", "http413")
_CANNED = {
    "http500": b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n",
    "http503": b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 0\r\ncontent-type: application/json\r\n",
    "http429": b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 0\r\ncontent-type: application/json\r\n",
    "http413": b"HTTP/1.1 413 Content Too Large\r\ncontent-type: application/json\r\n",
}


class FaultProxy:
    """Listen on 127.0.0.1:<port> and forward to ``upstream`` (host, port) with injected faults."""

    def __init__(self, upstream: tuple[str, int], faults: Sequence[str], weights: Sequence[float], seed: int) -> None:
        self.upstream = upstream
        self.faults = list(faults)
        self.weights = list(weights)
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shutdown(self) -> None:
        """Stop listening and cancel the connections still open (stalled ones wait forever otherwise)."""
        if self._server is not None:
            self._server.close()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fault = self.rng.choices(self.faults, self.weights)[0]
        try:
            await self._serve(fault, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()

    async def _serve(self, fault: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if fault == "reset":
            self.counts[fault] += 1
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        head, body = await _read_request(reader)
        if fault in _CANNED and not (fault == "http413" and len(body) <= 4096):
            self.counts[fault] += 1
            message = b'{"message": "injected by the fault proxy"}'
            writer.write(_CANNED[fault] + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(message) + message)
            await writer.drain()
            return
        if fault == "stall":
            self.counts[fault] += 1
            await asyncio.sleep(3600)
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        try:
            up_writer.write(head + body)
            await up_writer.drain()
            answer = await _read_response(up_reader)
        finally:
            up_writer.close()
        if fault == "drop":
            self.counts[fault] += 1
            return  # the server answered (and committed); the client never hears of it
        self.counts["pass"] += 1
        writer.write(answer)
        await writer.drain()


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 request with a Content-Length body; the head is rewritten to close after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = _content_length(head)
    body = await reader.readexactly(length) if length else b""
    lines = [line for line in head.split(b"\r\n") if line and not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"connection: close", b"", b""]), body


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = _content_length(head)
    return head + (await reader.readexactly(length) if length else b"")


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0
