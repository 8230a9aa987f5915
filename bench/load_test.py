"""How many applicants the portal serves at once, against what the same server does for nothing.

N simulated applicants (locust, run as a library in a child process) replay the journey against
gunicorn with the container's settings (infra/gunicorn.conf.py, 2 workers x 4 threads) on
PostgreSQL: sign in, the task list, every question page of a main applicant alone (GET, then POST
with the page's CSRF token), check your answers, sign out; then again. Each simulated user has its
own account, made beforehand with a draft past the eligibility questions and its two required
documents' rows, so that the run measures the journey, not registration (the check-your-answers
page lists the files by name and never reads them, so those rows need no objects).

A phase "journey + uploads" adds the documents: each journey also uploads UPLOADS phone photos
(a 12 MP JPEG of about 2.6 MB, made once with Pillow) through the real upload form, as a phone
without JavaScript sends them (multipart, the whole photo), then removes them from the documents
page so that the next journey may upload again. The server validates, re-encodes (scaled to 2000
px) and encrypts each one into local storage; clamd is not running, so no scan is in the figures
(docs/capacity.md says what that leaves out).

The baseline is bench/bare_app.py, a Flask route returning "ok", under the same gunicorn settings
and hit by as many users: the ratio (journey requests/s / bare requests/s) says what the portal's
work costs on this machine, and stays comparable on another. Both run closed-loop (no think time:
each user sends its next request when the last one is answered), so they measure throughput at
saturation; a third phase paces the same users (0.5 to 1.5 s between requests, as people read
and type) to show the latency of a busy but not saturated server.

Everything shares the machine: PostgreSQL, both servers and the load generator (and whatever else
runs there). The CPU each one used is printed beside the rates ("other" is the rest of the
machine), to tell a limit of the portal from a limit of the bench or a busy machine.

Rate limits are off for the run: every simulated user comes from 127.0.0.1, and the per-address
sign-in limit would refuse them after the first twenty sign-ins.

Afterwards, in this process with the Flask test client and nothing else running, each request type
of the journey, uploads included, is timed alone (one thread: its cost without queueing), in wall
time and in the thread's CPU time, and the one that costs the journey most (sign-in aside: Argon2
makes it slow on purpose) is split between the session check, SQL, template rendering and the
rest, then profiled with pyinstrument. Last, the capacity figures: CPU per page request and per
upload, measured both ways, which docs/capacity.md turns into task sizes and counts.

Runs on a database of its own (eoi_bench_load), dropped at the end. With the defaults (20 users,
12 s measured per phase) the whole run takes about three minutes:

    .venv/bin/python bench/load_test.py                         (PostgreSQL on 127.0.0.1:5432)
    .venv/bin/python bench/load_test.py --users 40 --duration 60   (longer, steadier figures)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "eoi_bench_load"
USERS = 20
SECONDS = 12
WORKERS, THREADS = 2, 4
# Documents uploaded per journey: the six per applicant (the "other" kind takes six).
UPLOADS = 6
UPLOAD_KIND = "other"
PHASES = (
    # name, target, seconds of warm-up before (not counted), think time (s), uploads per journey
    ("bare", "bare", 3, None, 0),
    ("journey", "portal", 8, None, 0),
    ("journey + uploads", "portal", 8, None, UPLOADS),
    ("journey, paced", "portal", 8, (0.5, 1.5), 0),
)
TARGET_RATIO = 0.30
TARGET_P95_MS = 100
PROFILED_REQUESTS = 150
PASSWORD = "correct horse battery staple"  # noqa: S105 - the bench accounts' password


# --- The simulated users (in the child process, which locust's gevent patches) -----------------


def run_locust(spec: dict[str, Any]) -> dict[str, Any]:
    """One phase: spawn the users, warm up, reset the figures, measure, stop. Runs in a child
    process because locust monkey-patches the standard library with gevent when imported."""
    import random
    import resource

    import gevent
    from locust import FastHttpUser, constant, task
    from locust.env import Environment

    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    removal = re.compile(r'action="(/en/application/documents/([0-9a-f-]{36})/remove)"')
    accounts: list[dict[str, Any]] = list(spec["accounts"])
    pages: list[tuple[str, dict[str, Any]]] = spec["pages"]
    think = spec["think"]
    uploads = spec["uploads"]
    photo = Path(spec["photo"]).read_bytes() if uploads else b""

    class Broken(Exception):
        """The journey went off its path: the failure is recorded, the next journey starts."""

    class Bare(FastHttpUser):
        host = spec["host"]
        wait_time = constant(0)

        @task
        def hello(self) -> None:
            with self.client.get("/", name="GET /", catch_response=True) as response:
                if response.status_code != 200 or response.text != "ok":
                    response.failure(f"status {response.status_code}")

    class Applicant(FastHttpUser):
        host = spec["host"]
        wait_time = constant(0)

        def on_start(self) -> None:
            self.account = accounts.pop()

        def pause(self) -> None:
            if think:
                gevent.sleep(random.uniform(*think))

        def send(
            self,
            method: str,
            path: str,
            name: str,
            expect: int,
            data: dict[str, Any] | None,
            body: tuple[bytes, str] | None = None,
        ) -> str:
            self.pause()
            kwargs: dict[str, Any] = {"name": name, "allow_redirects": False}
            if data is not None:
                kwargs["data"] = _form_body(data)
                kwargs["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
            if body is not None:
                kwargs["data"], kwargs["headers"] = body[0], {"Content-Type": body[1]}
            with self.client.request(method, path, catch_response=True, **kwargs) as response:
                if response.status_code != expect:
                    response.failure(f"status {response.status_code}, not {expect}")
                    raise Broken(path)
                return response.text or ""

        def form(self, path: str, name: str, data: dict[str, Any]) -> None:
            page = self.send("GET", path, f"GET {name}", 200, None)
            found = token.search(page)
            if not found:
                raise Broken(path)
            self.send("POST", path, f"POST {name}", 302, {**data, "csrf_token": found.group(1)})

        def upload(self, number: int) -> None:
            """One photo through the upload form, as a phone's file input sends it."""
            path = f"/en/application/documents/{UPLOAD_KIND}/add"
            found = token.search(self.send("GET", path, "GET upload", 200, None))
            if not found:
                raise Broken(path)
            body = multipart_body(found.group(1), f"photo-{number}.jpg", photo)
            self.send("POST", path, "POST upload", 302, None, body)

        def remove_uploads(self) -> None:
            """Remove this journey's photos (not the account's own documents), so the next
            journey finds room for its six."""
            page = self.send("GET", "/en/application/documents", "GET documents", 200, None)
            found = token.search(page)
            if not found:
                raise Broken("documents")
            for action, document_id in removal.findall(page):
                if document_id not in self.account["keep"]:
                    self.send("POST", action, "POST remove", 302, {"csrf_token": found.group(1)})

        @task
        def journey(self) -> None:
            self.client.cookiejar.clear()
            try:
                self.form(
                    "/en/sign-in",
                    "sign-in",
                    {"email": self.account["email"], "password": self.account["password"]},
                )
                self.send("GET", "/en/application/tasks", "GET task list", 200, None)
                for index, (step, data) in enumerate(pages):
                    self.form(f"/en/application/questions/{step}", "question", data)
                    for number in uploads_after(index, len(pages), uploads):
                        self.upload(number)
                if uploads:
                    self.remove_uploads()
                page = self.send(
                    "GET", "/en/application/check-your-answers", "GET check answers", 200, None
                )
                found = token.search(page)
                if not found:
                    raise Broken("check answers")
                self.send("POST", "/en/sign-out", "POST sign-out", 302, {"csrf_token": found[1]})
            except Broken:
                return

    user_class = Bare if spec["target"] == "bare" else Applicant
    environment = Environment(user_classes=[user_class])
    runner = environment.create_local_runner()
    # Users arrive over most of the warm-up, so that their journeys are out of step (twenty
    # sign-ins at once would queue everything behind Argon2), then run in the measured seconds.
    arrival = max(1.0, spec["warm_up"] * 0.75)
    runner.start(spec["users"], spawn_rate=spec["users"] / arrival)
    gevent.sleep(spec["warm_up"])
    environment.stats.reset_all()
    cpu_before = _cpu_seconds(resource.getrusage(resource.RUSAGE_SELF))
    started = time.perf_counter()
    gevent.sleep(spec["seconds"])
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)) - cpu_before
    result = {"elapsed": elapsed, "load_generator_cpu": cpu / elapsed, **_figures(environment)}
    runner.quit()
    return result


