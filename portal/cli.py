"""flask --app portal <command>: database, demo data, accounts, document storage, the relay, the
message sender, SES delivery events, the scheduler of the timed commands and the web service's
scale-out before application windows."""

from __future__ import annotations

import signal
from datetime import time, timedelta
from types import FrameType

import click
from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from portal import capacity, migrate, retention, schedule
from portal.apply import family_reminders, windows
from portal.appointments import centres
from portal.appointments.slots import WeeklyPattern
from portal.auth import passwords, services
from portal.documents import quarantine
from portal.documents import services as document_services
from portal.extensions import db
from portal.keys import new_key_text
from portal.models import Organisation, Role, utcnow
from portal.notify import ses_events, worker
from portal.queue.backends import SqsQueue, checking_queue
from portal.queue.reconcile import reconcile
from portal.queue.relay import Relay, relay_once
from portal.transactions import transactional

DEMO_PASSWORD = "demo password for staff"  # noqa: S105 - printed for local demo use only

DEMO_STAFF = (
    ("caseworker@example.org", Role.CASEWORKER),
    ("admin@example.org", Role.ADMIN),
    ("support@example.org", Role.SUPPORT),
)
DEMO_APPLICANT = "applicant@example.org"
DEMO_ORG = "Demo day centre"


def init_app(app: Flask) -> None:
    app.cli.add_command(announce_windows)
    app.cli.add_command(init_db)
    app.cli.add_command(db_revision)
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    app.cli.add_command(documents_key)
    app.cli.add_command(documents_clean_up)
    app.cli.add_command(scan_documents)
    app.cli.add_command(relay)
    app.cli.add_command(reconcile_queue)
    app.cli.add_command(send_messages)
    app.cli.add_command(send_reminders)
    app.cli.add_command(remind_families)
    app.cli.add_command(retention_command)
    app.cli.add_command(scheduler)
    app.cli.add_command(consume_delivery_events)
    app.cli.add_command(plan_capacity)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    migrate.upgrade(current_app._get_current_object())  # type: ignore[attr-defined]  # the proxy's own method: the app itself
    click.echo("database is at the latest migration")


@click.command("db-revision")
@with_appcontext
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    migrate.make_revision(current_app._get_current_object(), message)  # type: ignore[attr-defined]  # the proxy's own method: the app itself


@click.command("seed-demo")
@with_appcontext
@transactional
def seed_demo() -> None:
    """Make demo accounts (idempotent): one of each staff role and a confirmed applicant; one
    transaction, so a failure leaves no half-made demo."""
    click.echo("Demo accounts (staff set up two-factor authentication at first sign-in):")
    for email, role in (*DEMO_STAFF, (DEMO_APPLICANT, Role.APPLICANT)):
        if services.find_user(email) is None:
            services.create_user(email, DEMO_PASSWORD, role)
        click.echo(f"  {role.value:<11} {email}  password: {DEMO_PASSWORD}")
    now = utcnow()
    window = windows.open_window(now)
    if window is None:
        window = windows.create_window(
            "Demo window", now - timedelta(days=1), now + timedelta(days=90), 500
        )
    click.echo(
        f"Open application window: {window.name}, {window.places - window.places_taken} places left"
    )
    admin = services.find_user("admin@example.org")
    today = now.date()
    weekdays = WeeklyPattern(frozenset(range(5)), time(9), time(17), 20, 3)
    for centre in centres.seed_demo_centres():
        if admin is not None:
            centres.create_slots(centre, weekdays, today, today + timedelta(days=35), (), admin)
        click.echo(f"Centre: {centre.name}, slots on weekdays for five weeks")
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == DEMO_ORG))
    if organisation is None:
        organisation = Organisation(
            name=DEMO_ORG, city="Calais", contact_email="contact@day-centre.example.org"
        )
        db.session.add(organisation)
    worker = services.find_user("support@example.org")
    if worker is not None:
        db.session.flush()
        worker.organisation_id = organisation.id
    click.echo(f"Organisation: {DEMO_ORG}, with support@example.org as its support worker")


@click.command("retention")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Count what is due, change nothing.")
def retention_command(dry_run: bool) -> None:
    """Delete documents and personal data PORTAL_RETENTION_DAYS after a final decision or a
    withdrawal, keeping an anonymised record (for a scheduler, daily)."""
    days = current_app.config["PORTAL"].RETENTION_DAYS
    result = retention.run(utcnow(), timedelta(days=days), dry_run=dry_run)
    verb = "due" if dry_run else "anonymised"
    click.echo(
        f"applications {verb}: {result.applications}, documents: {result.documents}, "
        f"accounts closed: {result.accounts}"
    )


