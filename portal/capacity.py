"""Scheduled scale-out before an application window opens (`flask --app portal plan-capacity`).

Target tracking reacts to load it already sees: a task takes one to two minutes to start and pass
its readiness check, and the first minutes of a window are its steepest (everyone told the time
arrives at once). So the windows admins store in the database drive the portal's floor: a
scheduled job reads the windows still to come and keeps one pair of Application Auto Scaling
scheduled actions per surge - raise the minimum number of tasks LEAD before the opening, bring it
back down SURGE hours after - on the portal service's scalable target. Target tracking still
scales above the floor, up to the maximum.

Idempotent: the actions are named after their surge, an action already as planned is left alone,
and actions of surges no longer planned (a window deleted, moved or closed early) are deleted. The
docs are docs/capacity.md (the numbers) and README.md (the settings).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from sqlalchemy import select

from portal.config import PortalConfig
from portal.extensions import db
from portal.models import ApplicationWindow

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
# Every action this command owns starts with this: others on the same target are never touched.
PREFIX = "portal-window-"
_AT = "%Y-%m-%dT%H:%M:%S"
# A raise whose planned moment has passed (a window created or moved at short notice) is put this
# far ahead instead: Application Auto Scaling never runs an at() in the past.
CATCH_UP = timedelta(minutes=2)


@dataclass(frozen=True)
class Action:
    """One scheduled action as Application Auto Scaling holds it (times in UTC)."""

    name: str
    at: datetime
    min_capacity: int
    max_capacity: int

    @property
    def schedule(self) -> str:
        return f"at({self.at.astimezone(UTC).strftime(_AT)})"


@dataclass(frozen=True)
class Plan:
    """What one run did: actions put (new or changed), left as they were, and deleted."""

    put: tuple[Action, ...]
    kept: tuple[str, ...]
    deleted: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    resource_id: str
    base_min: int
    window_min: int
    max_tasks: int
    lead: timedelta
    surge: timedelta

    @classmethod
    def of(cls, config: PortalConfig) -> Settings:
        return cls(
            resource_id=config.CAPACITY_RESOURCE_ID,
            base_min=config.CAPACITY_BASE_MIN_TASKS,
            window_min=config.CAPACITY_WINDOW_MIN_TASKS,
            max_tasks=config.CAPACITY_MAX_TASKS,
            lead=timedelta(minutes=config.CAPACITY_LEAD_MINUTES),
            surge=timedelta(hours=config.CAPACITY_SURGE_HOURS),
        )


def surges(
    windows: Iterable[ApplicationWindow], settings: Settings, now: datetime
) -> list[tuple[datetime, datetime]]:
    """(raise, lower) times of the surges still to come or under way, overlapping ones merged:
    two windows opening an hour apart make one raised period, never a lower in the middle. A
    window that closes before its surge would end lowers the floor at its closing."""
    spans = []
    for window in windows:
        opens, closes = _utc(window.opens_at), _utc(window.closes_at)
        end = min(opens + settings.surge, closes)
        if end > now:
            spans.append((_minute(opens - settings.lead), _minute(end)))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def desired(
    windows: Iterable[ApplicationWindow],
    settings: Settings,
    now: datetime,
    existing: dict[str, Action],
) -> list[Action]:
    """The actions the windows call for now. A surge is named by its end (the lower), which
    does not move when a raise has to catch up."""
    actions = []
    for start, end in surges(windows, settings, now):
        key = f"{PREFIX}{end.strftime('%Y%m%dT%H%MZ')}"
        raise_name = f"{key}-raise"
        if start > now:
            raise_at = start
        elif raise_name in existing:
            # Planned in time and run already, or caught up by an earlier run: keep it as it is.
            raise_at = existing[raise_name].at
        else:
            raise_at = _minute(now + CATCH_UP)
        actions.append(Action(raise_name, raise_at, settings.window_min, settings.max_tasks))
        actions.append(Action(f"{key}-lower", end, settings.base_min, settings.max_tasks))
    return actions


class CapacityPlanner:
    """Reads and writes the portal service's scheduled actions."""

    def __init__(
        self, settings: Settings, region: str, endpoint_url: str = "", client: Any = None
    ) -> None:
        self.settings = settings
        self._client = client or boto3.session.Session().client(
            "application-autoscaling",
            region_name=region,
            endpoint_url=endpoint_url or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5),
        )

    def existing(self) -> dict[str, Action]:
        """This command's actions on the target (others' are left out, and left alone)."""
        found = {}
        pages = self._client.get_paginator("describe_scheduled_actions").paginate(
            ServiceNamespace=NAMESPACE,
            ResourceId=self.settings.resource_id,
            ScalableDimension=DIMENSION,
        )
        for page in pages:
            for item in page["ScheduledActions"]:
                name = item["ScheduledActionName"]
                if not name.startswith(PREFIX):
                    continue
                target = item.get("ScalableTargetAction", {})
                found[name] = Action(
                    name,
                    _parse_at(item["Schedule"]),
                    target.get("MinCapacity", -1),
                    target.get("MaxCapacity", -1),
                )
        return found

    def put_action(self, action: Action) -> None:
        self._client.put_scheduled_action(
            ServiceNamespace=NAMESPACE,
            ResourceId=self.settings.resource_id,
            ScalableDimension=DIMENSION,
            ScheduledActionName=action.name,
            Schedule=action.schedule,
            Timezone="UTC",
            ScalableTargetAction={
                "MinCapacity": action.min_capacity,
                "MaxCapacity": action.max_capacity,
            },
        )

    def delete_action(self, name: str) -> None:
        self._client.delete_scheduled_action(
            ServiceNamespace=NAMESPACE,
            ResourceId=self.settings.resource_id,
            ScalableDimension=DIMENSION,
            ScheduledActionName=name,
        )

    def apply(self, windows: Sequence[ApplicationWindow], now: datetime) -> Plan:
        existing = self.existing()
        wanted = desired(windows, self.settings, now, existing)
        put, kept = [], []
        for action in wanted:
            if existing.get(action.name) == action:
                kept.append(action.name)
            else:
                self.put_action(action)
                put.append(action)
        names = {action.name for action in wanted}
        stale = sorted(set(existing) - names)
        for name in stale:
            self.delete_action(name)

        # A surge that was raised and is no longer planned (its window deleted or closed) would
        # leave the floor high: bring it down now, unless another surge is under way.
        def left_raised(name: str) -> bool:
            if not name.endswith("-raise") or existing[name].at > now:
                return False
            lower = existing.get(name.removesuffix("-raise") + "-lower")
            return lower is None or lower.at > now

        under_way = any(a.name.endswith("-raise") and a.at <= now for a in wanted)
        if any(left_raised(name) for name in stale) and not under_way:
            settle = Action(
                f"{PREFIX}settle-{now.strftime('%Y%m%dT%H%MZ')}-lower",
                _minute(now + CATCH_UP),
                self.settings.base_min,
                self.settings.max_tasks,
            )
            self.put_action(settle)
            put.append(settle)
        return Plan(tuple(put), tuple(kept), tuple(stale))