def _cpu_seconds(usage: Any) -> float:
    return usage.ru_utime + usage.ru_stime


def _form_body(data: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode(data, doseq=True)


def uploads_after(index: int, pages: int, uploads: int) -> range:
    """The uploads that follow question page `index`: spread evenly through the journey, so that
    any measured stretch of a phase holds pages and uploads in the journey's proportion."""
    return range(index * uploads // pages, (index + 1) * uploads // pages)


def multipart_body(csrf_token: str, filename: str, content: bytes) -> tuple[bytes, str]:
    """The upload form's body as a browser sends it: the CSRF token and one file."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{csrf_token}\r\n--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + content + tail, f"multipart/form-data; boundary={boundary}"


def phone_photo() -> bytes:
    """A 12 MP JPEG (4000 x 3000) of about 2.6 MB, like a phone camera's: smooth gradients with
    sensor-like noise, so it neither compresses to nothing nor is pure noise. Made once."""
    from PIL import Image

    size = (4000, 3000)
    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 24)
    channels = (
        Image.blend(gradient, noise, 0.35),
        Image.blend(gradient.rotate(90).resize(size), noise, 0.3),
        Image.blend(
            gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            noise.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
            0.3,
        ),
    )
    buffer = io.BytesIO()
    Image.merge("RGB", channels).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _figures(environment: Any) -> dict[str, Any]:
    """Requests, failures and percentiles, in total and per request type, taken at once."""

    def of(entry: Any) -> dict[str, Any]:
        return {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.50),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
            "mean": entry.avg_response_time,
        }

    stats = environment.stats
    return {
        "total": of(stats.total),
        "by_name": {name: of(entry) for (name, _method), entry in sorted(stats.entries.items())},
        "errors": [f"{e.occurrences} x {e.name}: {e.error}" for e in stats.errors.values()][:10],
    }


# --- Setting up: the database, the accounts, the servers ----------------------------------------


def make_accounts(app: Any, count: int) -> list[dict[str, Any]]:
    """Confirmed applicants with a draft past eligibility and their documents' rows; one password
    hash for all (Argon2 makes each hash cost tens of milliseconds, and sign-in checks it)."""
    from sqlalchemy import insert

    from portal.auth import passwords
    from portal.extensions import db
    from portal.models import Application, Document, User, utcnow
    from tests.apply_helpers import ELIGIBLE

    now = utcnow()
    password_hash = passwords.hash_password(PASSWORD)
    users, applications, documents, accounts = [], [], [], []
    for index in range(count):
        user_id, application_id = uuid.uuid4(), uuid.uuid4()
        email = f"bench-{index}@example.org"
        account: dict[str, Any] = {"email": email, "password": PASSWORD, "keep": []}
        accounts.append(account)
        users.append(
            {
                "id": user_id,
                "email": email,
                "password_hash": password_hash,
                "role": "applicant",
                "locale": "en",
                "email_verified_at": now,
            }
        )
        applications.append(
            {
                "id": application_id,
                "applicant_id": user_id,
                "status": "draft",
                "answers": {},
                "eligibility": dict(ELIGIBLE),
            }
        )
        for kind, part, name in (
            ("identity", "data_page", "passport.jpg"),
            ("photo", None, "face.jpg"),
        ):
            document_id = uuid.uuid4()
            account["keep"].append(str(document_id))
            documents.append(
                {
                    "id": document_id,
                    "application_id": application_id,
                    "kind": kind,
                    "part": part,
                    "original_name": name,
                    "detected_type": "jpeg",
                    "content_type": "image/jpeg",
                    "size": 20_000,
                    "sha256": "0" * 64,
                    "width": 600,
                    "height": 400,
                    "storage_key": f"bench/{uuid.uuid4().hex}",
                    "uploaded_by_id": user_id,
                    "uploaded_by_role": "applicant",
                    "scan_result": "not_scanned",
                }
            )
    with app.app_context():
        for table, rows in ((User, users), (Application, applications), (Document, documents)):
            db.session.execute(insert(table), rows)
        db.session.commit()
    return accounts


def form_pages() -> list[tuple[str, dict[str, Any]]]:
    from tests.apply_helpers import MAIN_APPLICANT_ALONE

    return [(name, dict(data)) for name, data in MAIN_APPLICANT_ALONE]


def server_environment(url: str, folder: Path) -> dict[str, str]:
    from portal.keys import new_key_text

    return {
        "DATABASE_URL": url,
        "PORTAL_SECRET_KEY": uuid.uuid4().hex * 2,
        "PORTAL_DOCUMENT_KEY": new_key_text(),
        "PORTAL_INSTANCE_PATH": str(folder / "instance"),
        "PORTAL_RATELIMIT_ENABLED": "false",
        "PORTAL_NOTIFY_BACKEND": "log",
        "PORTAL_LOG_LEVEL": "INFO",
    }


def process_cpu(pid: int) -> float:
    """CPU seconds used so far by a gunicorn master and its workers, including the workers it
    has already replaced (max_requests recycles them every ten thousand requests or so)."""
    import psutil

    try:
        root = psutil.Process(pid)
        times = root.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for process in root.children(recursive=True):
            times = process.cpu_times()
            total += times.user + times.system
        return total
    except psutil.Error:
        return 0.0


def database_backends() -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend connected to the bench's database (the
    servers' pooled connections), so that other databases' work on the machine is left out."""
    import psutil
    from sqlalchemy import create_engine, text

    from bench.common import SERVER

    engine = create_engine(f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/postgres")
    with engine.connect() as connection:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": DATABASE}
        ).scalars()
        found = {}
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            found[pid] = times.user + times.system
    engine.dispose()
    return found


def machine_cpu() -> float:
    """CPU seconds the whole machine was busy, all cores added."""
    import psutil

    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def worker_boots(server: Any) -> int:
    return sum(
        1 for r in server.records() if str(r.get("message", "")).startswith("Booting worker")
    )


def run_phase(spec: dict[str, Any], server: Any, folder: Path) -> dict[str, Any]:
    """Run one phase in a child process; returns its figures and the CPU each party used."""
    spec_file = folder / f"phase-{spec['target']}-{int(time.time() * 1000)}.json"
    spec_file.write_text(json.dumps(spec))
    pid = server.process.pid
    before = (process_cpu(pid), database_backends(), machine_cpu(), worker_boots(server))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--phase", str(spec_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=spec["seconds"] + spec["warm_up"] + 120,
        check=False,
    )
    duration = time.perf_counter() - started
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"the locust phase failed ({done.returncode}):\n{done.stderr[-5000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Around the whole child, warm-up and start included: shares of the run, not exact figures.
    result["server_cpu"] = (process_cpu(pid) - before[0]) / duration
    backends = database_backends()
    database = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in backends.items())
    result["database_cpu"] = database / duration
    result["machine_cpu"] = (machine_cpu() - before[2]) / duration
    # The load generator's share is measured over the counted seconds only: an estimate.
    result["other_cpu"] = max(
        0.0,
        result["machine_cpu"]
        - result["server_cpu"]
        - result["database_cpu"]
        - result["load_generator_cpu"],
    )
    result["worker_boots"] = worker_boots(server) - before[3]
    return result


