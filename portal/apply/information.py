"""The applicant's answer to a request for more information: words, files, or both.

Files go through the documents' own upload (scan, cleaning, private storage, quarantine until a
scanner passes them) and are tied to the request; the answer closes the request and sends the
application back to the checking queue in one transaction, under the same lock as the uploads,
so a file either belongs to the answer the caseworker reads or was refused.
"""

from __future__ import annotations

import uuid
from typing import BinaryIO

from sqlalchemy import select

from portal.apply import lifecycle
from portal.documents import services as documents
from portal.extensions import db
from portal.models import (
    Application,
    Document,
    DocumentKind,
    InformationRequest,
    Status,
    User,
    utcnow,
)
from portal.queue import outbox
from portal.transactions import transactional

# The kind of file that answers each topic a caseworker can ask about.
KIND_FOR_TOPIC: dict[str, DocumentKind] = {
    "identity_document": DocumentKind.IDENTITY,
    "face_photo": DocumentKind.PHOTO,
    "relationship": DocumentKind.RELATIONSHIP,
}


class NothingToSend(Exception):
    """Neither words nor a file: there is no answer yet."""


def kinds_for(request: InformationRequest) -> list[DocumentKind]:
    """What a file sent with this request can be, in the order the topics were asked."""
    kinds: list[DocumentKind] = []
    for topic in request.topics:
        kind = KIND_FOR_TOPIC.get(topic, DocumentKind.OTHER)
        if kind not in kinds:
            kinds.append(kind)
    return kinds


def add_file(
    application: Application,
    request: InformationRequest,
    uploader: User,
    kind: DocumentKind,
    name: str,
    stream: BinaryIO,
    key: uuid.UUID | None = None,
) -> Document:
    """One file for the answer; raises documents.Refused (with the reason) and keeps nothing.
    The same `key` sent again (a retry after a dropped connection) answers with the first file."""
    if kind not in kinds_for(request):
        raise documents.Refused("wrong_kind")
    return documents.upload(
        application, uploader, documents.Upload(kind, None, name, stream, key), request=request
    )


@transactional
def answer(
    application: Application, request: InformationRequest, applicant: User, text: str
) -> None:
    """Close the request with the words and the files added so far, and put the application back
    in the checking queue; raises NothingToSend, or documents.Refused if the request closed."""
    lifecycle.permit(application, lifecycle.Action.ANSWER_REQUEST)
    documents.lock_open_request(application, request)
    if not text.strip() and not documents.files_of_request(request):
        raise NothingToSend
    now = utcnow()
    request.answer = text.strip()
    request.answered_at = now
    lifecycle.transition(
        application, Status.SUBMITTED, actor_id=applicant.id, reason="information provided"
    )
    outbox.enqueue(application, outbox.INFORMATION_PROVIDED, now)


def open_request(application: Application) -> InformationRequest | None:
    """The request the application waits on, if any (the newest unanswered)."""
    return db.session.scalar(
        select(InformationRequest)
        .where(
            InformationRequest.application_id == application.id,
            InformationRequest.answered_at.is_(None),
        )
        .order_by(InformationRequest.requested_at.desc())
    )


def requests_of(application: Application) -> list[InformationRequest]:
    """Every request made about the application, oldest first."""
    return list(
        db.session.scalars(
            select(InformationRequest)
            .where(InformationRequest.application_id == application.id)
            .order_by(InformationRequest.requested_at)
        )
    )


def open_request_of(application: Application | None) -> InformationRequest | None:
    """The request an applicant may answer now, if their application is waiting on one."""
    if application is None or application.status_enum is not Status.MORE_INFORMATION:
        return None
    return open_request(application)
