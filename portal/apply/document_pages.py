"""The applicant's documents pages: the list, adding and replacing a file, removing one, reading
one back, and the files added to an answer to a request for more information.

They are pages of the applicant's journey, so they live in apply/ beside the access helpers that
wrap every applicant page (apply.access) and the more-information page they add files to; the
blueprint keeps its name, `documents`, so their endpoints and addresses are unchanged. Stored
files are read back only through portal.documents.serving; the caseworker's view of a file is in
documents.routes.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from portal.apply import information
from portal.apply.access import applicant_view, draft_view
from portal.apply.forms import InformationAnswerForm
from portal.apply.information import open_request_of
from portal.apply.more_information import render_more_information
from portal.documents import services
from portal.documents.services import IdentityUploadForm, RequestFileForm, UploadForm
from portal.forms import ConfirmForm
from portal.i18n import isolate_text
from portal.metrics import UPLOAD_REJECTIONS
from portal.models import Application, Document, DocumentKind, ScanResult
from portal.security import form_page

logger = logging.getLogger(__name__)

documents = Blueprint("documents", __name__)


@documents.app_template_global()
def document_kind_title(kind: str) -> str:
    return str(services.TITLES[DocumentKind(kind)])


@documents.app_template_global()
def document_upload_heading(kind: str) -> str:
    return str(services.UPLOAD_HEADINGS[DocumentKind(kind)])


@documents.app_template_global()
def document_part_name(part: str | None) -> str:
    return str(services.PART_NAMES[part]) if part in services.PART_NAMES else ""


documents.add_app_template_global(services.file_size, "file_size")


@documents.route("/application/documents")
@draft_view
def overview(application: Application) -> Any:
    files = services.documents_of(application)
    counts = services.counts(files)
    missing = services.missing(application.answers, counts)
    show_missing = bool(request.args.get("missing")) and bool(missing)
    return render_template(
        "documents/overview.html",
        kinds=[
            {
                "kind": r.kind,
                "title": services.TITLES[r.kind],
                "hint": services.HINTS[r.kind],
                "required": r.required(application.answers),
                "files": [f for f in files if f.kind_enum is r.kind],
                "may_add": services.may_add(application.answers, r.kind, counts),
            }
            for r in services.shown_rules(application.answers)
        ],
        missing=missing if show_missing else [],
        remove_form=ConfirmForm(),
    )


@documents.route("/application/documents/<kind>/add", methods=["GET", "POST"])
@form_page
@draft_view
def add(application: Application, kind: str) -> Any:
    document_kind = _shown_kind(application, kind)
    key = (
        services.upload_key_from(request.form.get("upload_key"))
        if request.method == "POST"
        else None
    )
    if (earlier := services.find_by_key(application, key)) is not None:
        # The same file sent again after its answer was lost (the file it replaced is gone by
        # now): the answer the first sending would have had.
        return _uploaded(earlier, "documents.overview")
    replace = None
    if "replace" in request.args:
        replace = services.find(application, request.args["replace"])
        if replace is None or replace.kind_enum is not document_kind:
            abort(404)
    elif not services.may_add(
        application.answers, document_kind, services.counts(services.documents_of(application))
    ):
        return redirect(url_for("documents.overview"))

    form = IdentityUploadForm() if document_kind is DocumentKind.IDENTITY else UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        name = upload.filename or ""
        item = services.Upload(
            document_kind, getattr(form, "part", None) and form.part.data, name, upload.stream, key
        )
        try:
            document = services.upload(application, current_user, item, replace)
        except services.Refused as refused:
            UPLOAD_REJECTIONS.labels(refused.reason).inc()
            if refused.reason == "not_a_draft":
                return redirect(url_for("apply.status"))
            form.file.errors.append(_refusal(refused, name))
        else:
            return _uploaded(document, "documents.overview")
    elif request.method == "GET" and services.direct_uploads_enabled():
        return _direct_upload_page(application, document_kind, replace, request.args.get("part"))
    return _upload_page(form, document_kind, replace)


@documents.route("/application/documents/<kind>/check")
@draft_view
def check(application: Application, kind: str) -> Any:
    """Where S3 sends the browser once it holds a file of the upload page: the file counts from
    here, after the same checks as a file posted to the portal (portal/documents/incoming.py).
    With local storage no form posts to a bucket, so there is nothing here."""
    if not services.direct_uploads_enabled():
        abort(404)
    document_kind = _shown_kind(application, kind)
    # Only the page's script knows the chosen file's name; without it the file is named by its kind.
    name = request.args.get("name", "")[:255] or str(services.TITLES[document_kind])
    part = None
    try:
        ticket = services.read_ticket(request.args.get("token"), document_kind)
        part = ticket.part
        document = services.receive_direct(application, current_user, ticket, name)
    except services.NotAccepted as refused:
        UPLOAD_REJECTIONS.labels(f"incoming_{refused.reason}").inc()
        logger.warning("direct upload not accepted", extra={"reason": refused.reason})
        error = services.not_accepted_message(refused.reason)
    except services.Refused as refused:
        UPLOAD_REJECTIONS.labels(refused.reason).inc()
        if refused.reason == "not_a_draft":
            return redirect(url_for("apply.status"))
        error = _refusal(refused, name)
    else:
        return _uploaded(document, "documents.overview")
    replace = services.find(application, request.args.get("replace", ""))
    if replace is not None and replace.kind_enum is not document_kind:
        replace = None
    return _direct_upload_page(application, document_kind, replace, part, error=error)


def _shown_kind(application: Application, kind: str) -> DocumentKind:
    try:
        document_kind = DocumentKind(kind)
    except ValueError:
        abort(404)
    if not services.rule(document_kind).shown(application.answers):
        abort(404)
    return document_kind


def _upload_page(
    form: UploadForm,
    kind: DocumentKind,
    replace: Document | None,
    direct: services.DirectForm | None = None,
    *,
    choose_part: bool = False,
) -> Any:
    return render_template(
        "documents/upload.html",
        form=form,
        kind=kind,
        heading=services.UPLOAD_HEADINGS[kind],
        hint=services.HINTS[kind],
        replace=replace,
        direct=direct,
        choose_part=choose_part,
    )


def _direct_upload_page(
    application: Application,
    kind: DocumentKind,
    replace: Document | None,
    part: str | None,
    *,
    error: str | None = None,
) -> Any:
    """The upload page whose form posts the file to S3, for one new key of this application.

    An identity document's part is asked first (a form to this page, by GET): the ticket names
    it, because a form posted to S3 can carry nothing to the portal but the ticket.
    """
    form: UploadForm = (
        IdentityUploadForm(formdata=None)
        if kind is DocumentKind.IDENTITY
        else UploadForm(formdata=None)
    )
    if error is not None:
        form.file.errors = [error]
    if isinstance(form, IdentityUploadForm) and part not in services.PART_NAMES:
        if request.args.get("choose") and error is None:
            form.part.errors = [_("Select which part of the document this is")]
        return _upload_page(form, kind, replace, choose_part=True)
    if isinstance(form, IdentityUploadForm):
        form.part.data = part
    ticket = services.new_ticket(application, kind, part, replace)
    check_url = url_for(
        "documents.check",
        kind=kind.value,
        token=services.sign_ticket(ticket),
        replace=replace.id if replace is not None else None,
        _external=True,
    )
    return _upload_page(form, kind, replace, services.direct_form(ticket, check_url))


@documents.route("/application/more-information/files", methods=["POST"])
@form_page
@applicant_view
def request_file(application: Application | None) -> Any:
    """A file for the answer to an open request: the only way a file reaches a sent application."""
    request_ = open_request_of(application)
    if application is None or request_ is None:
        return redirect(url_for("apply.status"))
    key = services.upload_key_from(request.form.get("upload_key"))
    if (earlier := services.find_by_key(application, key)) is not None:
        return _uploaded(earlier, "apply.more_information", isolated=False)
    form = RequestFileForm()
    form.kind.choices = [(kind.value, kind.value) for kind in information.kinds_for(request_)]
    if form.validate_on_submit():
        upload = form.file.data
        name = upload.filename or ""
        try:
            document = information.add_file(
                application,
                request_,
                current_user,
                DocumentKind(form.kind.data),
                name,
                upload.stream,
                key,
            )
        except services.Refused as refused:
            UPLOAD_REJECTIONS.labels(refused.reason).inc()
            if refused.reason in ("request_closed", "wrong_kind"):
                return redirect(url_for("apply.status"))
            form.file.errors.append(_refusal(refused, name))
        else:
            return _uploaded(document, "apply.more_information", isolated=False)
    return render_more_information(
        application, request_, InformationAnswerForm(formdata=None), form
    )


@documents.route("/application/more-information/files/<document_id>/remove", methods=["POST"])
@applicant_view
def remove_request_file(application: Application | None, document_id: str) -> Any:
    request_ = open_request_of(application)
    document = services.find_in_request(request_, document_id) if request_ else None
    if application is None or request_ is None or document is None:
        return services.refuse(document_id)
    if ConfirmForm().validate_on_submit():
        name = document.original_name
        try:
            services.remove_from_request(application, request_, document)
        except services.Refused:
            return redirect(url_for("apply.status"))
        flash(_("%(name)s is removed.", name=name), "success")
    return redirect(url_for("apply.more_information"))


def _uploaded(document: Document, endpoint: str, *, isolated: bool = True) -> Any:
    """Where a kept file sends the person: the same answer for its first sending and a retry.

    The upload page's script (static/src/upload.js) says so in a header and is told where to go
    instead of being redirected: an XMLHttpRequest follows a redirect by itself, and the page it
    fetched would show the "uploaded" message to nobody.
    """
    name = isolate_text(document.original_name) if isolated else document.original_name
    flash(_("%(name)s is uploaded.", name=name), "success")
    if request.headers.get("X-Portal-Upload") == "1":
        return Response(status=204, headers={"X-Portal-Location": url_for(endpoint)})
    return redirect(url_for(endpoint))


def _refusal(refused: services.Refused, name: str) -> str:
    settings = current_app.config["PORTAL"]
    shown = name.replace("\\", "/").rsplit("/", 1)[-1][:120] or _("The file")
    return services.refusal_message(
        refused.reason,
        shown,
        refused.details,
        settings.DOCUMENT_MAX_BYTES,
        settings.DOCUMENTS_TOTAL_MAX_BYTES,
    )


@documents.route("/application/documents/<document_id>/remove", methods=["POST"])
@draft_view
def remove(application: Application, document_id: str) -> Any:
    document = services.find(application, document_id)
    if document is None:
        return services.refuse(document_id)
    if ConfirmForm().validate_on_submit():
        name = document.original_name
        services.remove(application, document)
        flash(_("%(name)s is removed.", name=isolate_text(name)), "success")
    return redirect(url_for("documents.overview"))


@documents.route("/application/documents/<document_id>/file")
@applicant_view
def file(application: Application | None, document_id: str) -> Any:
    document = services.find(application, document_id) if application else None
    if document is None or document.scan_enum is ScanResult.INFECTED:
        return services.refuse(document_id)
    return services.send(document, attachment=bool(request.args.get("download")))


@documents.route("/application/documents/<document_id>/thumbnail")
@applicant_view
def thumbnail(application: Application | None, document_id: str) -> Any:
    document = services.find(application, document_id) if application else None
    if (
        document is None
        or document.thumbnail_key is None
        or document.scan_enum is ScanResult.INFECTED
    ):
        return services.refuse(document_id)
    return services.send(document, thumbnail=True)
