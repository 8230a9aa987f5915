"""The clamd client against a real clamd, and against fake ones that fail in the ways clamd can.

Every way of not getting a clear OK or FOUND must end in ScannerUnavailable: the upload is then
refused with "try again later", never accepted unscanned.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

import tests.clamd
from portal.documents.scanning import (
    ClamdScanner,
    NoScanner,
    ScannerUnavailable,
    Verdict,
    scanner_for,
)
from tests.clamd import EICAR, STREAM_MAX_BYTES, clamd, free_tcp_port, start_clamd  # noqa: F401


def test_eicar_is_infected_by_name_however_far_the_stream_was_read(clamd):  # noqa: F811
    stream = io.BytesIO(EICAR)
    stream.read()  # scanning from here would send nothing, and nothing is clean

    verdict = ClamdScanner(socket_path=clamd.socket_path, timeout=10).scan(stream)

    assert verdict.scanned and verdict.infected
    assert "eicar" in verdict.signature.lower()
    assert stream.tell() == 0


def test_a_clean_file_sent_in_many_chunks_passes_and_is_rewound(clamd):  # noqa: F811
    stream = io.BytesIO(os.urandom(3 * 1024 * 1024))
    stream.seek(12345)

    verdict = ClamdScanner(socket_path=clamd.socket_path, timeout=10).scan(stream)

    assert verdict == Verdict(scanned=True, signature=None)
    assert not verdict.infected
    assert stream.tell() == 0, "the caller reads the file again from the start"


def test_eicar_split_into_tiny_chunks_is_still_found(clamd):  # noqa: F811
    # The signature is the whole file's hash: clamd must see the chunks as one stream.
    scanner = ClamdScanner(socket_path=clamd.socket_path, timeout=10, chunk_size=7)
    assert scanner.scan(io.BytesIO(EICAR)).infected


def test_eicar_is_found_over_tcp(clamd):  # noqa: F811
    scanner = ClamdScanner(host=clamd.host, port=clamd.port, timeout=10)

    verdict = scanner.scan(io.BytesIO(EICAR))

    assert verdict.infected and "eicar" in verdict.signature.lower()
    assert scanner.ping()


def test_a_stream_past_clamds_size_limit_is_unavailable_not_clean(clamd, tmp_path):  # noqa: F811
    # A sparse file: clamd hangs up mid-stream, the client reads its ERROR instead of a verdict.
    big = tmp_path / "big.bin"
    with big.open("wb") as sparse:
        sparse.truncate(STREAM_MAX_BYTES + 1024 * 1024)
    scanner = ClamdScanner(socket_path=clamd.socket_path, timeout=10)

    with big.open("rb") as stream, pytest.raises(ScannerUnavailable, match="size limit"):
        scanner.scan(stream)

    assert scanner.scan(io.BytesIO(EICAR)).infected, "clamd carries on after refusing a stream"


def test_a_clamd_that_died_is_unavailable_on_its_socket_and_its_port(tmp_path):
    own = start_clamd(tmp_path, tcp_port=free_tcp_port())
    try:
        by_socket = ClamdScanner(socket_path=own.socket_path, timeout=2)
        by_port = ClamdScanner(host=own.host, port=own.port, timeout=2)
        assert by_socket.scan(io.BytesIO(EICAR)).infected
        own.process.kill()
        own.process.wait()
    finally:
        own.stop()

    assert (tmp_path / "clamd.sock").is_socket(), "a killed clamd leaves its socket file behind"
    for scanner in (by_socket, by_port):
        with pytest.raises(ScannerUnavailable):
            scanner.scan(io.BytesIO(b"hello"))
        assert not scanner.ping()


def test_nothing_behind_the_socket_path_or_the_port_is_unavailable(tmp_path):
    scanners = [
        ClamdScanner(socket_path=str(tmp_path / "nothing.sock"), timeout=1),
        ClamdScanner(host="127.0.0.1", port=free_tcp_port(), timeout=1),
    ]
    for scanner in scanners:
        stream = io.BytesIO(b"hello")
        with pytest.raises(ScannerUnavailable):
            scanner.scan(stream)
        assert stream.tell() == 0
        assert not scanner.ping()


def _read_request(connection: socket.socket) -> None:
    """Read up to INSTREAM's zero-length end mark, as clamd does before it answers."""
    data = b""
    while not data.endswith(b"\0\0\0\0"):
        part = connection.recv(65536)
        if not part:
            return
        data += part


def _answer(reply: bytes) -> Callable[[socket.socket, threading.Event], None]:
    def answer(connection: socket.socket, done: threading.Event) -> None:
        connection.sendall(reply)

    return answer


