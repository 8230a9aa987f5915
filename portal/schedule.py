"""When the portal's timed commands run: one table for both the `scheduler` command (Compose, a
plain machine) and EventBridge Scheduler on AWS (infra/cloudformation.yaml, checked against this
table by tests/unit/test_infra.py). Run one of the two, never both.

Times are Paris wall-clock times, so they follow summer time the way the people reading the
messages do.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

TIMEZONE = "Europe/Paris"
# Shorter than an hour, so a stuck run ends before the next hourly one is due. Every command is
# idempotent and commits as it goes: a run cut short is finished by the next.
TIMEOUT_SECONDS = 50 * 60
# A run that starts this late (the machine was asleep or busy) is still worth doing.
MISFIRE_GRACE_SECONDS = 5 * 60

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One CLI command and when it runs (cron minute and hour fields, in TIMEZONE; "0/10" is
    every ten minutes from the hour, in both APScheduler and EventBridge)."""

    command: str
    minute: int | str
    hour: str
    why: str


JOBS: tuple[Job, ...] = (
    Job(
        command="send-reminders",
        minute=0,
        hour="8-20",
        why="reminders and nudges go out within the hour, in the day only: no text at night",
    ),
    Job(
        command="remind-families",
        minute=15,
        hour="8-20",
        why="main applicants hear of adults who have not applied within the hour, in the day only",
    ),
    Job(
        command="announce-windows",
        minute=5,
        hour="8-20",
        why="people with a finished draft hear of a new window within the hour, in the day only",
    ),
    Job(
        command="documents-clean-up",
        minute=20,
        hour="*",
        why="at any hour: it only removes files over an hour old that no row names",
    ),
    Job(
        command="scan-documents",
        minute=10,
        hour="*",
        why="at any hour: files kept unscanned (no scanner at upload) are opened by no one but "
        "their uploader until it has scanned them",
    ),
    Job(
        command="reconcile-queue",
        minute="0/10",
        hour="*",
        why="an application whose SQS message was lost is published again well within a lease",
    ),
    Job(
        command="retention",
        minute=30,
        hour="3",
        why="once a day while the portal is quiet; 03:30 happens once a day, summer time or not",
    ),
)


def eventbridge_expression(job: Job) -> str:
    """EventBridge Scheduler's six-field cron; its time zone is set beside it, as TIMEZONE."""
    return f"cron({job.minute} {job.hour} * * ? *)"


def command_line(command: str) -> list[str]:
    """The same command EventBridge gives the jobs container, run by this interpreter."""
    return [sys.executable, "-m", "flask", "--app", "portal", command]


def run_command(argv: Sequence[str], timeout: float = TIMEOUT_SECONDS) -> None:
    """Run one command in its own process, so a crash, a leak or a hang in it cannot take the
    scheduler down; failures are logged, never raised, and the next run tries again."""
    started = time.monotonic()
    try:
        exit_code = subprocess.run(argv, timeout=timeout, check=False).returncode  # noqa: S603
    except subprocess.TimeoutExpired:
        log.error(
            "scheduled command timed out",
            extra={"command": list(argv), "timeout_seconds": timeout},
        )
        return
    except OSError:
        log.exception("scheduled command could not start", extra={"command": list(argv)})
        return
    duration = round(time.monotonic() - started, 1)
    details = {"command": list(argv), "exit_code": exit_code, "duration_seconds": duration}
    if exit_code == 0:
        log.info("scheduled command finished", extra=details)
    else:
        log.error("scheduled command failed", extra=details)


def build_scheduler() -> BlockingScheduler:
    """Missed runs are made up once, not once per missed time, and never beside a run of the
    same command still going: the commands are idempotent, but not meant to race."""
    scheduler = BlockingScheduler(timezone=TIMEZONE)
    for job in JOBS:
        scheduler.add_job(
            run_command,
            CronTrigger(minute=job.minute, hour=job.hour, timezone=TIMEZONE),
            args=[command_line(job.command)],
            id=job.command,
            name=job.command,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )
    return scheduler
