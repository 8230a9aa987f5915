"""How many applicants the portal serves at once, against what the same server does for nothing.

N simulated applicants (locust, run as a library in a child process) replay the journey against
gunicorn with the container's settings (infra/gunicorn.conf.py, 2 workers x 4 threads) on
PostgreSQL: sign in, the task list, every question page of a main applicant alone (GET, then POST
with the page's CSRF token), check your answers, sign out; then again. Each simulated user has its
own account, made beforehand with a draft past the eligibility questions and its two documents'
rows, so that the run measures the journey, not registration or uploads (the check-your-answers
page lists the files by name and never reads them, so the rows need no objects).

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
of the journey is timed alone (one thread: its cost without queueing), and the one that costs the
journey most (sign-in aside: Argon2 makes it slow on purpose) is split between the session check,
SQL, template rendering and the rest, then profiled with pyinstrument.

Runs on a database of its own (eoi_bench_load), dropped at the end. The load phases take a
minute, the whole run about a minute and a half:

    .venv/bin/python bench/load_test.py            (PostgreSQL on 127.0.0.1:5432 needed)
"""

from __future__ import annotations

import argparse
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
WORKERS, THREADS = 2, 4
PHASES = (
    # name, target, seconds measured, seconds of warm-up before (not counted), think time (s)
    ("bare", "bare", 12, 3, None),
    ("journey", "portal", 20, 8, None),
    ("journey, paced", "portal", 12, 8, (0.5, 1.5)),
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
    accounts: list[dict[str, str]] = list(spec["accounts"])
    pages: list[tuple[str, dict[str, Any]]] = spec["pages"]
    think = spec["think"]

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
            self, method: str, path: str, name: str, expect: int, data: dict[str, Any] | None
        ) -> str:
            self.pause()
            kwargs: dict[str, Any] = {"name": name, "allow_redirects": False}
            if data is not None:
                kwargs["data"] = _form_body(data)
                kwargs["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
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
                for step, data in pages:
                    self.form(f"/en/application/questions/{step}", "question", data)
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


def make_accounts(app: Any, count: int) -> list[dict[str, str]]:
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
        accounts.append({"email": email, "password": PASSWORD})
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
            documents.append(
                {
                    "id": uuid.uuid4(),
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
    from portal.documents.crypto import new_key_text

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

    def __init__(self, app: Any, account: dict[str, str]) -> None:
        self.app = app
        self.client = app.test_client()
        self.account = account
        self.pages = form_pages()

    def send(self, name: str, method: str, path: str, expect: int, data: Any, around: Any) -> str:
        with around(name):
            response = self.client.open(path, method=method, data=data)
        assert response.status_code == expect, (name, path, response.status_code)
        return response.text

    def form(self, name: str, path: str, data: dict[str, Any], around: Any) -> None:
        from tests.helpers import csrf_token

        page = self.send(f"GET {name}", "GET", path, 200, None, around)
        body = {**data, "csrf_token": csrf_token(page)}
        self.send(f"POST {name}", "POST", path, 302, body, around)

    def run(self, around: Any) -> None:
        from tests.helpers import csrf_token

        self.form("sign-in", "/en/sign-in", dict(self.account), around)
        self.send("GET task list", "GET", "/en/application/tasks", 200, None, around)
        for step, data in self.pages:
            self.form("question", f"/en/application/questions/{step}", data, around)
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


def service_times(app: Any, account: dict[str, str], rounds: int = 3) -> dict[str, list[float]]:
    """Each request type's time alone (one thread, nothing else running), over a few journeys."""
    from sqlalchemy import event

    from portal.extensions import db

    found: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    current: list[str] = []

    def count(*args: Any) -> None:
        if current:
            counts[current[-1]] = counts.get(current[-1], 0) + 1

    @contextmanager
    def timing(name: str) -> Iterator[None]:
        current.append(name)
        started = time.perf_counter()
        yield
        found.setdefault(name, []).append(time.perf_counter() - started)
        current.pop()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    journey = InProcessJourney(app, account)
    journey.run(lambda name: nullcontext())  # warm up: templates compiled, pools filled
    counts.clear()
    found.clear()
    for _round in range(rounds):
        journey.run(timing)
    event.remove(engine, "before_cursor_execute", count)
    return {
        name: [sum(times) / len(times), counts.get(name, 0) / len(times), sum(times)]
        for name, times in found.items()
    }


def print_service_times(times: dict[str, list[float]]) -> str:
    """The table, and the most expensive request type of the journey (sign-in aside)."""
    whole = sum(total for _mean, _statements, total in times.values())
    print("\nEach request type alone (in this process, one thread, 3 journeys):")
    print(f"{'request':<20} {'ms':>7} {'SQL statements':>15} {'share of a journey':>19}")
    for name, (mean, statements, total) in sorted(times.items(), key=lambda i: -i[1][2]):
        print(f"{name:<20} {mean * 1000:>7.1f} {statements:>15.1f} {total / whole:>19.0%}")
    print(f"{'whole journey':<20} {whole / 3 * 1000:>7.0f}")
    return max((n for n in times if n != "POST sign-in"), key=lambda n: times[n][2])


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


def report(results: dict[str, dict[str, Any]]) -> None:
    print(
        f"Load test: {USERS} users in each phase; gunicorn {WORKERS} workers x {THREADS} threads "
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
        f"journey p95 at {USERS} users, closed loop: {p95:.0f} ms  (target <= {TARGET_P95_MS} ms: "
        f"{'met' if p95 <= TARGET_P95_MS else 'NOT met'}); paced: "
        f"{results['journey, paced']['total']['p95']:.0f} ms"
    )
    print(f"failures: {failures}  (target 0: {'met' if failures == 0 else 'NOT met'})")
    for name, result in results.items():
        for error in result["errors"]:
            print(f"  {name}: {error}")
    for name in ("journey", "journey, paced"):
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


def main() -> None:
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
        accounts = make_accounts(app, USERS + 1)
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
        for name, target, seconds, warm_up, think in PHASES:
            server = bare_server if target == "bare" else portal_server
            spec = {
                "host": server.url,
                "target": target,
                "users": USERS,
                "seconds": seconds,
                "warm_up": warm_up,
                "think": think,
                "accounts": accounts[:USERS],
                "pages": form_pages(),
            }
            results[name] = run_phase(spec, server, folder)
        for server in servers:
            server.stop()
        report(results)

        # The in-process figures use an account of their own, with nothing else running.
        app = in_process_app(url, folder)
        costliest = print_service_times(service_times(app, accounts[USERS]))
        profile(app, accounts[USERS], costliest)
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
    arguments = parser.parse_args()
    if arguments.phase:
        print(json.dumps(run_locust(json.loads(arguments.phase.read_text()))))
    else:
        main()
