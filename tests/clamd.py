"""A real clamd for the tests, with a signature database made at test time from the EICAR string.

Nothing is downloaded: `sigtool --md5` turns the EICAR test file into a one-line hash signature,
and a body signature finds the EICAR string inside any file (a PDF carrying it, as an attacker's
would); clamd loads only those two, so it starts in seconds. Starting is still the slow part of these
tests, so one clamd serves the whole session; import its fixture where needed:
`from tests.clamd import clamd  # noqa: F401`.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from portal.documents.scanning import ClamdScanner

CLAMD = "/usr/sbin/clamd"
SIGTOOL = "/usr/bin/sigtool"
# The standard anti-virus test file, split so that this source file is not itself detected.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
# The body signature's name: what clamd reports for the EICAR string inside another file.
EICAR_INSIDE = "Portal.Test.EICAR-Inside"
START_SECONDS = 60
# As in Debian's packaged clamd.conf (the built-in default is 100M); uploads stop at 10 MB anyway.
STREAM_MAX_BYTES = 25 * 1024 * 1024
# sun_path is 108 bytes on Linux; a longer socket path fails in clamd with an obscure message.
MAX_SOCKET_PATH = 107


@dataclass
class ClamdProcess:
    socket_path: str
    host: str | None
    port: int | None
    process: subprocess.Popen[bytes]
    directory: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        """clamd's log and its own output: what a failure message needs to be understood."""
        parts = []
        for name in ("clamd.log", "clamd.out"):
            path = self.directory / name
            text = path.read_text(errors="replace").strip() if path.exists() else "(none)"
            parts.append(f"--- {name}\n{text}")
        return "\n".join(parts)


def free_tcp_port() -> int:
    """A loopback port that nothing listens on (the kernel picked it and it was let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_clamd(tmp_dir: Path, *, tcp_port: int | None = None) -> ClamdProcess:
    """Start clamd on a unix socket in tmp_dir (and on loopback TCP if asked), ready to scan."""
    if not Path(CLAMD).is_file() or not Path(SIGTOOL).is_file():
        pytest.fail(f"{CLAMD} or {SIGTOOL} is missing: install clamav-daemon (Debian's package)")
    socket_path = tmp_dir / "clamd.sock"
    if len(str(socket_path).encode()) > MAX_SOCKET_PATH:
        pytest.fail(f"{socket_path} is too long for a unix socket: use a shorter --basetemp")
    database = tmp_dir / "db"
    database.mkdir()
    scratch = tmp_dir / "scratch"
    scratch.mkdir()
    sample = tmp_dir / "eicar.com"
    sample.write_bytes(EICAR)
    signature = subprocess.run(
        [SIGTOOL, "--md5", str(sample)], check=True, capture_output=True, cwd=tmp_dir
    ).stdout
    (database / "test.hdb").write_bytes(signature)
    (database / "test.ndb").write_text(f"{EICAR_INSIDE}:0:*:{EICAR.hex()}\n")
    settings = [
        f"LocalSocket {socket_path}",
        f"DatabaseDirectory {database}",
        f"TemporaryDirectory {scratch}",
        f"StreamMaxLength {STREAM_MAX_BYTES}",
        "Foreground yes",
        f"LogFile {tmp_dir / 'clamd.log'}",
        f"PidFile {tmp_dir / 'clamd.pid'}",
    ]
    if tcp_port is not None:
        settings += [f"TCPSocket {tcp_port}", "TCPAddr 127.0.0.1"]
    config = tmp_dir / "clamd.conf"
    config.write_text("\n".join(settings) + "\n")
    with (tmp_dir / "clamd.out").open("wb") as out:
        process = subprocess.Popen([CLAMD, "-c", str(config)], stdout=out, stderr=subprocess.STDOUT)
    started = ClamdProcess(
        socket_path=str(socket_path),
        host="127.0.0.1" if tcp_port is not None else None,
        port=tcp_port,
        process=process,
        directory=tmp_dir,
    )
    _wait_until_answering(started)
    return started


def _wait_until_answering(started: ClamdProcess) -> None:
    scanners = [ClamdScanner(socket_path=started.socket_path, timeout=2)]
    if started.host is not None and started.port is not None:
        scanners.append(ClamdScanner(host=started.host, port=started.port, timeout=2))
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and started.process.poll() is None:
        if all(scanner.ping() for scanner in scanners):
            return
        time.sleep(0.2)
    exited = started.process.poll()
    started.stop()
    reason = f"exited with {exited}" if exited is not None else f"gave no PONG in {START_SECONDS} s"
    pytest.fail(f"clamd {reason}:\n{started.output()}")


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClamdProcess]:
    """One clamd for the session, on a unix socket and on a free loopback TCP port."""
    process = start_clamd(tmp_path_factory.mktemp("clamd"), tcp_port=free_tcp_port())
    try:
        yield process
    finally:
        process.stop()
