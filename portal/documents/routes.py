"""The applicant's documents pages, and the only ways a stored file is ever read back.

Files are served by these views alone, never from a public path: to the applicant who owns
them, and to a caseworker past two-factor (audited) once a virus scanner has passed them. A file
found infected is opened by nobody. Anything else is a 404, and logged.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any
from urllib.parse import quote

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

from portal import audit
from portal.apply import information
from portal.apply.access import applicant_view, draft_view
from portal.apply.forms import InformationAnswerForm
from portal.apply.information import open_request_of
from portal.apply.more_information import render_more_information
from portal.auth.forms import ConfirmForm
from portal.documents import content, rules, services
from portal.documents.forms import IdentityUploadForm, RequestFileForm, UploadForm
from portal.i18n import isolate_text
from portal.metrics import UPLOAD_REJECTIONS
from portal.models import Application, Document, DocumentKind, Role, ScanResult
from portal.security import form_page

logger = logging.getLogger(__name__)

documents = Blueprint("documents", __name__)
staff_documents = Blueprint("staff_documents", __name__)

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


@documents.app_template_global()
def document_kind_title(kind: str) -> str:
    return str(content.TITLES[DocumentKind(kind)])


@documents.app_template_global()
def document_upload_heading(kind: str) -> str:
    return str(content.UPLOAD_HEADINGS[DocumentKind(kind)])


@documents.app_template_global()
def document_part_name(part: str | None) -> str:
    return str(content.PART_NAMES[part]) if part in content.PART_NAMES else ""


documents.add_app_template_global(content.file_size, "file_size")


@documents.route("/application/documents")
@draft_view
def overview(application: Application) -> Any:
    files = services.documents_of(application)
    counts = services.counts(files)
    missing = rules.missing(application.answers, counts)
    show_missing = bool(request.args.get("missing")) and bool(missing)
    return render_template(
        "documents/overview.html",
        kinds=[
            {
                "kind": r.kind,
                "title": content.TITLES[r.kind],
                "hint": content.HINTS[r.kind],
                "required": r.required(application.answers),
                "files": [f for f in files if f.kind_enum is r.kind],
                "may_add": rules.may_add(application.answers, r.kind, counts),
            }
            for r in rules.shown_rules(application.answers)
        ],
        missing=missing if show_missing else [],
        remove_form=ConfirmForm(),
    )


@documents.route("/application/documents/<kind>/add", methods=["GET", "POST"])
@form_page
@draft_view
def add(application: Application, kind: str) -> Any:
    try:
        document_kind = DocumentKind(kind)
    except ValueError:
        abort(404)
    if not rules.rule(document_kind).shown(application.answers):
        abort(404)
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
    elif not rules.may_add(
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
    return render_template(
        "documents/upload.html",
        form=form,
        kind=document_kind,
        heading=content.UPLOAD_HEADINGS[document_kind],
        hint=content.HINTS[document_kind],
        replace=replace,
    )


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
        return _refuse(document_id)
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
    return content.refusal_message(
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
        return _refuse(document_id)
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
        return _refuse(document_id)
    return _send(document, attachment=bool(request.args.get("download")))


@documents.route("/application/documents/<document_id>/thumbnail")
@applicant_view
def thumbnail(application: Application | None, document_id: str) -> Any:
    document = services.find(application, document_id) if application else None
    if (
        document is None
        or document.thumbnail_key is None
        or document.scan_enum is ScanResult.INFECTED
    ):
        return _refuse(document_id)
    return _send(document, thumbnail=True)


@staff_documents.route("/documents/<document_id>")
def staff_file(document_id: str) -> Any:
    """A caseworker past two-factor; anyone else, even a caseworker halfway through signing in, 404."""
    allowed = (
        current_user.is_authenticated
        and current_user.role_enum is Role.CASEWORKER
        and not current_user.needs_second_factor
    )
    document = services.find_any(document_id) if allowed else None
    if document is None:
        return _refuse(document_id)
    if not document.staff_may_open:
        logger.warning(
            "document not opened: no scanner has passed it",
            extra={"document_id": str(document.id), "scan_result": document.scan_result},
        )
        page = render_template(
            "documents/staff_not_openable.html",
            document=document,
            infected=document.scan_enum is ScanResult.INFECTED,
        )
        return page, 403
    audit.record_now(
        "document_viewed",
        subject_type="application",
        subject_id=document.application_id,
        document_id=str(document.id),
        kind=document.kind,
    )
    return _send(document, attachment=bool(request.args.get("download")))


def _refuse(document_id: str) -> Any:
    """Every refused request looks like a missing page, and is logged for whoever watches."""
    logger.warning(
        "document access refused",
        extra={
            "document_id": document_id[:64],
            "user_id": str(current_user.id) if current_user.is_authenticated else None,
        },
    )
    abort(404)


def _send(document: Document, *, thumbnail: bool = False, attachment: bool = False) -> Response:
    chunks = services.read(document, thumbnail=thumbnail)
    first = next(chunks, b"")

    def body() -> Any:
        yield first
        yield from chunks

    mimetype = "image/jpeg" if thumbnail else document.content_type
    disposition = "attachment" if attachment or mimetype == "application/pdf" else "inline"
    response = Response(body(), mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(
        disposition, _download_name(document)
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    if not thumbnail:
        response.headers["Content-Length"] = str(document.size)
    return response


def _download_name(document: Document) -> str:
    stem = document.original_name.rsplit(".", 1)[0] or "document"
    return f"{stem}.{_EXTENSIONS.get(document.content_type, 'bin')}"


def content_disposition(disposition: str, name: str) -> str:
    """An ASCII fallback name and the exact UTF-8 one (RFC 6266), with nothing that breaks out."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(c for c in fallback if c.isalnum() or c in " ._-").strip() or "document"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
