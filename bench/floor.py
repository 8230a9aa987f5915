"""Server time per request of the applicant's pages, against their floor, in one run.

The floor is a minimal Flask app that renders the same pages from the same templates and accepts
the same POSTs, with the same libraries and the same form classes: Jinja (the portal's templates
and the GOV.UK macros), WTForms through Flask-WTF with its CSRF check, Flask-Babel in the
reader's language, the govuk-frontend-wtf widgets. It has no database, no server-side session
and nobody signed in: the answers live in a dict, the page is drawn as a signed-in person sees
it (sign-out button, time-out warning) by a stand-in user. What the portal spends above the
floor is the price of keeping everything on the server: the session checked on every request
(so that signing out or a time-out ends it at once), the application read and every answer
saved, the access log and the security headers.

Both run in this process, one thread, through the Flask test client; the portal on a PostgreSQL
database of its own (eoi_bench_floor unless --database names another, created and dropped) with
an applicant signed in. Each request is timed in CPU time of this thread (`time.thread_time`:
PostgreSQL's own work, in its process, is not counted, the driver's is), repetitions interleaved
(portal, floor, portal, floor...) so that a busy moment of the machine falls on both, the first
rounds not counted. The POSTs alternate between two answers, so that each one really changes
what is saved.

    .venv/bin/python bench/floor.py [--rounds 200] [--database NAME]
                                                       (PostgreSQL on 127.0.0.1:5432 needed)
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "eoi_bench_floor"
WARM_UP = 20
TARGET_RATIO = 2.0
EMAIL = "floor@example.org"

# The steps answered before the measured ones (a question opens only once those before it are).
BEFORE = ("applicant_type", "travelling", "names", "other_names", "birth", "sex")
# The measured requests: (name, method, step or None for the task list, two answers to alternate).
RADIO = ("sex", [{"sex": "female"}, {"sex": "male"}])
BIRTH = (
    "birth",
    [
        {
            "date_of_birth": ["27", "3", "1990"],
            "place_of_birth": "Aleppo",
            "country_of_birth": "SY",
        },
        {"date_of_birth": ["28", "3", "1990"], "place_of_birth": "Homs", "country_of_birth": "SY"},
    ],
)
REQUESTS: list[tuple[str, str, str | None, list[dict[str, Any]]]] = [
    ("GET radio question", "GET", RADIO[0], []),
    ("POST radio question", "POST", RADIO[0], RADIO[1]),
    ("GET date of birth", "GET", BIRTH[0], []),
    ("POST date of birth", "POST", BIRTH[0], BIRTH[1]),
    ("GET task list", "GET", None, []),
]


# --- The floor ------------------------------------------------------------------------------------


class StandInUser:
    """What the templates ask of the signed-in person, with no session behind it."""

    is_authenticated = True
    is_anonymous = False
    needs_second_factor = False
    locale = "en"


def _not_served(**_: Any) -> Any:
    from flask import abort

    abort(404)


def floor_app(secret_key: str) -> Any:
    """The minimal app: the portal's Jinja setup, Babel, CSRF, the same forms, templates and
    widgets; the answers in a dict; no database, session store, sign-in or logging."""
    from flask import Blueprint, abort, redirect, render_template, url_for
    from flask_babel import Babel
    from flask_wtf import CSRFProtect
    from govuk_frontend_wtf.main import WTFormsHelpers

    from portal import PortalFlask, assets, i18n, init_jinja
    from portal.apply import services, steps, summary
    from portal.apply.routes import _keep_change
    from portal.config import PROJECT_ROOT, PortalConfig
    from portal.documents import rules as document_rules
    from portal.wording.routes import report_words_url, translation_notice

    settings = PortalConfig(ENV="bench", SECRET_KEY=secret_key, DATABASE_URL="sqlite://")
    settings.finalise()
    app = PortalFlask(__name__, static_folder=None, template_folder=str(PROJECT_ROOT / "templates"))
    app.config.update(
        {
            key: value
            for key, value in settings.flask_settings().items()
            if not key.startswith(("SQLALCHEMY", "RATELIMIT"))
        }
    )
    init_jinja(app)
    Babel(app, locale_selector=i18n.select_locale)
    CSRFProtect(app)
    WTFormsHelpers(app)
    i18n.init_app(app)
    assets.init_app(app)
    app.add_template_global(summary.status_name)
    app.jinja_env.globals.update(
        current_user=StandInUser(),
        acting=None,
        translation_notice=translation_notice,
        report_words_url=report_words_url,
    )
    answers: dict[str, Any] = {}

    # The portal's blueprint and endpoint names, so that the same templates build the same links.
    apply = Blueprint("apply", __name__)

    @apply.route("/application/questions/<name>", methods=["GET", "POST"])
    def question(name: str) -> Any:
        if name not in steps.STEP_NAMES:
            abort(404)
        step = steps.step(name)
        form = step.form(data=answers.get(name))
        if form.validate_on_submit():
            saved = steps.prune({**answers, name: services.answers_from_form(form)})
            answers.clear()
            answers.update(saved)
            upcoming = steps.next_step(saved, name)
            if upcoming is None:
                return redirect(url_for("apply.check_answers"))
            return redirect(url_for("apply.question", name=upcoming.name, **_keep_change()))
        previous = None
        for applicable in steps.applicable_steps(answers):
            if applicable.name == name:
                break
            previous = applicable
        back = url_for("apply.question", name=previous.name) if previous else None
        return render_template(
            "apply/question.html",
            form=form,
            step=step,
            section=summary.section_title(step.section),
            back_url=back or url_for("apply.task_list"),
        )

    @apply.route("/application/tasks")
    def task_list() -> Any:
        counts: dict[Any, int] = {}
        return render_template(
            "apply/task_list.html",
            sections=steps.section_states(answers),
            documents_state=document_rules.section_state(answers, counts),
            complete=steps.is_complete(answers) and not document_rules.missing(answers, counts),
        )

    # The other pages the templates link to: the links only, nothing served.
    linked = {
        "pages": {
            "start": "/",
            "privacy": "/privacy",
            "accessibility": "/accessibility",
            "cookies": "/cookies",
        },
        "auth": {
            "sign_in": "/sign-in",
            "sign_out": "/sign-out",
            "account": "/account",
            "keep_alive": "/session/keep-alive",
        },
        "apply": {
            "check_answers": "/application/check-your-answers",
            "delete_draft": "/application/delete",
        },
        "documents": {"overview": "/application/documents"},
        "wording": {"report": "/report-words"},
    }
    blueprints = {"apply": apply}
    for blueprint_name, endpoints in linked.items():
        blueprint = blueprints.setdefault(blueprint_name, Blueprint(blueprint_name, __name__))
        for endpoint, path in endpoints.items():
            blueprint.add_url_rule(path, endpoint, _not_served)
    for blueprint in blueprints.values():
        app.register_blueprint(blueprint, url_prefix="/<locale>")
    return app


# --- The portal -----------------------------------------------------------------------------------


def portal_app(url: str, folder: Path) -> Any:
    """The portal as gunicorn runs it (access log at INFO, thrown away: its cost stays in the
    figures, its lines leave the terminal alone), migrated, with an applicant and a draft past
    the eligibility questions."""
    from portal import create_app, migrate
    from portal.extensions import db
    from portal.models import Application
    from tests.apply_helpers import ELIGIBLE
    from tests.conftest import make_config
    from tests.helpers import make_user

    config = make_config(url, folder / "instance", LOG_LEVEL="INFO", TESTING=False)
    app = create_app(config)
    logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115
    migrate.upgrade(app)
    user = make_user(app, EMAIL)
    with app.app_context():
        db.session.add(
            Application(
                applicant_id=user.id, eligibility=dict(ELIGIBLE), answers={}, status="draft"
            )
        )
        db.session.commit()
    return app


# --- Measuring ------------------------------------------------------------------------------------


class Visitor:
    """One browser on one app: answers the steps before the measured ones, then sends each
    measured request (a POST with the token of the page it came from, as a browser would)."""

    def __init__(self, app: Any, sign_in: bool) -> None:
        from tests.apply_helpers import MAIN_APPLICANT_ALONE
        from tests.helpers import sign_in as signing_in
        from tests.helpers import submit

        self.client = app.test_client()
        if sign_in:
            response = signing_in(self.client, EMAIL)
            assert response.status_code == 302, response.status_code
        for name, data in MAIN_APPLICANT_ALONE:
            if name in BEFORE:
                response = submit(self.client, f"/en/application/questions/{name}", data)
                assert response.status_code == 302, (name, response.status_code)
        self.tokens: dict[str, str] = {}

    def send(self, method: str, step: str | None, data: dict[str, Any] | None) -> float:
        from tests.helpers import csrf_token

        path = f"/en/application/questions/{step}" if step else "/en/application/tasks"
        body = None
        if method == "POST":
            assert step is not None and data is not None
            body = {**data, "csrf_token": self.tokens[step]}
        started = time.thread_time()
        response = self.client.open(path, method=method, data=body)
        spent = time.thread_time() - started
        expected = 302 if method == "POST" else 200
        assert response.status_code == expected, (method, path, response.status_code)
        if method == "GET" and step:
            self.tokens[step] = csrf_token(response.text)
        return spent


def measure(visitors: dict[str, Visitor], rounds: int) -> dict[str, dict[str, list[float]]]:
    """Each request on each app in turn, round after round; the first WARM_UP rounds dropped."""
    times: dict[str, dict[str, list[float]]] = {
        name: {app: [] for app in visitors} for name, *_ in REQUESTS
    }
    for round_number in range(WARM_UP + rounds):
        for name, method, step, answers in REQUESTS:
            data = answers[round_number % 2] if answers else None
            for app, visitor in visitors.items():
                spent = visitor.send(method, step, data)
                if round_number >= WARM_UP:
                    times[name][app].append(spent)
    return times


def report(times: dict[str, dict[str, list[float]]], rounds: int) -> None:
    print(
        f"Server time per request, CPU time of one thread, median of {rounds} interleaved rounds "
        f"({WARM_UP} rounds of warm-up not counted); portal on PostgreSQL, signed in; floor: the "
        "same pages with the same libraries, no database, session or sign-in."
    )
    print(
        f"{'request':<22} {'portal ms':>10} {'floor ms':>9} {'ratio':>6}  target <= {TARGET_RATIO}"
    )
    worst = 0.0
    for name, by_app in times.items():
        portal = statistics.median(by_app["portal"]) * 1000
        floor = statistics.median(by_app["floor"]) * 1000
        ratio = portal / floor
        worst = max(worst, ratio)
        print(
            f"{name:<22} {portal:>10.2f} {floor:>9.2f} {ratio:>6.2f}  "
            f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}"
        )
    print(f"worst ratio: {worst:.2f} ({'met' if worst <= TARGET_RATIO else 'NOT met'})")


def profiled(visitor: Visitor, rounds: int, wanted: str) -> None:
    """cProfile, timed in this thread's CPU time like the table, over the portal's requests whose
    name contains `wanted` (--profile); the other requests run between them, unprofiled."""
    import cProfile
    import pstats

    profiler = cProfile.Profile(time.thread_time)
    for round_number in range(WARM_UP + rounds):
        for name, method, step, answers in REQUESTS:
            data = answers[round_number % 2] if answers else None
            on = wanted in name and round_number >= WARM_UP
            if on:
                profiler.enable()
            visitor.send(method, step, data)
            if on:
                profiler.disable()
    figures = pstats.Stats(profiler).strip_dirs()
    figures.sort_stats("cumulative").print_stats(70)
    figures.sort_stats("tottime").print_stats(30)


def main() -> None:
    from bench.common import drop_database, fresh_database
    from portal.extensions import db

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="rounds counted (default 200)")
    parser.add_argument(
        "--database",
        default=DATABASE,
        help=f"database to create, use and drop (default {DATABASE}; never the tests' `test`)",
    )
    parser.add_argument(
        "--profile",
        metavar="TEXT",
        help="profile (cProfile, CPU time) the portal's requests whose name contains TEXT",
    )
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="eoi-floor-"))
    url = fresh_database(arguments.database)
    try:
        portal = portal_app(url, folder)
        visitors = {
            "portal": Visitor(portal, sign_in=True),
            "floor": Visitor(floor_app(uuid.uuid4().hex * 2), sign_in=False),
        }
        if arguments.profile:
            profiled(visitors["portal"], arguments.rounds, arguments.profile)
        else:
            report(measure(visitors, arguments.rounds), arguments.rounds)
        with portal.app_context():
            db.engine.dispose()
    finally:
        drop_database(arguments.database)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
