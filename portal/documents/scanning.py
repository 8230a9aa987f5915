"""Virus scanning through ClamAV's clamd, with the INSTREAM command over a socket.

The protocol is a few lines, and the PyPI clients (`clamd`, `pyclamd`) have been unmaintained
since 2017, so the portal speaks it itself. A scanner that is configured but cannot answer makes
the caller refuse the upload: a file is never accepted unscanned because clamd was down.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class Verdict:
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
            raise ValueError("give clamd's socket path or its host, not both")
        self.socket_path = socket_path
        self.host = host
        self.port = port
        self.timeout = timeout
        self.chunk_size = chunk_size

    def _connect(self) -> socket.socket:
        try:
            if self.socket_path is not None:
                connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                connection.settimeout(self.timeout)
                connection.connect(self.socket_path)
                return connection
            return socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise ScannerUnavailable(f"cannot reach clamd: {exc}") from exc

    def ping(self) -> bool:
        try:
            with self._connect() as connection:
                connection.sendall(b"zPING\0")
                return _read_reply(connection) == "PONG"
        except (OSError, ScannerUnavailable):
            return False

    def scan(self, stream: BinaryIO) -> Verdict:
        """Stream the file in chunks (never whole in memory) and read clamd's one-line verdict."""
        stream.seek(0)
        try:
            with self._connect() as connection:
                try:
                    connection.sendall(b"zINSTREAM\0")
                    while chunk := stream.read(self.chunk_size):
                        connection.sendall(struct.pack(">I", len(chunk)) + chunk)
                    connection.sendall(struct.pack(">I", 0))
                except BrokenPipeError:
                    # clamd closes early when a stream passes its size limit; its reply says so.
                    pass
                reply = _read_reply(connection)
        except OSError as exc:
            raise ScannerUnavailable(f"clamd did not answer: {exc}") from exc
        finally:
            stream.seek(0)
        return _verdict(reply)


def _read_reply(connection: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\0"):
        part = connection.recv(4096)
        if not part:
            break
        data += part
        if len(data) > 4096:
            raise ScannerUnavailable("clamd's answer is too long")
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


def _verdict(reply: str) -> Verdict:
    if reply == "stream: OK":
        return Verdict(scanned=True, signature=None)
    if reply.startswith("stream: ") and reply.endswith(" FOUND"):
        return Verdict(scanned=True, signature=reply[len("stream: ") : -len(" FOUND")])
    raise ScannerUnavailable(f"clamd answered {reply!r}")


def scanner_for(socket_path: str | None, host: str | None, port: int, timeout: float) -> Scanner:
    if socket_path:
        return ClamdScanner(socket_path=socket_path, timeout=timeout)
    if host:
        return ClamdScanner(host=host, port=port, timeout=timeout)
    return NoScanner()
