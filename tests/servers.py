"""Gunicorn servers in subprocesses, for the tests and benches that need real HTTP between
processes: what the Flask test client cannot show (a session signed by one process and read by
another, settings read from the environment, gunicorn's own configuration) shows here.

Each server runs with infra/gunicorn.conf.py, as in the container, bound to a free loopback port,
with a clean environment (only what the caller passes, so a developer's PORTAL_* variables cannot
leak in), and writes its stdout and stderr to a file that the caller can read and show on failure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
GUNICORN_CONFIG = ROOT / "infra" / "gunicorn.conf.py"


def free_port() -> int:
    """A port nothing listens on now (the small race before gunicorn binds it is acceptable)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def base_environment() -> dict[str, str]:
    """What any process needs to run, and nothing that configures the portal."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
    environment = {name: os.environ[name] for name in keep if name in os.environ}
    environment.setdefault("LANG", "C.UTF-8")
    return environment


@dataclass
class Server:
    """One gunicorn master and its workers, in a process group of their own."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    _log_file: IO[bytes]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def records(self) -> list[dict[str, Any]]:
        """The JSON log lines the server wrote (the app's and gunicorn's), in order."""
        found = []
        for line in self.output().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                found.append(record)
        return found

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGINT (gunicorn's quick shutdown), then SIGKILL to the group if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log_file.close()


def start_gunicorn(
    name: str,
    application: str,
    environment: dict[str, str],
    directory: Path,
    *,
    workers: int = 1,
    threads: int = 2,
    ready_path: str = "/readyz",
    timeout: float = 60.0,
) -> Server:
    """Start `application` (a gunicorn app spec) and wait until `ready_path` answers 200.

    `directory` receives the log (name.log) and the server's Prometheus files: servers started
    together must not share that folder, since each master empties it when it starts.
    """
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / f"{name}.log"
    log_file = log.open("wb")
    env = {
        **base_environment(),
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        "PROMETHEUS_MULTIPROC_DIR": str(directory / f"{name}-metrics"),
        **environment,
    }
    command = [
        str(GUNICORN),
        "--config",
        str(GUNICORN_CONFIG),
        "--bind",
        f"127.0.0.1:{port}",
        application,
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(name, f"http://127.0.0.1:{port}", process, log, log_file)
    try:
        wait_until_ready(server, ready_path, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_ready(server: Server, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.tail()}"
            )
        try:
            with urllib.request.urlopen(server.url + path, timeout=5) as answer:  # noqa: S310
                if answer.status == 200:
                    return
                last = f"status {answer.status}"
        except urllib.error.HTTPError as error:
            last = f"status {error.code}: {error.read()[:500]!r}"
        except OSError as error:
            last = repr(error)
        time.sleep(0.2)
    raise RuntimeError(
        f"{server.name} not ready at {path} after {timeout} s ({last}):\n{server.tail()}"
    )
