"""Family groups: the main applicant's family reference, which adult family members apply with."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import FamilyGroup


def family_group_for(reference: str) -> FamilyGroup | None:
    return db.session.scalar(select(FamilyGroup).where(FamilyGroup.reference == reference))