# --- Costs per request type, and the profile of one, in this process ----------------------------


@contextmanager
def timed_areas(app: Any) -> Iterator[dict[str, float]]:
    """Time spent in SQL, in Flask-Login's user loader (the server-side session check) and in
    template rendering, each without what is nested in it (govuk-frontend-wtf renders every field
    with its own render_template, inside the page's)."""
    from flask import before_render_template, template_rendered
    from sqlalchemy import event

    from portal.extensions import db

    totals: dict[str, float] = {
        "sql": 0.0,
        "statements": 0,
        "session": 0.0,
        "render": 0.0,
        "templates": 0,
    }
    # Open areas, innermost last: [area, started, time in nested areas and SQL].
    stack: list[list[Any]] = []

    def before_cursor(conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after_cursor(conn, cursor, statement, parameters, context, executemany) -> None:
        spent = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        totals["sql"] += spent
        totals["statements"] += 1
        if stack:
            stack[-1][2] += spent

    def enter(area: str) -> None:
        stack.append([area, time.perf_counter(), 0.0])

    def leave() -> None:
        area, started, nested = stack.pop()
        spent = time.perf_counter() - started
        totals[area] += spent - nested
        if stack:
            stack[-1][2] += spent

    def render_starts(sender, template, context, **extra) -> None:
        totals["templates"] += 1
        enter("render")

    def render_ends(sender, template, context, **extra) -> None:
        leave()

    manager = app.login_manager
    loader: Callable[[str], Any] = manager._user_callback

    def timed_loader(session_id: str) -> Any:
        enter("session")
        try:
            return loader(session_id)
        finally:
            leave()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before_cursor)
    event.listen(engine, "after_cursor_execute", after_cursor)
    before_render_template.connect(render_starts, app)
    template_rendered.connect(render_ends, app)
    manager._user_callback = timed_loader
    try:
        yield totals
    finally:
        manager._user_callback = loader
        before_render_template.disconnect(render_starts, app)
        template_rendered.disconnect(render_ends, app)
        event.remove(engine, "before_cursor_execute", before_cursor)
        event.remove(engine, "after_cursor_execute", after_cursor)


