"""What caseworkers decide: checks, decisions, final decisions and the parity they respect.

A decision is only accepted from the caseworker who holds the application's queue item under a
live lease, so two caseworkers never decide the same application; the decision, its family
group's consequences and the item's completion commit in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from portal import audit
from portal.apply import lifecycle
from portal.apply.decisions import (
    FAMILY_GROUP,
    INELIGIBLE_RULES,
    INFORMATION_TOPICS,
    INVALID_RULES,
    REFUSAL_RULES,
    Decision,
    FinalDecision,
    reason_code,
)
from portal.backoffice.claims import NotHeld, held_item
from portal.extensions import db
from portal.models import (
    Application,
    CheckName,
    CheckOutcome,
    CheckRecord,
    InformationRequest,
    ReturnedPerson,
    Status,
    User,
)
from portal.notify.applicants import tell_applicant
from portal.queue.backends import checking_queue
from portal.transactions import transactional

FINAL = lifecycle.FINAL


class DecisionRefused(Exception):
    """The decision breaks a rule of the scheme; the message says which, for the caseworker."""


CHANGED_MEANWHILE = "Nothing was changed: the application changed meanwhile. Open it again."


@transactional
def record_check(
    application: Application, worker: User, check: CheckName, outcome: CheckOutcome, note: str
) -> CheckRecord:
    """Record a finding, only while checking an application the worker holds (raises
    lifecycle.NotNow, or NotHeld; nothing is written then)."""
    lifecycle.permit(application, lifecycle.Action.RECORD_CHECK)
    if held_item(application, worker) is None:
        raise NotHeld
    record = CheckRecord(
        application_id=application.id,
        check=check.value,
        outcome=outcome.value,
        note=note.strip(),
        recorded_by_id=worker.id,
    )
    db.session.add(record)
    audit.record(
        "check_recorded",
        subject_type="application",
        subject_id=application.id,
        check=check.value,
        outcome=outcome.value,
    )
    return record


def current_checks(application: Application) -> dict[str, CheckRecord]:
    records = db.session.scalars(
        select(CheckRecord)
        .where(CheckRecord.application_id == application.id)
        .order_by(CheckRecord.recorded_at)
    )
    return {record.check: record for record in records}


def group_of(application: Application) -> list[Application]:
    """The application and the others in its family group, main applicant first."""
    if application.family_group is None:
        return [application]
    return list(application.family_group.applications)


def decide(
    application: Application,
    worker: User,
    decision: Decision,
    *,
    rule: str = "",
    topics: Iterable[str] = (),
    note: str = "",
) -> list[Application]:
    """Record the caseworker's decision; returns the applications it changed.

    Not valid and not eligible take the whole family group with them, as the scheme decides a
    family group together; the others in the group are told with the family-group rule. The
    queue's message is acknowledged once the decision has committed.
    """
    changed, item_id = _decide(application, worker, decision, rule=rule, topics=topics, note=note)
    checking_queue().acknowledge(item_id)
    return changed


@transactional
def _decide(
    application: Application,
    worker: User,
    decision: Decision,
    *,
    rule: str,
    topics: Iterable[str],
    note: str,
) -> tuple[list[Application], uuid.UUID]:
    action = (
        lifecycle.Action.REQUEST_INFORMATION
        if decision is Decision.MORE_INFORMATION
        else lifecycle.Action.DECIDE
    )
    changed: list[Application] = []
    try:
        lifecycle.permit(application, action)
        item = held_item(application, worker)
        # The worker's own item is done first: a decision that finishes the application also
        # takes every other item of it out of the queue (see lifecycle.transition).
        if item is None or not checking_queue().complete(item.id, worker.id):
            raise NotHeld
        if decision is Decision.INVITE:
            _require_checks_passed(application)
            lifecycle.transition(
                application,
                Status.INVITED_TO_BIOMETRICS,
                actor_id=worker.id,
                reason=Decision.INVITE.value,
            )
            changed.append(application)
        elif decision is Decision.MORE_INFORMATION:
            chosen = [topic for topic in topics if topic in INFORMATION_TOPICS]
            if not chosen:
                raise DecisionRefused("Choose what the applicant must send.")
            db.session.add(
                InformationRequest(
                    application_id=application.id,
                    topics=chosen,
                    note=note.strip(),
                    requested_by_id=worker.id,
                )
            )
            lifecycle.transition(
                application,
                Status.MORE_INFORMATION,
                actor_id=worker.id,
                reason="more_information:" + ",".join(chosen),
            )
            changed.append(application)
        else:
            target = Status.INVALID if decision is Decision.INVALID else Status.INELIGIBLE
            rules = INVALID_RULES if target is Status.INVALID else INELIGIBLE_RULES
            if rule not in rules or rule == FAMILY_GROUP:
                raise DecisionRefused("Choose the rule that applies.")
            changed = _decide_group(application, worker, target, rule)
        if not changed:
            raise DecisionRefused("Nothing was changed: the decision applies to no application.")
        audit.record(
            "application_decided",
            subject_type="application",
            subject_id=application.id,
            decision=decision.value,
            rule=rule or None,
            applications=[str(a.id) for a in changed],
        )
        for changed_application in changed:
            _tell_applicant(changed_application)
    except lifecycle.NotNow as exc:
        raise DecisionRefused(str(exc)) from exc
    except lifecycle.IllegalTransition as exc:
        raise DecisionRefused(CHANGED_MEANWHILE) from exc
    return changed, item.id


def decision_recorded(application: Application, changed: list[Application]) -> str:
    """What the caseworker is told after a decision: each application it changed, as it is now
    (a family group's members are named one by one), and that their applicants were told."""
    described = []
    for member in changed:
        with_group = " (decided with the family group)" if member.id != application.id else ""
        status = member.status.replace("_", " ")
        described.append(f"{member.reference} is now {status}{with_group}")
    told = "Its applicant has" if len(changed) == 1 else "Their applicants have"
    return f"Decision recorded: {'; '.join(described)}. {told} been sent a message."


def _require_checks_passed(application: Application) -> None:
    checks = current_checks(application)
    needed = [c for c in CheckName if c is not CheckName.SECURITY]
    missing = [c.value for c in needed if checks.get(c.value) is None]
    failed = [c.value for c in needed if c.value in checks and checks[c.value].outcome != "passed"]
    if missing or failed:
        raise DecisionRefused(
            "Every check must be recorded as passed before inviting: "
            + ", ".join(missing + failed).replace("_", " ")
            + "."
        )


def _decide_group(
    application: Application, worker: User, target: Status, rule: str
) -> list[Application]:
    changed = []
    for member in group_of(application):
        if member.status_enum in FINAL or member.status_enum is Status.DRAFT:
            continue
        member_rule = rule if member.id == application.id else FAMILY_GROUP
        lifecycle.transition(
            member, target, actor_id=worker.id, reason=reason_code(target, member_rule)
        )
        changed.append(member)
    return changed


@transactional
def final_decision(
    application: Application,
    worker: User,
    decision: FinalDecision,
    *,
    security_outcome: CheckOutcome,
    rule: str = "",
    note: str = "",
) -> list[Application]:
    """After biometric enrolment: the security check and the final decision, for the whole group.

    Approval is refused when it would take approvals past the number of people returned to
    France (parity, the "one in, one out" of the scheme)."""
    try:
        lifecycle.permit(application, lifecycle.Action.FINAL_DECISION)
        _lock_parity()
        group = [
            member
            for member in group_of(application)
            if member.status_enum in (Status.BIOMETRICS_ENROLLED, Status.SECURITY_CHECKS)
        ]
        db.session.add(
            CheckRecord(
                application_id=application.id,
                check=CheckName.SECURITY.value,
                outcome=security_outcome.value,
                note=note.strip(),
                recorded_by_id=worker.id,
            )
        )
        if decision is FinalDecision.APPROVE:
            if security_outcome is not CheckOutcome.PASSED:
                raise DecisionRefused("Approval needs a passed security check.")
            parity = parity_now()
            if parity.approved + len(group) > parity.returned:
                raise DecisionRefused(
                    f"Approving {len(group)} would pass parity: {parity.approved} approved "
                    f"against {parity.returned} returned. Wait for more returns."
                )
            target, reason = Status.APPROVED, "approved"
        else:
            if rule not in REFUSAL_RULES or rule == FAMILY_GROUP:
                raise DecisionRefused("Choose the rule that applies.")
            target, reason = Status.REFUSED, reason_code(Status.REFUSED, rule)
        changed = []
        for member in group:
            if member.status_enum is Status.BIOMETRICS_ENROLLED:
                lifecycle.transition(
                    member, Status.SECURITY_CHECKS, actor_id=worker.id, reason="security checks"
                )
            member_reason = reason
            if target is Status.REFUSED and member.id != application.id:
                member_reason = reason_code(Status.REFUSED, FAMILY_GROUP)
            lifecycle.transition(member, target, actor_id=worker.id, reason=member_reason)
            changed.append(member)
        audit.record(
            "final_decision",
            subject_type="application",
            subject_id=application.id,
            decision=decision.value,
            rule=rule or None,
            applications=[str(a.id) for a in changed],
        )
        for member in changed:
            _tell_applicant(member)
    except lifecycle.NotNow as exc:
        raise DecisionRefused(str(exc)) from exc
    except lifecycle.IllegalTransition as exc:
        raise DecisionRefused(CHANGED_MEANWHILE) from exc
    return changed


def _lock_parity() -> None:
    """Serialise approvals, so that two at once cannot both squeeze under parity. SQLite
    serialises writers by itself."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(0x504152495459)))


@dataclass(frozen=True)
class Parity:
    returned: int
    approved: int

    @property
    def places(self) -> int:
        return max(self.returned - self.approved, 0)


def parity_now() -> Parity:
    returned = db.session.scalar(select(func.count()).select_from(ReturnedPerson)) or 0
    approved = (
        db.session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.status == Status.APPROVED.value)
        )
        or 0
    )
    return Parity(returned, approved)


def _tell_applicant(application: Application) -> None:
    """A short message in the applicant's language: there is news, sign in to read it. The news
    itself stays behind the sign-in, away from shared phones and inboxes."""
    tell_applicant(application, "application_updated")
