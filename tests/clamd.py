"""A real clamd for the tests, with a signature database made at test time from the EICAR string.

Nothing is downloaded: `sigtool --md5` turns the EICAR test file into a one-line hash signature,
and clamd loads only that. Import the fixture where needed:
`from tests.clamd import clamd  # noqa: F401`.
"""

from __future__ import annotations

import shutil
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


@dataclass
class ClamdProcess:
    socket_path: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_clamd(directory: Path) -> ClamdProcess:
    if not Path(CLAMD).exists() or shutil.which(SIGTOOL) is None:
        pytest.fail("clamd is not installed: install Debian's clamav-daemon (.ci/run does)")
    database = directory / "db"
    database.mkdir()
    sample = directory / "eicar.com"
    sample.write_bytes(EICAR)
    signature = subprocess.run(
        [SIGTOOL, "--md5", str(sample)], check=True, capture_output=True, cwd=directory
    ).stdout
    (database / "test.hdb").write_bytes(signature)
    socket_path = directory / "clamd.sock"
    log = directory / "clamd.log"
    config = directory / "clamd.conf"
    config.write_text(
        f"LocalSocket {socket_path}\nDatabaseDirectory {database}\nForeground yes\n"
        f"LogFile {log}\nPidFile {directory / 'clamd.pid'}\n"
    )
    process = subprocess.Popen([CLAMD, "-c", str(config)], stdout=subprocess.DEVNULL)
    scanner = ClamdScanner(socket_path=str(socket_path), timeout=2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if scanner.ping():
            return ClamdProcess(str(socket_path), process, log)
        if process.poll() is not None:
            break
        time.sleep(0.2)
    ClamdProcess(str(socket_path), process, log).stop()
    text = log.read_text() if log.exists() else "(no log)"
    pytest.fail(f"clamd did not start:\n{text}")


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClamdProcess]:
    # Unix socket paths are limited to 108 bytes: keep the folder short.
    directory = Path(tmp_path_factory.mktemp("clamd", numbered=True))
    process = start_clamd(directory)
    try:
        yield process
    finally:
        process.stop()
