"""plan-capacity: the application windows in the database drive the web service's scheduled
scale-out, through Application Auto Scaling on a moto server over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from flask import Flask

from portal import capacity, create_app
from portal.extensions import db
from portal.models import ApplicationWindow
from tests.moto_server import REGION, moto_server, reset_moto  # noqa: F401

RESOURCE = "service/portal-cluster/portal-web"
OPENS = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
BEFORE = OPENS - timedelta(days=2)


def client(endpoint: str, service: str):
    return boto3.session.Session().client(service, region_name=REGION, endpoint_url=endpoint)


@pytest.fixture
def scaling(moto_server: str) -> Iterator[object]:  # noqa: F811
    """The web service and its scalable target (2 to 24 tasks), as the template makes them."""
    reset_moto(moto_server)
    ecs = client(moto_server, "ecs")
    ecs.create_cluster(clusterName="portal-cluster")
    ecs.register_task_definition(
        family="portal", containerDefinitions=[{"name": "portal", "image": "portal", "memory": 512}]
    )
    ecs.create_service(
        cluster="portal-cluster", serviceName="portal-web", taskDefinition="portal", desiredCount=2
    )
    autoscaling = client(moto_server, "application-autoscaling")
    autoscaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=RESOURCE,
        ScalableDimension=capacity.DIMENSION,
        MinCapacity=2,
        MaxCapacity=24,
    )
    return autoscaling


@pytest.fixture
def planned_app(config, moto_server: str, scaling) -> Iterator[Flask]:  # noqa: F811
    config.CAPACITY_RESOURCE_ID = RESOURCE
    config.CAPACITY_ENDPOINT_URL = moto_server
    config.CAPACITY_REGION = REGION
    config.CAPACITY_BASE_MIN_TASKS = 2
    config.CAPACITY_WINDOW_MIN_TASKS = 10
    config.CAPACITY_MAX_TASKS = 24
    config.CAPACITY_LEAD_MINUTES = 30
    config.CAPACITY_SURGE_HOURS = 3
    application = create_app(config)
    yield application
    with application.app_context():
        db.engine.dispose()


def add_window(app: Flask, opens: datetime, hours: int = 48, name: str = "March") -> object:
    with app.app_context():
        window = ApplicationWindow(
            name=name, opens_at=opens, closes_at=opens + timedelta(hours=hours), places=5000
        )
        db.session.add(window)
        db.session.commit()
        return window.id


def plan(app: Flask, now: datetime) -> capacity.Plan:
    with app.app_context():
        found = capacity.plan_capacity(app.config["PORTAL"], now)
    assert found is not None
    return found


def actions(scaling) -> dict[str, tuple[str, int, int]]:
    """What Application Auto Scaling holds: name -> (schedule, min, max)."""
    found = scaling.describe_scheduled_actions(
        ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension=capacity.DIMENSION
    )["ScheduledActions"]
    return {
        a["ScheduledActionName"]: (
            a["Schedule"],
            a["ScalableTargetAction"]["MinCapacity"],
            a["ScalableTargetAction"]["MaxCapacity"],
        )
        for a in found
    }


def test_a_window_raises_the_floor_before_it_opens_and_lowers_it_after_the_surge(
    planned_app, scaling
):
    add_window(planned_app, OPENS)
    done = plan(planned_app, BEFORE)
    assert len(done.put) == 2
    assert actions(scaling) == {
        "portal-window-20270301T1200Z-raise": ("at(2027-03-01T08:30:00)", 10, 24),
        "portal-window-20270301T1200Z-lower": ("at(2027-03-01T12:00:00)", 2, 24),
    }
    for held in scaling.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]:
        assert held.get("Timezone") in ("UTC", None)


def test_running_again_changes_nothing(planned_app, scaling):
    add_window(planned_app, OPENS)
    plan(planned_app, BEFORE)
    held = actions(scaling)
    again = plan(planned_app, BEFORE + timedelta(minutes=15))
    assert again.put == () and again.deleted == ()
    assert len(again.kept) == 2
    assert actions(scaling) == held


def test_the_command_runs_from_the_cli_and_says_what_it_did(planned_app, scaling):
    add_window(planned_app, datetime.now(UTC) + timedelta(days=3))
    result = planned_app.test_cli_runner().invoke(args=["plan-capacity"])
    assert result.exit_code == 0, result.output
    assert "2 put, 0 unchanged, 0 deleted" in result.output
    result = planned_app.test_cli_runner().invoke(args=["plan-capacity"])
    assert "0 put, 2 unchanged, 0 deleted" in result.output
    assert len(actions(scaling)) == 2


def test_a_moved_window_moves_its_actions_and_leaves_none_behind(planned_app, scaling):
    window_id = add_window(planned_app, OPENS)
    plan(planned_app, BEFORE)
    with planned_app.app_context():
        window = db.session.get(ApplicationWindow, window_id)
        window.opens_at = OPENS + timedelta(days=1)
        window.closes_at = OPENS + timedelta(days=3)
        db.session.commit()
    done = plan(planned_app, BEFORE)
    assert set(done.deleted) == {
        "portal-window-20270301T1200Z-raise",
        "portal-window-20270301T1200Z-lower",
    }
    assert actions(scaling) == {
        "portal-window-20270302T1200Z-raise": ("at(2027-03-02T08:30:00)", 10, 24),
        "portal-window-20270302T1200Z-lower": ("at(2027-03-02T12:00:00)", 2, 24),
    }


def test_overlapping_windows_share_one_raised_period(planned_app, scaling):
    add_window(planned_app, OPENS, name="Adults")
    add_window(planned_app, OPENS + timedelta(hours=2), name="Families")
    add_window(planned_app, OPENS + timedelta(days=7), name="April")
    plan(planned_app, BEFORE)
    assert actions(scaling) == {
        # 08:30 to 14:00: never lowered at 12:00 while the second window's surge runs.
        "portal-window-20270301T1400Z-raise": ("at(2027-03-01T08:30:00)", 10, 24),
        "portal-window-20270301T1400Z-lower": ("at(2027-03-01T14:00:00)", 2, 24),
        "portal-window-20270308T1200Z-raise": ("at(2027-03-08T08:30:00)", 10, 24),
        "portal-window-20270308T1200Z-lower": ("at(2027-03-08T12:00:00)", 2, 24),
    }


def test_a_window_announced_at_short_notice_is_raised_at_once_and_not_pushed_back(
    planned_app, scaling
):
    add_window(planned_app, OPENS)
    now = OPENS - timedelta(minutes=10)
    plan(planned_app, now)
    assert actions(scaling)["portal-window-20270301T1200Z-raise"] == (
        "at(2027-03-01T08:52:00)",
        10,
        24,
    )
    # Fifteen minutes on, the raise has run: it stays where it was, not two minutes ahead again.
    again = plan(planned_app, now + timedelta(minutes=15))
    assert again.put == ()
    assert actions(scaling)["portal-window-20270301T1200Z-raise"][0] == "at(2027-03-01T08:52:00)"


def test_a_window_closed_during_its_surge_brings_the_floor_down(planned_app, scaling):
    window_id = add_window(planned_app, OPENS)
    plan(planned_app, BEFORE)
    during = OPENS + timedelta(hours=1)
    with planned_app.app_context():
        window = db.session.get(ApplicationWindow, window_id)
        window.closes_at = during - timedelta(minutes=5)
        db.session.commit()
    done = plan(planned_app, during)
    held = actions(scaling)
    assert set(held) == {"portal-window-settle-20270301T1000Z-lower"}
    assert held["portal-window-settle-20270301T1000Z-lower"] == ("at(2027-03-01T10:02:00)", 2, 24)
    assert len(done.deleted) == 2
    # After the surge's planned end, a window that simply ran its course leaves nothing behind.
    plan(planned_app, OPENS + timedelta(hours=4))
    assert actions(scaling) == {}


def test_a_surge_that_ran_its_course_is_cleaned_up_without_lowering_again(planned_app, scaling):
    add_window(planned_app, OPENS)
    plan(planned_app, BEFORE)
    done = plan(planned_app, OPENS + timedelta(hours=3, minutes=10))
    assert done.put == ()
    assert actions(scaling) == {}


def test_actions_of_others_on_the_target_are_left_alone(planned_app, scaling):
    scaling.put_scheduled_action(
        ServiceNamespace="ecs",
        ResourceId=RESOURCE,
        ScalableDimension=capacity.DIMENSION,
        ScheduledActionName="night-floor",
        Schedule="cron(0 22 * * ? *)",
        ScalableTargetAction={"MinCapacity": 2, "MaxCapacity": 24},
    )
    add_window(planned_app, OPENS)
    plan(planned_app, BEFORE)
    plan(planned_app, OPENS + timedelta(hours=5))
    assert set(actions(scaling)) == {"night-floor"}


def test_without_a_scalable_target_the_command_says_so_and_calls_nothing(app):
    result = app.test_cli_runner().invoke(args=["plan-capacity"])
    assert result.exit_code == 0
    assert "PORTAL_CAPACITY_RESOURCE_ID is not set" in result.output
