"""What caseworkers do, as plain functions: claim, check, decide, search, export.

A decision is only accepted from the caseworker who holds the application's queue item under a
live lease, so two caseworkers never decide the same application; the decision, its family
group's consequences and the item's completion commit in one transaction.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from portal import audit
from portal.apply import lifecycle
from portal.apply.answers import ApplicationAnswers, column
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
from portal.apply.references import InvalidReference, parse_reference
from portal.extensions import db
from portal.models import (
    Application,
    CheckName,
    CheckOutcome,
    CheckRecord,
    InformationRequest,
    QueueItem,
    ReturnedPerson,
    Status,
    StatusChange,
    User,
    utcnow,
)
from portal.notify.applicants import tell_applicant
from portal.queue.backends import CheckingQueue, Claim, checking_queue
from portal.returns import services as returns
from portal.returns.matching import normalise_document_number
from portal.transactions import transactional

FINAL = lifecycle.FINAL


class NotHeld(Exception):
    """The caseworker does not hold this application's queue item (lease over, or never claimed)."""

    def __init__(self) -> None:
        super().__init__("You no longer hold this application. Claim it from the queue.")


class DecisionRefused(Exception):
    """The decision breaks a rule of the scheme; the message says which, for the caseworker."""


CHANGED_MEANWHILE = "Nothing was changed: the application changed meanwhile. Open it again."


def held_item(application: Application, worker: User) -> QueueItem | None:
    """The queue item this worker holds for the application, if its lease is still running."""
    return db.session.scalar(
        select(QueueItem).where(
            QueueItem.application_id == application.id,
            QueueItem.claimed_by_id == worker.id,
            QueueItem.completed_at.is_(None),
            QueueItem.dead_lettered_at.is_(None),
            QueueItem.available_at > utcnow(),
        )
    )


def claim_next(worker: User) -> Application | None:
    """Claim the next application to check. Items whose application moved on meanwhile (withdrawn,
    already decided) are completed and skipped: a message delivered twice is processed once."""
    queue = checking_queue()
    while (claim := queue.claim(worker.id)) is not None:
        application = db.session.get(Application, claim.application_id)
        if application is not None and _start_checks(application, worker, claim):
            return application
        if _skip(queue, claim, worker):
            queue.acknowledge(claim.item_id)
    return None


@transactional
def _skip(queue: CheckingQueue, claim: Claim, worker: User) -> bool:
    """Complete an item whose application moved on, committed before SQS is told."""
    return queue.complete(claim.item_id, worker.id)


@transactional
def _start_checks(application: Application, worker: User, claim: Claim) -> bool:
    status = application.status_enum
    if status is Status.IN_CHECKS:
        return True
    if status is not Status.SUBMITTED:
        return False
    try:
        lifecycle.transition(
            application, Status.IN_CHECKS, actor_id=worker.id, reason="claimed from the queue"
        )
    except lifecycle.IllegalTransition:
        db.session.rollback()
        return False
    audit.record(
        "queue_item_claimed",
        subject_type="application",
        subject_id=application.id,
        item=str(claim.item_id),
    )
    return True


def keep_working(application: Application, worker: User) -> datetime | None:
    """Extend the worker's lease while they work on the application."""
    item = held_item(application, worker)
    if item is None:
        return None
    return checking_queue().extend(item.id, worker.id)


@transactional
def release(application: Application, worker: User) -> bool:
    """Give the application back to the queue, unchanged, for someone else to check."""
    item = held_item(application, worker)
    if item is None:
        return False
    if application.status_enum is Status.IN_CHECKS:
        lifecycle.transition(
            application, Status.SUBMITTED, actor_id=worker.id, reason="released to the queue"
        )
    return checking_queue().release(item.id, worker.id)


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


def search(text: str, limit: int = 50) -> list[Application]:
    """Sent applications by reference, name, date of birth (YYYY-MM-DD) or document number."""
    text = text.strip()
    if not text:
        return []
    query = select(Application).where(Application.status != Status.DRAFT.value)
    try:
        reference = parse_reference(text)
    except InvalidReference:
        reference = None
    document = normalise_document_number(text)
    pattern = f"%{text.lower()}%"
    given, family = column("given_names"), column("family_name")
    conditions = [
        func.lower(given).like(pattern),
        func.lower(family).like(pattern),
        func.lower(func.coalesce(given, "") + " " + func.coalesce(family, "")).like(pattern),
        column("date_of_birth") == text,
    ]
    if reference:
        conditions.append(Application.reference == reference)
    if document:
        conditions.append(returns.has_document_number(document))
    query = query.where(or_(*conditions)).order_by(Application.submitted_at.desc()).limit(limit)
    return list(db.session.scalars(query))


DECIDED = (
    Status.INVITED_TO_BIOMETRICS,
    Status.MORE_INFORMATION,
    Status.INVALID,
    Status.INELIGIBLE,
    Status.APPROVED,
    Status.REFUSED,
)


def decisions_csv() -> str:
    """Every decision for reporting: references, nationality, decision, rule, when, by whom.
    No names, dates of birth or contact details."""
    rows = db.session.execute(
        select(
            Application.reference,
            Application.answers,
            StatusChange.to_status,
            StatusChange.reason,
            StatusChange.occurred_at,
            User.email,
        )
        .join(StatusChange, StatusChange.application_id == Application.id)
        .outerjoin(User, User.id == StatusChange.actor_id)
        .where(StatusChange.to_status.in_([s.value for s in DECIDED]))
        .order_by(StatusChange.occurred_at)
    )
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(
        ["reference", "nationality", "decision", "rule", "decided_at_utc", "decided_by"]
    )
    for reference, answers, status, reason, occurred_at, email in rows:
        rule = reason.partition(":")[2] if reason and ":" in reason else ""
        writer.writerow(
            [
                reference,
                ApplicationAnswers(answers or {}).nationality or "",
                status,
                rule,
                occurred_at.isoformat(timespec="seconds"),
                email or "",
            ]
        )
    return output.getvalue()


def application_by_id(application_id: str) -> Application | None:
    try:
        key = uuid.UUID(application_id)
    except ValueError:
        return None
    application = db.session.get(Application, key)
    if application is None or application.status_enum is Status.DRAFT:
        return None
    return application