@click.command("send-reminders")
@with_appcontext
def send_reminders() -> None:
    """Remind applicants of appointments soon and nudge invited ones who have not booked.

    For a scheduler (every hour, say): running it twice sends nothing twice. The messages' links
    are built as in a request (url_for needs one); absolute_url puts PORTAL_BASE_URL in front."""
    with current_app.test_request_context("/"):
        sent = centres.send_reminders(utcnow())
    click.echo(f"reminders sent: {sent.reminders}, nudges sent: {sent.nudges}")


@click.command("remind-families")
@with_appcontext
def remind_families() -> None:
    """Tell main applicants, once, that adults they listed have not applied and their window
    closes within PORTAL_FAMILY_REMINDER_DAYS (for a scheduler; running it twice sends nothing
    twice). The links are built as in a request, like send-reminders'."""
    with current_app.test_request_context("/"):
        told = family_reminders.remind_families(utcnow())
    click.echo(f"families reminded: {told}")


@click.command("announce-windows")
@with_appcontext
def announce_windows() -> None:
    """Tell people with a finished draft that a window has opened (for a scheduler; idempotent)."""
    told = windows.announce_open_windows(utcnow())
    click.echo(f"told {told} people")


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True)
@click.option(
    "--role", type=click.Choice([role.value for role in Role]), default=Role.APPLICANT.value
)
@click.option("--locale", default="en")
@click.password_option()
def create_user(email: str, role: str, locale: str, password: str) -> None:
    """Create a confirmed account; staff set up two-factor authentication at first sign-in."""
    if services.find_user(email) is not None:
        raise click.ClickException("an account with that email address already exists")
    problem = passwords.password_problem(password, email)
    if problem is not None:
        raise click.ClickException(f"password refused: {problem.value}")
    services.create_user(email, password, Role(role), locale)
    click.echo(f"created {role} {email}")


@click.command("documents-key")
def documents_key() -> None:
    """Print a new random key for PORTAL_DOCUMENT_KEY (keep it in the secrets store)."""
    click.echo(new_key_text())


@click.command("documents-clean-up")
@click.option("--older-than-minutes", default=60, show_default=True, type=int)
@with_appcontext
def documents_clean_up(older_than_minutes: int) -> None:
    """Delete stored files that no document row names (left by a failure between the two) and
    temporary files that an upload killed mid-write left.

    Only files older than the given age are touched, so an upload in progress is never removed:
    keep it longer than the longest upload can take (a few minutes for the largest file).
    """
    result = document_services.clean_up(utcnow() - timedelta(minutes=older_than_minutes))
    click.echo(f"removed {len(result.orphans)} stored file(s) that no document names")
    click.echo(f"removed {result.temporaries} temporary file(s) left by interrupted uploads")


@click.command("scan-documents")
@with_appcontext
def scan_documents() -> None:
    """Scan the files kept "not scanned" (uploaded while no scanner was configured), once each.

    For a scheduler: runs at the same time never scan one file twice. If the scanner does not
    answer, the files stay "not scanned" for the next run and the command exits 1."""
    if not document_services.scanning_configured():
        click.echo(
            f"no virus scanner is configured: {quarantine.waiting()} document(s) wait for one"
        )
        return
    timeout = current_app.config["PORTAL"].CLAMD_TIMEOUT_SECONDS
    run = quarantine.scan_waiting(
        document_services.scanner(),
        document_services.storage(),
        hold=timedelta(seconds=2 * timeout + 60),
    )
    click.echo(f"scanned {run.scanned} document(s): {run.clean} clean, {run.infected} infected")
    if run.skipped:
        click.echo(f"skipped {len(run.skipped)} document(s) whose stored file is missing")
    if run.stopped:
        click.echo(f"stopped: {run.stopped}; {quarantine.waiting()} document(s) wait")
        raise SystemExit(1)


@click.command("relay")
@click.option("--once", is_flag=True, help="Send what is pending, then stop (for a scheduler).")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between idle passes.")
@click.option("--batch", default=100, show_default=True, help="Rows per pass.")
@with_appcontext
def relay(once: bool, interval: float, batch: int) -> None:
    """Publish the outbox to SQS. Stops cleanly on SIGTERM or SIGINT after the current pass."""
    queue = checking_queue()
    if not isinstance(queue, SqsQueue):
        click.echo("PORTAL_QUEUE is `database`: the outbox is the queue, there is nothing to relay")
        return
    if once:
        total = 0
        while sent := relay_once(queue, batch):
            total += sent
        click.echo(f"sent {total} message(s)")
        return
    loop = Relay(queue, interval=interval, limit=batch)
    signal.signal(signal.SIGTERM, loop.stop)
    signal.signal(signal.SIGINT, loop.stop)
    click.echo("relay running; stop with SIGTERM or Ctrl-C")
    click.echo(f"relay stopped after sending {loop.run()} message(s)")