class InProcessJourney:
    """The locust users' journey through the Flask test client, one request at a time, with a
    hook around each request: to time it, or to profile it."""

    def __init__(self, app: Any, account: dict[str, Any], photo: bytes = b"") -> None:
        self.app = app
        self.client = app.test_client()
        self.account = account
        self.pages = form_pages()
        self.photo = photo

    def send(self, name: str, method: str, path: str, expect: int, data: Any, around: Any) -> str:
        with around(name):
            response = self.client.open(path, method=method, data=data)
        assert response.status_code == expect, (name, path, response.status_code)
        return response.text

    def upload(self, number: int, around: Any) -> None:
        from tests.helpers import csrf_token

        path = f"/en/application/documents/{UPLOAD_KIND}/add"
        page = self.send("GET upload", "GET", path, 200, None, around)
        body = {"csrf_token": csrf_token(page), "file": (io.BytesIO(self.photo), f"{number}.jpg")}
        with around("POST upload"):
            response = self.client.post(path, data=body, content_type="multipart/form-data")
        assert response.status_code == 302, ("POST upload", response.text[-2000:])

    def remove_uploads(self, around: Any) -> None:
        from tests.helpers import csrf_token

        page = self.send("GET documents", "GET", "/en/application/documents", 200, None, around)
        body = {"csrf_token": csrf_token(page)}
        found = re.findall(r'action="(/en/application/documents/([0-9a-f-]{36})/remove)"', page)
        for action, document_id in found:
            if document_id not in self.account["keep"]:
                self.send("POST remove", "POST", action, 302, body, around)

    def form(self, name: str, path: str, data: dict[str, Any], around: Any) -> None:
        from tests.helpers import csrf_token

        page = self.send(f"GET {name}", "GET", path, 200, None, around)
        body = {**data, "csrf_token": csrf_token(page)}
        self.send(f"POST {name}", "POST", path, 302, body, around)

    def run(self, around: Any) -> None:
        from tests.helpers import csrf_token

        credentials = {"email": self.account["email"], "password": self.account["password"]}
        self.form("sign-in", "/en/sign-in", credentials, around)
        self.send("GET task list", "GET", "/en/application/tasks", 200, None, around)
        uploads = UPLOADS if self.photo else 0
        for index, (step, data) in enumerate(self.pages):
            self.form("question", f"/en/application/questions/{step}", data, around)
            for number in uploads_after(index, len(self.pages), uploads):
                self.upload(number, around)
        if uploads:
            self.remove_uploads(around)
        page = self.send(
            "GET check answers", "GET", "/en/application/check-your-answers", 200, None, around
        )
        body = {"csrf_token": csrf_token(page)}
        self.send("POST sign-out", "POST", "/en/sign-out", 302, body, around)


