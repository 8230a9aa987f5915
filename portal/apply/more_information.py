"""The page answering a request for more information, shown by apply's routes (the words) and by
documents' routes (the files added to the answer)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from portal.apply import decisions, information
from portal.apply.forms import InformationAnswerForm
from portal.documents import services as document_services
from portal.documents.content import TITLES as DOCUMENT_TITLES
from portal.documents.forms import RequestFileForm
from portal.forms import ConfirmForm
from portal.models import Application, DocumentKind, InformationRequest


def render_more_information(
    application: Application,
    request_: InformationRequest,
    answer_form: InformationAnswerForm,
    file_form: RequestFileForm | None,
) -> Any:
    """The request, the files added to the answer so far, a file form and the answer's words."""
    if file_form is None:
        file_form = RequestFileForm(formdata=None)
    kinds = information.kinds_for(request_)
    file_form.kind.choices = [(kind.value, document_kind_title(kind.value)) for kind in kinds]
    files = document_services.files_of_request(request_)
    status = 400 if answer_form.errors or file_form.errors else 200
    return render_template(
        "apply/more_information.html",
        form=answer_form,
        file_form=file_form,
        one_kind=kinds[0].value if len(kinds) == 1 else None,
        files=files,
        may_add=len(files) < document_services.REQUEST_MAX_FILES,
        remove_form=ConfirmForm(formdata=None),
        application=application,
        request=request_,
        topics=decisions.INFORMATION_TOPICS,
    ), status


def document_kind_title(kind: str) -> str:
    return str(DOCUMENT_TITLES[DocumentKind(kind)])
