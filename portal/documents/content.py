"""What the documents pages say: names of each kind, what to upload, and why a file was refused."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.i18n import isolate_text, number
from portal.models import DocumentKind

TITLES = {
    DocumentKind.IDENTITY: _l("Your passport or identity card"),
    DocumentKind.PHOTO: _l("A photo of your face"),
    DocumentKind.RELATIONSHIP: _l("Proof of your family relationship"),
    DocumentKind.OTHER: _l("Other documents"),
}

UPLOAD_HEADINGS = {
    DocumentKind.IDENTITY: _l("Upload a page of your passport or identity card"),
    DocumentKind.PHOTO: _l("Upload a photo of your face"),
    DocumentKind.RELATIONSHIP: _l("Upload proof of your family relationship"),
    DocumentKind.OTHER: _l("Upload another document"),
}

HINTS = {
    DocumentKind.IDENTITY: _l(
        "Upload every page that has your details on it: the front, the back and the page with "
        "your photo. One photo or PDF for each page."
    ),
    DocumentKind.PHOTO: _l(
        "A recent photo of your face, taken in good light, looking at the camera, with nothing "
        "covering your face."
    ),
    DocumentKind.RELATIONSHIP: _l(
        "For example a marriage certificate, a birth certificate or a family book that shows how "
        "you are related to the main applicant."
    ),
    DocumentKind.OTHER: _l(
        "Anything else that supports your application. You do not have to add anything here."
    ),
}

PART_NAMES = {
    "front": _l("The front"),
    "back": _l("The back"),
    "data_page": _l("The page with my photo and details"),
    "other_page": _l("Another page"),
}


def file_size(size: int) -> str:
    """Sizes as people know them, with the numerals of the reader's language."""
    if size < 1024 * 1024:
        return _("%(size)s KB", size=number(max(1, round(size / 1024))))
    return _("%(size)s MB", size=number(round(size / (1024 * 1024), 1)))


def refusal_message(reason: str, name: str, details: dict[str, Any], limit: int, total: int) -> str:
    """One precise sentence for each reason a file was refused, naming the file (isolated: a Latin
    file name must not reorder a right-to-left sentence)."""
    name = isolate_text(name)
    messages = {
        "empty": _("%(name)s is empty. Choose a photo or PDF that has something in it.", name=name),
        "too_large": _(
            "%(name)s is larger than %(limit)s. Choose a smaller file, or take the photo again at a lower quality.",
            name=name,
            limit=file_size(limit),
        ),
        "unsupported_type": _(
            "%(name)s is not a photo or a PDF. Upload a JPG, PNG, HEIC or PDF file.", name=name
        ),
        "bad_name": _(
            "The name of this file cannot be used. Rename it with letters and numbers, then upload it again."
        ),
        "name_mismatch": _(
            "The name of %(name)s does not match what is in the file. Upload the photo or PDF as it came from your phone or scanner.",
            name=name,
        ),
        "hidden_content": _(
            "%(name)s contains hidden content that is not allowed. Take a new photo or scan of the document.",
            name=name,
        ),
        "too_many_pixels": _(
            "%(name)s is too big an image to open. Take the photo again at a lower resolution.",
            name=name,
        ),
        "damaged_image": _(
            "%(name)s is damaged or incomplete and cannot be opened. Upload it again, or take a new photo.",
            name=name,
        ),
        "pdf_password": _(
            "%(name)s is protected by a password. Upload a copy that has no password.", name=name
        ),
        "pdf_damaged": _(
            "%(name)s is damaged and cannot be opened. Upload it again, or scan the document again.",
            name=name,
        ),
        "pdf_active_content": _(
            "%(name)s contains scripts, actions or attached files, which are not allowed. Upload a photo of each page instead.",
            name=name,
        ),
        "pdf_too_many_pages": _(
            "%(name)s has too many pages. Upload only the pages we ask for.", name=name
        ),
        "infected": _(
            "%(name)s contains a virus, so it was not uploaded. Use another file.", name=name
        ),
        "scanner_unavailable": _(
            "We cannot check files for viruses at the moment, so we cannot accept files. Try again in a few minutes."
        ),
        "storage_unavailable": _(
            "We could not save %(name)s. Try again in a few minutes.", name=name
        ),
        "too_many_files": _(
            "You have already uploaded the most files allowed here. Remove one before you add another."
        ),
        "total_too_large": _(
            "All your files together would be larger than %(total)s. Remove a file or upload a smaller one.",
            total=file_size(total),
        ),
    }
    return messages[reason]


def not_accepted_message(reason: str) -> str:
    """Why a file sent to the bucket was not taken in, as the upload page says it: an upload form
    past its time, or a check that found no file of this applicant's (forged, another's, gone)."""
    if reason == "expired":
        return _("The time to upload this file has run out. Choose the file and upload it again.")
    return _("We did not receive your file. Choose the file and upload it again.")