def in_process_app(url: str, folder: Path) -> Any:
    """The portal as gunicorn runs it, in this process: JSON access log at INFO (thrown away, so
    its cost stays in the figures but its lines leave the terminal alone)."""
    import logging

    from portal import create_app
    from tests.conftest import make_config

    config = make_config(url, folder / "profile-instance", LOG_LEVEL="INFO", TESTING=False)
    app = create_app(config)
    logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115
    return app


def service_times(
    app: Any, account: dict[str, Any], photo: bytes, rounds: int = 3
) -> dict[str, list[float]]:
    """Each request type's time alone (one thread, nothing else running), over a few journeys
    with their uploads: [mean wall s, SQL statements, total wall s, mean CPU s, requests]. CPU
    is this process's (time.process_time: Argon2's own threads included, PostgreSQL's work and
    the wait for it left out); nothing else runs in this process meanwhile."""
    from sqlalchemy import event

    from portal.extensions import db

    found: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    current: list[str] = []

    def count(*args: Any) -> None:
        if current:
            counts[current[-1]] = counts.get(current[-1], 0) + 1

    @contextmanager
    def timing(name: str) -> Iterator[None]:
        current.append(name)
        started, started_cpu = time.perf_counter(), time.process_time()
        yield
        found.setdefault(name, []).append(time.perf_counter() - started)
        cpu.setdefault(name, []).append(time.process_time() - started_cpu)
        current.pop()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    journey = InProcessJourney(app, account, photo)
    journey.run(lambda name: nullcontext())  # warm up: templates compiled, pools filled
    counts.clear()
    found.clear()
    cpu.clear()
    for _round in range(rounds):
        journey.run(timing)
    event.remove(engine, "before_cursor_execute", count)
    return {
        name: [
            sum(times) / len(times),
            counts.get(name, 0) / len(times),
            sum(times),
            sum(cpu[name]) / len(times),
            len(times),
        ]
        for name, times in found.items()
    }


