"""Prometheus metrics, on an endpoint that only the monitoring system can read.

Events (submissions, upload rejections, booking conflicts, request latency) are counted where they
happen, with prometheus_client; under gunicorn, set PROMETHEUS_MULTIPROC_DIR (infra/gunicorn.conf.py
does) so that every worker process adds to the same figures. The queue's state (depth, age of the
oldest item, dead letters) and the messages outbox's (waiting, oldest, failures by reason) are
read from their source at each scrape, so they are right whichever process answers. A capability
whose state is read so registers its collector here (`read_at_scrape`, as queue.backends does for
the checking queue), so that this module, which every capability counts its events in, needs none
of them.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, abort, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import MessageStatus, Notification, utcnow

SUBMISSIONS = Counter("portal_submissions", "Applications sent")
UPLOAD_REJECTIONS = Counter("portal_upload_rejections", "Uploads refused, by reason", ["reason"])
BOOKING_CONFLICTS = Counter(
    "portal_booking_conflicts", "Bookings refused because the time had just been taken"
)
REQUEST_SECONDS = Histogram(
    "portal_request_seconds",
    "Time to answer a request, by endpoint",
    ["endpoint", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# Collectors made for each app and read at every scrape, registered by the capabilities they read.
SCRAPED: list[Callable[[Flask], Collector]] = []


def read_at_scrape(collector: Callable[[Flask], Collector]) -> None:
    """Register a collector of state read at each scrape; done once, when its module is imported."""
    SCRAPED.append(collector)


class MessagesCollector(Collector):
    """The messages outbox as it is now, read from the database whichever process answers: how
    many wait, how long the oldest has waited, failures by state and the provider's reason."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        waiting = (
            MessageStatus.QUEUED.value,
            MessageStatus.SENDING.value,
            MessageStatus.TEMPORARY_FAILURE.value,
        )
        failed = (MessageStatus.TEMPORARY_FAILURE.value, MessageStatus.PERMANENT_FAILURE.value)
        with self.app.app_context():
            now = utcnow()
            depth, oldest = db.session.execute(
                select(func.count(), func.min(Notification.created_at)).where(
                    Notification.status.in_(waiting)
                )
            ).one()
            failures = db.session.execute(
                select(Notification.status, Notification.reason, func.count())
                .where(Notification.status.in_(failed))
                .group_by(Notification.status, Notification.reason)
            ).all()
            db.session.rollback()
        yield GaugeMetricFamily("portal_messages_waiting", "Messages not yet handed over", depth)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "portal_messages_oldest_seconds", "How long the oldest waiting message has waited", age
        )
        by_reason = GaugeMetricFamily(
            "portal_messages_failures",
            "Messages whose last try failed, by state and reason",
            labels=["status", "reason"],
        )
        for status, reason, count in failures:
            by_reason.add_metric([status, (reason or "")[:60]], count)
        yield by_reason


def registry(app: Flask) -> CollectorRegistry:
    """This app's registry: its own events (or every worker's, in multiprocess mode) and the
    state read at scrape time (the checking queue's, registered by queue.backends; the messages
    outbox's)."""
    chosen = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(chosen)
    else:
        for collector in (SUBMISSIONS, UPLOAD_REJECTIONS, BOOKING_CONFLICTS, REQUEST_SECONDS):
            chosen.register(collector)
    for read_state in (*SCRAPED, MessagesCollector):
        chosen.register(read_state(app))
    return chosen


def init_app(app: Flask) -> None:
    """Time every request; serve /metrics to whoever holds PORTAL_METRICS_TOKEN, else 404."""
    token = app.config["PORTAL"].METRICS_TOKEN
    scraped = registry(app)

    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def observe(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None and request.endpoint not in (None, "metrics", "asset"):
            REQUEST_SECONDS.labels(request.endpoint, request.method).observe(
                time.perf_counter() - started
            )
        return response

    @app.route("/metrics")
    def metrics() -> Any:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not token or not hmac.compare_digest(offered.encode(), token.encode()):
            abort(404)
        return Response(generate_latest(scraped), mimetype=CONTENT_TYPE_LATEST)
