"""The flask commands that set up a database and its accounts."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import User


def test_seed_demo_is_idempotent_and_prints_the_accounts(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    second = runner.invoke(args=["seed-demo"])
    assert first.exit_code == second.exit_code == 0
    for email in ("caseworker@example.org", "admin@example.org", "support@example.org"):
        assert email in first.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 4


def test_create_user_with_role(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-user", "--email", "Nadia@Example.org", "--role", "caseworker"],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "nadia@example.org"))
        assert user.role == "caseworker" and user.email_verified_at is not None


def test_create_user_refuses_a_weak_password_and_a_duplicate(app):
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=["create-user", "--email", "a@example.org"], input="password\npassword\n"
    )
    assert weak.exit_code != 0 and "common" in weak.output
    runner.invoke(args=["create-user", "--email", "a@example.org"], input="long password ok\n" * 2)
    again = runner.invoke(
        args=["create-user", "--email", "a@example.org"], input="long password ok\n" * 2
    )
    assert again.exit_code != 0 and "already exists" in again.output


def test_init_db_on_a_migrated_database_changes_nothing(app):
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0 and "latest migration" in result.output