def print_service_times(times: dict[str, list[float]]) -> str:
    """The table, and the most expensive request type of the journey (sign-in aside)."""
    whole = sum(figures[2] for figures in times.values())
    print(
        f"\nEach request type alone (in this process, one thread, 3 journeys with {UPLOADS} "
        "uploads each):"
    )
    print(
        f"{'request':<20} {'ms':>7} {'CPU ms':>7} {'SQL statements':>15} {'share of a journey':>19}"
    )
    for name, (mean, statements, total, cpu, _n) in sorted(times.items(), key=lambda i: -i[1][2]):
        print(
            f"{name:<20} {mean * 1000:>7.1f} {cpu * 1000:>7.1f} {statements:>15.1f} "
            f"{total / whole:>19.0%}"
        )
    print(f"{'whole journey':<20} {whole / 3 * 1000:>7.0f}")
    return max(
        (n for n in times if n not in ("POST sign-in", "POST upload")), key=lambda n: times[n][2]
    )


def capacity_figures(
    results: dict[str, dict[str, Any]], times: dict[str, list[float]], photo_bytes: int
) -> None:
    """CPU per page request and per upload, measured two ways: under load (the servers' CPU
    over the phase's rate: queueing, gunicorn and the access log included) and alone in this
    process (the process's CPU), and PostgreSQL's CPU per request under load.
    docs/capacity.md turns these into task sizes and counts."""
    pages = results["journey"]
    page_rate = pages["total"]["requests"] / pages["elapsed"]
    per_page = pages["server_cpu"] / page_rate
    mixed = results["journey + uploads"]
    uploads = mixed["by_name"].get("POST upload", {"requests": 0})["requests"]
    upload_rate = uploads / mixed["elapsed"]
    other_rate = (mixed["total"]["requests"] - uploads) / mixed["elapsed"]
    per_upload = (mixed["server_cpu"] - other_rate * per_page) / upload_rate if uploads else 0
    requests = sum(f[4] for n, f in times.items() if n != "POST upload")
    alone_page = sum(f[3] * f[4] for n, f in times.items() if n != "POST upload") / requests
    database = pages["database_cpu"] / page_rate
    print("\nCapacity figures (docs/capacity.md):")
    print(
        f"  under load: CPU per page request {per_page * 1000:.1f} ms (journey: "
        f"{pages['server_cpu']:.2f} cores at {page_rate:.1f} req/s); CPU per upload "
        f"{per_upload * 1000:.0f} ms (journey + uploads: {mixed['server_cpu']:.2f} cores at "
        f"{other_rate:.1f} page req/s and {upload_rate:.2f} uploads/s)"
    )
    print(
        f"  PostgreSQL, under load: CPU per page request {database * 1000:.2f} ms "
        f"({pages['database_cpu']:.3f} cores at {page_rate:.1f} req/s)"
    )
    print(
        f"  alone, one thread (process CPU): CPU per page request {alone_page * 1000:.1f} ms (mean over a "
        f"journey's {requests / 3:.0f} requests, sign-in included); CPU per upload "
        f"{times['POST upload'][3] * 1000:.0f} ms, wall {times['POST upload'][0] * 1000:.0f} ms "
        f"(a {photo_bytes / 1e6:.1f} MB 12 MP JPEG)"
    )