@click.command("reconcile-queue")
@with_appcontext
def reconcile_queue() -> None:
    """Mark for the relay every application that waits but whose SQS message may be gone: neither
    done nor dead, lease over, last published more than a visibility timeout ago (for a
    scheduler, every ten minutes; idempotent)."""
    queue = checking_queue()
    if not isinstance(queue, SqsQueue):
        click.echo(
            "PORTAL_QUEUE is `database`: the outbox is the queue, there is nothing to reconcile"
        )
        return
    marked = reconcile(queue)
    click.echo(f"{marked} application(s) marked to be published again")


@click.command("send-messages")
@click.option("--once", is_flag=True, help="Send what is due, then stop (tests, a scheduler).")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between idle passes.")
@click.option("--batch", default=100, show_default=True, help="Messages per pass.")
@with_appcontext
def send_messages(once: bool, interval: float, batch: int) -> None:
    """Deliver the messages outbox (email, SMS). Stops cleanly on SIGTERM or SIGINT after the
    current pass; several may run at once, each message is sent by one of them."""
    if once:
        click.echo(f"sent or tried {worker.send_all_due(batch)} message(s)")
        return
    loop = worker.Sender(current_app._get_current_object(), interval=interval, limit=batch)  # type: ignore[attr-defined]  # the proxy's own method: the app itself
    signal.signal(signal.SIGTERM, loop.stop)
    signal.signal(signal.SIGINT, loop.stop)
    click.echo("sender running; stop with SIGTERM or Ctrl-C")
    click.echo(f"sender stopped after {loop.run()} message(s)")


@click.command("scheduler")
def scheduler() -> None:
    """Run send-reminders, announce-windows, documents-clean-up, scan-documents, reconcile-queue and
    retention at the times in portal/schedule.py, each in its own process. For Compose or a plain
    machine: on AWS, EventBridge Scheduler runs the same commands instead. Run one of the two, never
    both.

    Stops on SIGTERM or SIGINT: no new run starts, and one in progress is left to finish."""
    runner = schedule.build_scheduler()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        if runner.running:  # a second signal changes nothing: the run in progress still ends
            runner.shutdown(wait=False)

    def started(_event: SchedulerEvent) -> None:
        # Only now: a signal before the scheduler starts ends the process the default way.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        for job in runner.get_jobs():
            click.echo(f"{job.name:<20} next run {job.next_run_time:%Y-%m-%d %H:%M %Z}")
        click.echo("scheduler running; stop with SIGTERM or Ctrl-C")

    runner.add_listener(started, EVENT_SCHEDULER_STARTED)
    runner.start()
    click.echo("scheduler stopped")


@click.command("consume-delivery-events")
@click.option("--once", is_flag=True, help="Record what is queued now, then stop.")
@with_appcontext
def consume_delivery_events(once: bool) -> None:
    """Record SES bounces, complaints and deliveries from PORTAL_SES_EVENTS_QUEUE_URL.

    Stops cleanly on SIGTERM or SIGINT after the current batch."""
    settings = current_app.config["PORTAL"]
    if not settings.SES_EVENTS_QUEUE_URL:
        click.echo("PORTAL_SES_EVENTS_QUEUE_URL is not set: there are no SES events to read")
        return
    client = ses_events.sqs_client(settings.SQS_REGION, settings.SQS_ENDPOINT_URL)
    if once:
        result = ses_events.consume_until_empty(client, settings.SES_EVENTS_QUEUE_URL)
        click.echo(
            f"recorded {result.recorded}, ignored {result.ignored}, "
            f"left {result.garbled} unreadable and {result.failed} failed event(s) in the queue"
        )
        return
    consumer = ses_events.EventConsumer(client, settings.SES_EVENTS_QUEUE_URL)
    signal.signal(signal.SIGTERM, consumer.stop)
    signal.signal(signal.SIGINT, consumer.stop)
    click.echo("consuming SES delivery events; stop with SIGTERM or Ctrl-C")
    click.echo(f"stopped after recording {consumer.run()} event(s)")


@click.command("plan-capacity")
@with_appcontext
def plan_capacity() -> None:
    """Raise the web service's fewest tasks before each application window opens and lower it
    after the first hours, as Application Auto Scaling scheduled actions (AWS only; for a
    scheduler, every fifteen minutes; idempotent)."""
    plan = capacity.plan_capacity(current_app.config["PORTAL"], utcnow())
    if plan is None:
        click.echo(
            "PORTAL_CAPACITY_RESOURCE_ID is not set: there is no scalable target to plan for"
        )
        return
    for action in plan.put:
        click.echo(
            f"put {action.name}: {action.min_capacity} to {action.max_capacity} tasks "
            f"from {action.at.isoformat()}"
        )
    for name in plan.deleted:
        click.echo(f"deleted {name}")
    click.echo(f"{len(plan.put)} put, {len(plan.kept)} unchanged, {len(plan.deleted)} deleted")
