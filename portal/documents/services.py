"""Documents' door for the other capabilities: what they may use of documents is in `__all__`.

The work is done in the modules that hold it, and published here: an application's documents,
stored and read (store), the direct uploads to object storage (incoming), sending a file to the
browser (serving), which documents an application needs (rules), and the upload pages' forms and
words (forms, content), which apply's document pages (apply/document_pages.py) show. Those
modules import store, never this one, so publishing them here closes no cycle.
tests/unit/test_published_interfaces.py keeps the pages of other capabilities to these names.

A few of incoming's names are published under longer ones (`read_ticket` for `incoming.read`),
as they read next to store's.
"""

from __future__ import annotations

from portal.documents.content import (
    HINTS,
    PART_NAMES,
    TITLES,
    UPLOAD_HEADINGS,
    file_size,
    not_accepted_message,
    refusal_message,
)
from portal.documents.forms import IdentityUploadForm, RequestFileForm, UploadForm
from portal.documents.incoming import DirectForm, NotAccepted, new_ticket
from portal.documents.incoming import enabled as direct_uploads_enabled
from portal.documents.incoming import form as direct_form
from portal.documents.incoming import read as read_ticket
from portal.documents.incoming import receive as receive_direct
from portal.documents.incoming import sign as sign_ticket
from portal.documents.rules import may_add, missing, rule, section_state, shown_rules
from portal.documents.serving import refuse, send
from portal.documents.store import (
    REQUEST_MAX_FILES,
    CleanUp,
    Refused,
    Upload,
    clean_up,
    counts,
    delete_all,
    delete_objects,
    documents_of,
    files_of_request,
    find,
    find_any,
    find_by_key,
    find_in_request,
    init_app,
    limits,
    lock_open_request,
    missing_kinds,
    read,
    remove,
    remove_from_request,
    scanner,
    scanning_configured,
    storage,
    upload,
    upload_key_from,
)

__all__ = [
    "HINTS",
    "PART_NAMES",
    "REQUEST_MAX_FILES",
    "TITLES",
    "UPLOAD_HEADINGS",
    "CleanUp",
    "DirectForm",
    "IdentityUploadForm",
    "NotAccepted",
    "Refused",
    "RequestFileForm",
    "Upload",
    "UploadForm",
    "clean_up",
    "counts",
    "delete_all",
    "delete_objects",
    "direct_form",
    "direct_uploads_enabled",
    "documents_of",
    "file_size",
    "files_of_request",
    "find",
    "find_any",
    "find_by_key",
    "find_in_request",
    "init_app",
    "limits",
    "lock_open_request",
    "may_add",
    "missing",
    "missing_kinds",
    "new_ticket",
    "not_accepted_message",
    "read",
    "read_ticket",
    "receive_direct",
    "refusal_message",
    "refuse",
    "remove",
    "remove_from_request",
    "rule",
    "scanner",
    "scanning_configured",
    "section_state",
    "send",
    "shown_rules",
    "sign_ticket",
    "storage",
    "upload",
    "upload_key_from",
]