def profile(app: Any, account: dict[str, str], request_type: str) -> None:
    """Split `request_type`'s time between SQL, the session check, rendering and the rest (timed
    without the profiler), then profile it with pyinstrument over PROFILED_REQUESTS requests."""
    from pyinstrument import Profiler

    journey = InProcessJourney(app, account)
    profiler = Profiler(interval=0.0005)
    figures = {"wall": 0.0, "requests": 0}

    def measure(areas: dict[str, float], profiling: bool) -> Callable[[str], Any]:
        @contextmanager
        def around(name: str) -> Iterator[None]:
            if name != request_type:
                with paused(areas):
                    yield
                return
            started = time.perf_counter()
            if profiling:
                profiler.start()
            try:
                yield
            finally:
                if profiling:
                    profiler.stop()
                figures["wall"] += time.perf_counter() - started
                figures["requests"] += 1

        return around

    with timed_areas(app) as areas:
        while figures["requests"] < PROFILED_REQUESTS // 3:
            journey.run(measure(areas, profiling=False))
    wall, requests = figures["wall"], figures["requests"]
    per = 1000 / requests
    rest = wall - areas["sql"] - areas["session"] - areas["render"]
    print(f"\nProfile of {request_type!r}, in this process, one thread, {requests} requests:")
    print(f"  {wall * per:6.2f} ms per request")
    print(
        f"  {areas['statements'] / requests:6.1f} SQL statements: "
        f"{areas['sql'] * per:6.2f} ms ({areas['sql'] / wall:4.0%})"
    )
    print(
        f"  session check (user loader), SQL aside: {areas['session'] * per:6.2f} ms "
        f"({areas['session'] / wall:4.0%})"
    )
    print(
        f"  template rendering, SQL aside: {areas['render'] * per:6.2f} ms "
        f"({areas['render'] / wall:4.0%}) in {areas['templates'] / requests:.1f} render_template "
        "calls: the page, and one per field (govuk-frontend-wtf renders each widget on its own)"
    )
    print(
        f"  elsewhere (routing, forms, CSRF, hooks, logging): {rest * per:6.2f} ms "
        f"({rest / wall:4.0%})"
    )

    figures.update(wall=0.0, requests=0)
    with timed_areas(app) as areas:
        while figures["requests"] < PROFILED_REQUESTS:
            journey.run(measure(areas, profiling=True))
    print(f"\npyinstrument, {figures['requests']} requests: functions by self time")
    flat = profiler.output_text(flat=True, time="percent_of_total")
    print("\n".join(line for line in flat.splitlines()[:45] if line.strip()))
    print("\npyinstrument call tree (frames under 3% hidden):")
    tree = profiler.output_text(
        time="percent_of_total", processor_options={"filter_threshold": 0.03}
    )
    print("\n".join(line for line in tree.splitlines()[:100] if line.strip()))


@contextmanager
def paused(areas: dict[str, float]) -> Iterator[None]:
    """Leave the figures as they were before the block (requests of other types)."""
    before = dict(areas)
    yield
    areas.update(before)


# --- The run -------------------------------------------------------------------------------------


def row(name: str, result: dict[str, Any]) -> str:
    total = result["total"]
    rate = total["requests"] / result["elapsed"]
    return (
        f"{name:<15} {total['requests']:>8} {rate:>7.1f} {total['p50']:>5.0f} {total['p95']:>5.0f} "
        f"{total['p99']:>5.0f} {total['failures']:>8} | {result['machine_cpu']:>7.2f} "
        f"{result['server_cpu']:>6.2f} {result['database_cpu']:>4.2f} "
        f"{result['load_generator_cpu']:>8.2f} {result['other_cpu']:>5.2f} | "
        f"{result['worker_boots']:>12}"
    )


