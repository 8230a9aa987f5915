"""The timed commands' table, the scheduler built from it, and how one run is carried out.

The schedules in infra/cloudformation.yaml are checked against the same table in test_infra.py.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest

from portal import schedule

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def job_environment(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a command run in a child process reads: a migrated SQLite database of its own."""
    monkeypatch.setenv("PORTAL_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("PORTAL_LOG_LEVEL", "WARNING")


def scheduled_jobs() -> dict[str, object]:
    return {job.id: job for job in schedule.build_scheduler().get_jobs()}


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "portal.schedule"]


def test_the_scheduler_has_one_job_per_entry_with_its_cron_fields_in_paris_time():
    jobs = scheduled_jobs()
    assert set(jobs) == {entry.command for entry in schedule.JOBS}
    for entry in schedule.JOBS:
        job = jobs[entry.command]
        fields = {field.name: str(field) for field in job.trigger.fields}
        assert fields["minute"] == str(entry.minute)
        assert fields["hour"] == entry.hour
        assert fields["day"] == fields["month"] == fields["day_of_week"] == "*"
        assert str(job.trigger.timezone) == "Europe/Paris"
        assert job.func is schedule.run_command
        assert job.args == (schedule.command_line(entry.command),)
        assert job.coalesce is True
        assert job.max_instances == 1
        assert 60 <= job.misfire_grace_time <= 600


def test_the_times_are_what_people_are_promised():
    hours = {entry.command: (entry.minute, entry.hour) for entry in schedule.JOBS}
    assert hours == {
        "send-reminders": (0, "8-20"),
        "announce-windows": (5, "8-20"),
        "remind-families": (15, "8-20"),
        "documents-clean-up": (20, "*"),
        "scan-documents": (10, "*"),
        "retention": (30, "3"),
        "reconcile-queue": ("0/10", "*"),
    }
    assert all(entry.why for entry in schedule.JOBS)


def test_no_reminder_goes_at_night_and_paris_summer_time_is_followed():
    trigger = scheduled_jobs()["send-reminders"].trigger
    evening = datetime(2026, 11, 29, 21, 10, tzinfo=PARIS)
    assert trigger.get_next_fire_time(None, evening) == datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)
    # Summer time starts at 02:00 on 29 March 2026: 08:00 in Paris is then 06:00 UTC, not 07:00.
    before_the_change = datetime(2026, 3, 28, 20, 30, tzinfo=PARIS)
    morning = trigger.get_next_fire_time(None, before_the_change)
    assert morning == datetime(2026, 3, 29, 8, 0, tzinfo=PARIS)
    assert morning.utcoffset().total_seconds() == 2 * 3600
    retention = scheduled_jobs()["retention"].trigger
    assert retention.get_next_fire_time(None, evening) == datetime(
        2026, 11, 30, 3, 30, tzinfo=PARIS
    )


def test_the_queue_is_reconciled_every_ten_minutes_day_and_night():
    trigger = scheduled_jobs()["reconcile-queue"].trigger
    night = datetime(2026, 11, 29, 3, 1, tzinfo=PARIS)
    assert trigger.get_next_fire_time(None, night) == datetime(2026, 11, 29, 3, 10, tzinfo=PARIS)
    late = datetime(2026, 11, 29, 23, 55, tzinfo=PARIS)
    assert trigger.get_next_fire_time(None, late) == datetime(2026, 11, 30, 0, 0, tzinfo=PARIS)


def test_eventbridge_expressions_have_six_fields_and_the_same_times():
    expressions = {entry.command: schedule.eventbridge_expression(entry) for entry in schedule.JOBS}
    assert expressions == {
        "send-reminders": "cron(0 8-20 * * ? *)",
        "announce-windows": "cron(5 8-20 * * ? *)",
        "remind-families": "cron(15 8-20 * * ? *)",
        "documents-clean-up": "cron(20 * * * ? *)",
        "scan-documents": "cron(10 * * * ? *)",
        "reconcile-queue": "cron(0/10 * * * ? *)",
        "retention": "cron(30 3 * * ? *)",
    }


def test_every_scheduled_command_is_a_command_of_the_app(app):
    context = click.Context(app.cli)
    registered = app.cli.list_commands(context)
    for entry in schedule.JOBS:
        assert entry.command in registered
        assert app.cli.get_command(context, entry.command) is not None
    assert "scheduler" in registered


def test_a_scheduled_job_runs_its_command_in_a_child_process_and_logs_the_exit_code(
    job_environment, caplog, capfd
):
    caplog.set_level(logging.INFO, logger="portal.schedule")
    job = scheduled_jobs()["documents-clean-up"]
    job.func(*job.args)
    (record,) = records(caplog)
    assert record.levelno == logging.INFO
    assert record.exit_code == 0
    assert record.command == [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "portal",
        "documents-clean-up",
    ]
    assert record.duration_seconds >= 0
    assert "removed 0 stored file(s) that no document names" in capfd.readouterr().out


def test_a_failing_command_is_logged_and_does_not_raise(caplog):
    caplog.set_level(logging.INFO, logger="portal.schedule")
    schedule.run_command([sys.executable, "-c", "raise SystemExit(3)"])
    (record,) = records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exit_code == 3


def test_a_command_that_hangs_is_stopped_at_its_timeout_and_logged(caplog):
    caplog.set_level(logging.INFO, logger="portal.schedule")
    schedule.run_command([sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.5)
    (record,) = records(caplog)
    assert record.levelno == logging.ERROR
    assert record.timeout_seconds == 0.5


def test_a_command_that_cannot_start_is_logged_and_does_not_raise(caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="portal.schedule")
    schedule.run_command([str(tmp_path / "missing")])
    (record,) = records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


def test_the_scheduler_command_lists_the_next_runs_and_stops_on_sigterm(job_environment):
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "portal", "scheduler"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=os.environ.copy(),
    )
    try:
        lines = []
        while (line := process.stdout.readline()) and not line.startswith("scheduler running"):
            lines.append(line)
        assert line.startswith("scheduler running")
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    # Listed soonest first, so the order depends on the time of day.
    assert sorted(line.split()[0] for line in lines) == sorted(e.command for e in schedule.JOBS)
    assert all(" next run " in line for line in lines)
    assert rest.strip() == "scheduler stopped"