def upcoming_windows(now: datetime, settings: Settings) -> list[ApplicationWindow]:
    """Windows whose surge may not be over: opening from a surge's length ago onwards."""
    return list(
        db.session.scalars(
            select(ApplicationWindow)
            .where(
                ApplicationWindow.opens_at > now - settings.surge,
                ApplicationWindow.closes_at > now,
            )
            .order_by(ApplicationWindow.opens_at)
        )
    )


def plan_capacity(config: PortalConfig, now: datetime, client: Any = None) -> Plan | None:
    """Bring the scheduled actions in line with the windows; None when no target is configured
    (development, Compose: nothing to scale)."""
    settings = Settings.of(config)
    if not settings.resource_id:
        return None
    planner = CapacityPlanner(
        settings, config.CAPACITY_REGION, config.CAPACITY_ENDPOINT_URL, client=client
    )
    return planner.apply(upcoming_windows(now, settings), now)


def _minute(moment: datetime) -> datetime:
    """Whole minutes: an at() expression holds no fraction of a second, and what was put must
    read back equal, or every run would put it again."""
    return moment.replace(second=0, microsecond=0)


def _utc(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite gives them back without their zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_at(schedule: str) -> datetime:
    """The moment of an at() expression; anything else (a cron action someone named with this
    command's prefix) is given the epoch, so it never equals a planned action and is replaced."""
    if schedule.startswith("at(") and schedule.endswith(")"):
        return datetime.strptime(schedule[3:-1], _AT).replace(tzinfo=UTC)
    return datetime(1970, 1, 1, tzinfo=UTC)
