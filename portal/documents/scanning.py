"""Virus scanning through ClamAV's clamd, with the INSTREAM command over a socket.

The protocol is a few lines, and the PyPI clients are not worth a dependency: `clamd` has had no
release since 1.0.2 (2014), `pyClamd` none since 0.4.0, and neither bounds a scan by one timeout.
A scanner that is configured but cannot give an answer raises ScannerUnavailable, so the caller
refuses the upload: a file is never accepted unscanned because clamd was down, slow or confused.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass
from typing import BinaryIO, Protocol

# clamd's answers are one short line; anything longer is not clamd.
_MAX_REPLY_BYTES = 4096
_PREFIX = "stream: "
_FOUND = " FOUND"


@dataclass(frozen=True)
class Verdict:
    """What the scanner said; `scanned` is False only when scanning is not configured."""

    scanned: bool
    signature: str | None

    @property
    def infected(self) -> bool:
        return self.signature is not None


class ScannerUnavailable(Exception):
    """Configured, but no answer could be had: the caller refuses the upload and says try later."""


class Scanner(Protocol):
    def scan(self, stream: BinaryIO) -> Verdict: ...


class NoScanner:
    """Scanning not configured (development): every file passes, and its record says so."""

    def scan(self, stream: BinaryIO) -> Verdict:
        return Verdict(scanned=False, signature=None)


class ClamdScanner:
    """A clamd on a unix socket or TCP; `timeout` bounds a whole scan, so an upload cannot hang."""

    def __init__(
        self,
        *,
        socket_path: str | None = None,
        host: str | None = None,
        port: int = 3310,
        timeout: float = 30.0,
        chunk_size: int = 64 * 1024,
    ) -> None:
        if (socket_path is None) == (host is None):
            raise ValueError("give clamd's socket path or its host, exactly one of them")
        if timeout <= 0 or chunk_size <= 0:
            raise ValueError("the timeout and the chunk size must be positive")
        self.socket_path = socket_path
        self.host = host
        self.port = port
        self.timeout = timeout
        self.chunk_size = chunk_size

    def ping(self) -> bool:
        """True when clamd answers PONG: for health checks and for waiting until it has started."""
        deadline = time.monotonic() + self.timeout
        try:
            with self._connect(deadline) as connection:
                connection.sendall(b"zPING\0")
                return _read_reply(connection, deadline) == "PONG"
        except (OSError, ScannerUnavailable):
            return False

    def scan(self, stream: BinaryIO) -> Verdict:
        """Send the file in chunks (never whole in memory); the stream is left at 0 for its reader."""
        deadline = time.monotonic() + self.timeout
        stream.seek(0)
        try:
            with self._connect(deadline) as connection:
                self._send(connection, stream, deadline)
                reply = _read_reply(connection, deadline)
        except OSError as exc:
            raise ScannerUnavailable(f"clamd did not answer: {exc!r}") from exc
        finally:
            stream.seek(0)
        return _verdict(reply)

    def _connect(self, deadline: float) -> socket.socket:
        if self.socket_path is None:
            return socket.create_connection((self.host, self.port), timeout=_left(deadline))
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.settimeout(_left(deadline))
            connection.connect(self.socket_path)
        except OSError:
            connection.close()
            raise
        return connection

    def _send(self, connection: socket.socket, stream: BinaryIO, deadline: float) -> None:
        try:
            connection.settimeout(_left(deadline))
            connection.sendall(b"zINSTREAM\0")
            while chunk := stream.read(self.chunk_size):
                connection.settimeout(_left(deadline))
                connection.sendall(struct.pack(">I", len(chunk)) + chunk)
            connection.settimeout(_left(deadline))
            connection.sendall(struct.pack(">I", 0))
        except (BrokenPipeError, ConnectionResetError):
            # clamd hangs up early when a stream passes its StreamMaxLength; its answer, if it
            # got through, says why, and no answer at all is ScannerUnavailable from the reader.
            pass


def _left(deadline: float) -> float:
    """Seconds left before the deadline; TimeoutError (an OSError) once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("clamd took longer than the timeout")
    return left


def _read_reply(connection: socket.socket, deadline: float) -> str:
    data = b""
    while not data.endswith(b"\0"):
        connection.settimeout(_left(deadline))
        part = connection.recv(_MAX_REPLY_BYTES)
        if not part:
            raise ScannerUnavailable(f"clamd hung up without a whole answer: {data!r}")
        data += part
        if len(data) > _MAX_REPLY_BYTES:
            raise ScannerUnavailable("clamd's answer is too long to be clamd's")
    return data[:-1].decode("utf-8", "replace").strip()


def _verdict(reply: str) -> Verdict:
    """OK is clean and NAME FOUND is infected; anything else, an ERROR included, is no answer."""
    if reply == _PREFIX + "OK":
        return Verdict(scanned=True, signature=None)
    if reply.startswith(_PREFIX) and reply.endswith(_FOUND):
        name = reply[len(_PREFIX) : -len(_FOUND)].strip()
        if name:
            return Verdict(scanned=True, signature=name)
    raise ScannerUnavailable(f"clamd answered {reply!r}")


def scanner_for(socket_path: str | None, host: str | None, port: int, timeout: float) -> Scanner:
    """The scanner the settings ask for: NoScanner only when neither is set, ValueError for both."""
    if socket_path or host:
        return ClamdScanner(
            socket_path=socket_path or None, host=host or None, port=port, timeout=timeout
        )
    return NoScanner()
