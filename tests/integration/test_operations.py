"""What operators rely on: readiness, metrics behind a token, and data retention."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import (
    Application,
    AuditEvent,
    Document,
    Notification,
    Status,
    StatusChange,
    User,
    utcnow,
)
from tests.appointment_helpers import application_of
from tests.conftest import make_config
from tests.factories import send_application

TOKEN = "a-metrics-token-for-the-tests"


def test_readiness_names_each_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "checks": {"database": "ok", "storage": "ok", "queue": "ok"},
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_readiness_fails_when_the_document_store_is_gone(app, client, monkeypatch):
    store = app.extensions["portal.documents"]
    monkeypatch.setattr(store, "reachable", lambda: False)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["storage"] == "unavailable"


def test_metrics_are_not_public(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_with_the_token_count_submissions_and_the_queue(tmp_path, database_url):
    from portal import create_app

    app = create_app(make_config(database_url, tmp_path / "instance", METRICS_TOKEN=TOKEN))
    client = app.test_client()
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    send_application(client, app)
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    text = response.text
    assert "portal_submissions_total" in text
    assert "portal_queue_depth 1.0" in text
    assert "portal_queue_dead_letters 0.0" in text
    assert 'portal_request_seconds_count{endpoint="apply.question",method="POST"}' in text
    with app.app_context():
        db.engine.dispose()


def decide_long_ago(app, email: str, status: Status, days: int) -> None:
    """Mark the application decided (or withdrawn) `days` ago."""
    application_id = application_of(app, email)
    with app.app_context():
        db.session.execute(
            update(Application).where(Application.id == application_id).values(status=status.value)
        )
        db.session.add(
            StatusChange(
                application_id=application_id,
                from_status=Status.SECURITY_CHECKS.value,
                to_status=status.value,
                occurred_at=utcnow() - timedelta(days=days),
            )
        )
        db.session.commit()


def test_retention_removes_personal_data_and_keeps_statistics(app, client):
    send_application(client, app)
    other = app.test_client()
    send_application(other, app, "nadia@example.org")
    decide_long_ago(app, "amina@example.org", Status.REFUSED, 400)
    decide_long_ago(app, "nadia@example.org", Status.APPROVED, 100)
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["retention", "--dry-run"])
    assert "applications due: 1, documents: 2" in dry.output, dry.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Document)) == 4

    done = runner.invoke(args=["retention"])
    assert "applications anonymised: 1, documents: 2, accounts closed: 1" in done.output
    assert "applications anonymised: 0" in runner.invoke(args=["retention"]).output
    with app.app_context():
        assert application_of(app, "amina@example.org") is None, "no account has her address"
        anonymised = db.session.scalar(
            select(Application).where(Application.anonymised_at.is_not(None))
        )
        assert anonymised.answers == {"statistics": {"nationality": "SY", "applicant_type": "main"}}
        assert anonymised.reference and anonymised.status == Status.REFUSED.value
        owner = db.session.get(User, anonymised.applicant_id)
        assert owner.email is None and owner.password_hash is None and not owner.active
        assert db.session.scalar(select(func.count()).select_from(Document)) == 2
        recipients = set(db.session.scalars(select(Notification.recipient)))
        # Both test applicants gave the same contact details: Nadia still applies, so the
        # delivery records of those stay; Amina's account address alone is gone.
        assert "amina@example.org" in recipients and "+33612345678" in recipients
        actions = list(db.session.scalars(select(AuditEvent.action)))
    assert actions.count("retention.anonymised") == 1 and "retention.dry_run" in actions