def report(results: dict[str, dict[str, Any]], users: int) -> None:
    print(
        f"Load test: {users} users in each phase; gunicorn {WORKERS} workers x {THREADS} threads "
        f"(gthread, infra/gunicorn.conf.py) on PostgreSQL; {os.cpu_count()} CPUs shared by "
        "PostgreSQL, the servers and the load generator; warm-up not counted."
    )
    print(
        f"{'':<15} {'':>8} {'':>7} {'ms':>5} {'ms':>5} {'ms':>5} {'':>8} | CPU in use (cores)"
        f"{'':>13} | gunicorn"
    )
    print(
        f"{'phase':<15} {'requests':>8} {'req/s':>7} {'p50':>5} {'p95':>5} {'p99':>5} "
        f"{'failures':>8} | {'machine':>7} {'server':>6} {'db':>4} {'load gen':>8} {'other':>5} | "
        "worker boots"
    )
    for name, result in results.items():
        print(row(name, result))
    bare, journey = results["bare"], results["journey"]
    ratio = (journey["total"]["requests"] / journey["elapsed"]) / (
        bare["total"]["requests"] / bare["elapsed"]
    )
    failures = sum(r["total"]["failures"] for r in results.values())
    p95 = journey["total"]["p95"]
    print(
        f"\nratio journey/bare req/s: {ratio:.3f}  (target >= {TARGET_RATIO:.2f}: "
        f"{'met' if ratio >= TARGET_RATIO else 'NOT met'})"
    )
    print(
        f"journey p95 at {users} users, closed loop: {p95:.0f} ms  (target <= {TARGET_P95_MS} ms: "
        f"{'met' if p95 <= TARGET_P95_MS else 'NOT met'}); paced: "
        f"{results['journey, paced']['total']['p95']:.0f} ms"
    )
    print(f"failures: {failures}  (target 0: {'met' if failures == 0 else 'NOT met'})")
    for name, result in results.items():
        for error in result["errors"]:
            print(f"  {name}: {error}")
    for name in ("journey", "journey + uploads", "journey, paced"):
        figures_of = results[name]
        print(f"\n{name.capitalize()}, by request type:")
        print(
            f"{'request':<20} {'requests':>8} {'req/s':>7} {'mean ms':>8} {'p50':>6} {'p95':>6} "
            f"{'p99':>6} {'failures':>8}"
        )
        for request, figures in figures_of["by_name"].items():
            if not figures["requests"]:
                continue
            print(
                f"{request:<20} {figures['requests']:>8} "
                f"{figures['requests'] / figures_of['elapsed']:>7.1f} {figures['mean']:>8.0f} "
                f"{figures['p50']:>6.0f} {figures['p95']:>6.0f} {figures['p99']:>6.0f} "
                f"{figures['failures']:>8}"
            )


def main(users: int, seconds: int) -> None:
    from bench.common import drop_database, fresh_database
    from portal import create_app, migrate
    from portal.extensions import db
    from tests.conftest import make_config
    from tests.servers import start_gunicorn

    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="eoi-load-"))
    url = fresh_database(DATABASE)
    servers = []
    try:
        app = create_app(make_config(url, folder / "setup-instance"))
        migrate.upgrade(app)
        accounts = make_accounts(app, users + 1)
        photo_file = folder / "phone-photo.jpg"
        photo_file.write_bytes(phone_photo())
        with app.app_context():
            db.engine.dispose()
        settings = {"workers": WORKERS, "threads": THREADS, "timeout": 60.0}
        portal_server = start_gunicorn(
            "portal",
            "portal:create_app()",
            server_environment(url, folder / "portal"),
            folder / "portal",
            ready_path="/readyz",
            **settings,
        )
        servers.append(portal_server)
        bare_server = start_gunicorn(
            "bare", "bench.bare_app:app", {}, folder / "bare", ready_path="/", **settings
        )
        servers.append(bare_server)
        results = {}
        for name, target, warm_up, think, uploads in PHASES:
            server = bare_server if target == "bare" else portal_server
            spec = {
                "host": server.url,
                "target": target,
                "users": users,
                "seconds": seconds,
                "warm_up": warm_up,
                "think": think,
                "accounts": accounts[:users],
                "pages": form_pages(),
                "uploads": uploads,
                "photo": str(photo_file),
            }
            results[name] = run_phase(spec, server, folder)
        for server in servers:
            server.stop()
        report(results, users)

        # The in-process figures use an account of their own, with nothing else running.
        app = in_process_app(url, folder)
        photo = photo_file.read_bytes()
        times = service_times(app, accounts[users], photo)
        costliest = print_service_times(times)
        capacity_figures(results, times, len(photo))
        profile(app, accounts[users], costliest)
        with app.app_context():
            db.engine.dispose()
    except BaseException:
        for server in servers:
            print(
                f"\n===== {server.name} log, last lines =====\n{server.tail(40)}", file=sys.stderr
            )
        raise
    finally:
        for server in servers:
            server.stop()
        drop_database(DATABASE)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n(whole run: {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", type=Path, help="(internal) run one locust phase from a spec")
    parser.add_argument("--users", type=int, default=USERS, help="simulated applicants per phase")
    parser.add_argument(
        "--duration",
        type=int,
        default=SECONDS,
        help="seconds measured in each phase (warm-up aside)",
    )
    arguments = parser.parse_args()
    if arguments.phase:
        print(json.dumps(run_locust(json.loads(arguments.phase.read_text()))))
    else:
        main(arguments.users, arguments.duration)