def _stay_silent(connection: socket.socket, done: threading.Event) -> None:
    done.wait(10)


def _trickle(connection: socket.socket, done: threading.Event) -> None:
    # One byte at a time, never the NUL: a timeout per recv() would wait forever.
    while not done.wait(0.1):
        connection.sendall(b"s")


@contextmanager
def fake_clamd(
    behave: Callable[[socket.socket, threading.Event], None],
) -> Iterator[int]:
    """A loopback server for one connection: it reads the request, then behaves as told."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    done = threading.Event()

    def serve() -> None:
        with server:
            try:
                connection, _ = server.accept()
                with connection:
                    connection.settimeout(10)
                    _read_request(connection)
                    behave(connection, done)
            except OSError:
                pass  # the client gave up first, which is what the tests are about

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        done.set()
        thread.join(timeout=10)


@pytest.mark.parametrize(
    "reply",
    [
        b"what is this\0",
        b"INSTREAM size limit exceeded. ERROR\0",
        b"stream: Can't allocate memory ERROR\0",
        b"stream:  FOUND\0",
        b"stream: OK",  # no NUL: the connection closed mid-answer
        b"",
        b"stream: " + b"A" * 5000 + b" FOUND\0",
    ],
    ids=["garbage", "size-limit", "error", "nameless", "unterminated", "hang-up", "too-long"],
)
def test_anything_but_ok_or_found_is_unavailable_never_clean(reply):
    with fake_clamd(_answer(reply)) as port, pytest.raises(ScannerUnavailable):
        ClamdScanner(host="127.0.0.1", port=port, timeout=2).scan(io.BytesIO(b"x" * 10))


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        (b"stream: OK\0", Verdict(scanned=True, signature=None)),
        (b"stream: Win.Test.EICAR_HDB-1 FOUND\0", Verdict(True, "Win.Test.EICAR_HDB-1")),
    ],
    ids=["ok", "found"],
)
def test_ok_and_found_are_the_only_verdicts(reply, verdict):
    with fake_clamd(_answer(reply)) as port:
        assert (
            ClamdScanner(host="127.0.0.1", port=port, timeout=2).scan(io.BytesIO(b"x")) == verdict
        )


@pytest.mark.timeout(10)  # without a deadline for the whole scan, the trickle never ends
@pytest.mark.parametrize("behave", [_stay_silent, _trickle], ids=["silent", "trickling"])
def test_a_scanner_that_never_finishes_answering_is_unavailable_after_the_timeout(behave):
    with fake_clamd(behave) as port:
        scanner = ClamdScanner(host="127.0.0.1", port=port, timeout=0.5)
        started = time.monotonic()
        with pytest.raises(ScannerUnavailable):
            scanner.scan(io.BytesIO(b"x" * 10))
        elapsed = time.monotonic() - started

    assert 0.4 < elapsed < 3, "the timeout bounds the whole scan, not each read"


def test_no_scanner_passes_everything_unscanned_without_reading():
    closed = io.BytesIO(EICAR)
    closed.close()  # any read or seek would raise

    verdict = NoScanner().scan(closed)

    assert verdict == Verdict(scanned=False, signature=None)
    assert not verdict.infected


@pytest.mark.parametrize(
    ("socket_path", "host", "expected"),
    [
        (None, None, NoScanner),
        ("", "", NoScanner),
        ("/run/clamav/clamd.ctl", None, ClamdScanner),
        (None, "clamd.internal", ClamdScanner),
    ],
)
def test_scanner_for_follows_the_settings(socket_path, host, expected):
    scanner = scanner_for(socket_path, host, 3310, 5.0)

    assert type(scanner) is expected
    if isinstance(scanner, ClamdScanner):
        assert (scanner.socket_path, scanner.host, scanner.port) == (socket_path, host, 3310)
        assert scanner.timeout == 5.0


@pytest.mark.parametrize(
    "settings",
    [{}, {"socket_path": "/run/clamd.sock", "host": "clamd.internal"}],
    ids=["neither", "both"],
)
def test_clamd_scanner_needs_exactly_one_address(settings):
    with pytest.raises(ValueError, match="exactly one"):
        ClamdScanner(**settings)


def test_starting_clamd_without_it_installed_fails_rather_than_skips(tmp_path, monkeypatch):
    monkeypatch.setattr(tests.clamd, "CLAMD", str(tmp_path / "no-clamd"))

    with pytest.raises(pytest.fail.Exception, match="install clamav-daemon"):
        start_clamd(tmp_path)
