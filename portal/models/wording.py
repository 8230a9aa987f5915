"""Reports from readers that the words of a page are wrong or hard to understand."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, HasCreatedAt, HasId


class WordingProblem(enum.StrEnum):
    HARD_TO_UNDERSTAND = "hard_to_understand"
    WRONG_MEANING = "wrong_meaning"
    SPELLING_OR_GRAMMAR = "spelling_or_grammar"
    NOT_MY_LANGUAGE = "not_my_language"
    OTHER = "other"


_PROBLEMS = ", ".join(f"'{problem.value}'" for problem in WordingProblem)


class WordingReport(HasId, HasCreatedAt, Base):
    """One reader's report on one page in one language.

    Nobody is named: there is no user id, address or contact detail, so that anyone can report,
    signed in or not, without giving anything about themselves. The page is a portal path whose
    tokens and object ids were replaced by their names (see portal.wording.pages); it is empty
    when the reader came without one. Staff mark a report dealt with once the words are corrected
    or judged right; who did so is a staff account, kept for the team's follow-up.
    """

    __tablename__ = "wording_reports"
    __table_args__ = (
        CheckConstraint(f"problem IN ({_PROBLEMS})", name="problem_known"),
        Index("ix_wording_reports_locale_page", "locale", "page"),
    )

    locale: Mapped[str] = mapped_column(String(8))
    page: Mapped[str | None] = mapped_column(String(300))
    problem: Mapped[str] = mapped_column(String(30))
    details: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str | None] = mapped_column(Text)
    dealt_with_at: Mapped[datetime | None]
    dealt_with_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
