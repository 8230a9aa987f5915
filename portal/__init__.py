"""The EOI portal: the online front door of the UK/European Applicant Transfer Scheme."""

from __future__ import annotations

import inspect
import select
import time
import weakref
from collections.abc import MutableMapping
from typing import Any

from flask import Flask
from flask.templating import Environment
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from psycopg import pq
from sqlalchemy import Engine, event
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import assets, errors, i18n, logs, metrics, notify, security
from portal.config import PROJECT_ROOT, PortalConfig
from portal.documents import services as document_services
from portal.extensions import babel, csrf, db, login_manager
from portal.queue import backends as queue_backends
from portal.ratelimit import limiter


class PortalEnvironment(Environment):
    """Flask's Jinja environment, with each template's globals as one flat dict.

    Jinja chains a template's globals onto the environment's (a ChainMap), so that later changes
    show through. Every `{% from ... import %}` (each GOV.UK macro runs a few, on every call)
    then compares the importing page's global names with that ChainMap's, in Python, name by
    name: about 1.5 ms of a question page under the profiler. Every global is registered in
    `create_app`, before any template loads, so a flat copy is the same map, compared in C.
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


class PortalFlask(Flask):
    jinja_environment = PortalEnvironment


def create_app(config: PortalConfig | None = None, **overrides: Any) -> Flask:
    """Build the application: settings from the environment unless a config is given (tests)."""
    settings = config or PortalConfig.from_env()
    settings.finalise()
    logs.configure_logging(settings.LOG_LEVEL)

    app = PortalFlask(
        __name__,
        static_folder=None,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(settings.INSTANCE_PATH),
    )
    app.config.update(settings.flask_settings())
    app.config.update(overrides)
    if settings.is_production:
        # One load balancer in front: trust its X-Forwarded-For/Proto, nothing further.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]  # Flask's documented way to wrap the WSGI app

    init_jinja(app)
    init_extensions(app)
    register_blueprints(app)
    for module in (
        logs,
        security,
        errors,
        i18n,
        assets,
        notify,
        document_services,
        queue_backends,
        metrics,
    ):
        module.init_app(app)

    from portal import cli

    cli.init_app(app)
    return app


def init_jinja(app: Flask) -> None:
    """Our templates first (they may override a GOV.UK macro), then the GOV.UK macro packages."""
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(PROJECT_ROOT / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals["show_govuk_brand"] = app.config["PORTAL"].SHOW_GOVUK_BRAND


def init_extensions(app: Flask) -> None:
    # First, so that Flask-Compress's after_request hook runs last, on the finished response.
    assets.init_compression(app)
    db.init_app(app)
    # Before the first app context: popping one would otherwise run the async teardown, which
    # fails where an event loop runs (the browser tests create apps in Playwright's thread).
    drop_async_teardown(app)
    with app.app_context():
        enforce_foreign_keys(db.engine)
        ping_with_an_empty_query(db.engine)
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from govuk_frontend_wtf.main import WTFormsHelpers

    WTFormsHelpers(app)


def enforce_foreign_keys(engine: Engine) -> None:
    """SQLite checks foreign keys only when each connection asks it to; PostgreSQL always does.

    Without this, the embedded default accepted rows naming rows that do not exist (a queue item
    for no application) that production would refuse: the two databases must keep one truth.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


# A connection back in the pool for longer than this is pinged with a round trip when it is taken
# again. A load balancer or NAT on the way may drop an idle flow without telling either end (AWS's
# after 350 s, others after a few minutes); nothing then arrives on the socket to say so.
QUIET_CHECK_SECONDS = 30.0


def ping_with_an_empty_query(engine: Engine) -> None:
    """The pool's pre-ping on PostgreSQL: a look at the socket, and a round trip only when needed.

    A connection the server ends (pg_terminate_backend, a restart, a failover, its idle timeout)
    is told so: the backend sends a FATAL message and closes the socket, so the socket has
    something to read. A pooled connection between two requests has nothing to read otherwise.
    A zero-timeout poll of the socket (one system call, no round trip) therefore finds it,
    and only then, or when the connection sat in the pool longer than QUIET_CHECK_SECONDS, is
    the round trip made: one empty query sent by libpq (SQLAlchemy's own ping switches to
    autocommit and back, opens a cursor and runs `SELECT 1` through psycopg's Python layers).
    A connection that answers with an error is reported dead, and the pool replaces it and
    every other pooled connection, as before. bench/floor.py measured the round trip at about
    0.05 to 0.1 ms of CPU on every request."""
    if engine.dialect.driver != "psycopg":
        return
    returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    @event.listens_for(engine, "checkin")
    def _note_return(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            returned[dbapi_connection] = time.monotonic()

    def ping(dbapi_connection: Any) -> bool:
        pgconn = dbapi_connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        since = returned.get(dbapi_connection)
        if (
            since is not None
            and time.monotonic() - since < QUIET_CHECK_SECONDS
            and not _has_input(pgconn.socket)
        ):
            return True
        result = pgconn.exec_(b"")
        return bool(result.status == pq.ExecStatus.EMPTY_QUERY)

    engine.dialect.do_ping = ping  # type: ignore[method-assign]  # this engine's dialect only: SQLAlchemy has no setting for the ping


def _has_input(socket: int) -> bool:
    """Whether the socket has bytes or an end of file waiting, without waiting (poll(), not
    select(), which refuses descriptors above 1023)."""
    watch = select.poll()
    watch.register(socket, select.POLLIN)
    return bool(watch.poll(0))


def drop_async_teardown(app: Flask) -> None:
    """Flask-SQLAlchemy-Lite always registers a coroutine to close async sessions, and Flask runs
    a coroutine through asgiref: a new thread and event loop at the end of every request (about
    half a millisecond, more with other threads waiting). The portal has no async engine."""
    app.teardown_appcontext_funcs[:] = [
        teardown
        for teardown in app.teardown_appcontext_funcs
        if not inspect.iscoroutinefunction(teardown)
    ]


def register_blueprints(app: Flask) -> None:
    """Each capability is a blueprint; all pages live under a locale prefix such as /ar/."""
    from portal.admin.routes import admin
    from portal.apply.document_pages import documents
    from portal.apply.routes import apply
    from portal.appointments.routes import appointments
    from portal.appointments.staff import staff_centres
    from portal.auth import routes as auth_routes
    from portal.backoffice.messages import staff_messages
    from portal.backoffice.routes import backoffice
    from portal.documents.routes import staff_documents
    from portal.eligibility.routes import eligibility
    from portal.health import health
    from portal.pages.routes import pages, root
    from portal.presence.routes import presence
    from portal.support.routes import support
    from portal.support.staff import organisations
    from portal.wording.routes import wording
    from portal.wording.staff import wording_reports

    # Public information pages: start, privacy, accessibility, cookies.
    app.register_blueprint(pages, url_prefix="/<locale>")
    # Accounts: registration, email confirmation, sign-in, two-factor, password reset.
    app.register_blueprint(auth_routes.auth, url_prefix="/<locale>")
    auth_routes.init_login(app)
    # The scheme's validity questions, asked before any account or form.
    app.register_blueprint(eligibility, url_prefix="/<locale>")
    # The Expression of Interest: task list, questions, check and send, status.
    app.register_blueprint(apply, url_prefix="/<locale>")
    # Identity documents and evidence: upload, list, replace, remove, and reading them back.
    app.register_blueprint(documents, url_prefix="/<locale>")
    app.register_blueprint(staff_documents, url_prefix="/<locale>/staff")
    # The presence-in-France check that the link sent after submission opens.
    app.register_blueprint(presence, url_prefix="/<locale>")
    # Invited applicants book, move and cancel biometric appointments.
    app.register_blueprint(appointments, url_prefix="/<locale>")
    # Support workers helping applicants, and applicants taking over or ending that help.
    app.register_blueprint(support, url_prefix="/<locale>")
    # Readers report a problem with the words of a page; admins read the reports by language.
    app.register_blueprint(wording, url_prefix="/<locale>")
    app.register_blueprint(wording_reports, url_prefix="/<locale>/admin/word-reports")
    # Service operators: staff accounts (more in later capabilities).
    app.register_blueprint(admin, url_prefix="/<locale>/admin")
    # Caseworkers: the checking queue, checks and decisions (in English, see backoffice.routes).
    app.register_blueprint(backoffice, url_prefix="/<locale>/casework")
    app.register_blueprint(staff_messages, url_prefix="/<locale>/casework")
    app.register_blueprint(staff_centres, url_prefix="/<locale>/casework/centres")
    app.register_blueprint(organisations, url_prefix="/<locale>/casework/organisations")
    # Un-localised machine endpoints and the root redirect.
    app.register_blueprint(health)
    app.register_blueprint(root)
