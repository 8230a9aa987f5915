"""No sentence is assembled from pieces: punctuation and word order live inside one translated
string, in templates, emails and SMS, Python and the browser's scripts.

A date joined to a time with `~ ", " ~`, a label glued to its value in an f-string, or a script
that adds a translated word to a number writes Latin commas and English word order into Arabic,
Tigrinya or Persian text. Each language's translation must be able to put the comma, the colon
and the order where its grammar wants them: the pieces become named placeholders of one string.
The patterns below are the ways pieces get glued; each is shown to catch a sample.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.config import PROJECT_ROOT

# Staff pages and forms are in English on purpose (one reading order): glue there harms no reader.
STAFF = ("templates/admin/", "templates/backoffice/", "portal/admin/", "portal/backoffice/")

TEMPLATE_GLUE = {
    # (date | dateformat) ~ ", " ~ (date | timeformat); a bare space or punctuation joining pieces
    "pieces joined with ~": re.compile(r"""~\s*(["'])(?:\s*[,:;.–—]\s*|\s+)\1\s*~"""),
    # {{ _("Email to %(address)s") }}, {{ date }}: {{ state }}, {{ kind }} · {{ size }}
    "punctuation between printed pieces": re.compile(
        r"(?:\}\}|%\})[ \t]*[,:;–—·|/][ \t]*\n?[ \t]*\{[{%]"
    ),
    # A list joined by the template, not by CLDR's list patterns (the `list_of` filter)
    "a list joined with |join": re.compile(r"\|\s*join\b"),
}
GETTEXT = r"(?:_|_l|gettext|lazy_gettext|ngettext)\("
FORMATTER = r"(?:i18n\.)?(?:date|date_time|time_of_day|number)\("
PYTHON_GLUE = {
    "a translated piece inside an f-string": re.compile(
        rf"""\bf(["'])[^"'\n]*\{{\s*(?:{GETTEXT}|{FORMATTER})"""
    ),
    "a translated piece added to a string": re.compile(
        rf"""\b{GETTEXT}[^()\n]*(?:\([^()\n]*\))?[^()\n]*\)\s*\+|\+\s*\b{GETTEXT}"""
    ),
    "translated pieces joined with punctuation": re.compile(r"""(["'])[,:;–—] ?\1\.join\("""),
}
SCRIPT_GLUE = {
    "text assembled in a script": re.compile(
        r"(?:textContent|innerText|innerHTML|ariaLabel)\s*=[^;\n]*(?:\s\+\s|\$\{)"
    ),
    "an accessible name assembled in a script": re.compile(
        r"setAttribute\(\s*[\"']aria-[a-z]+[\"']\s*,[^;\n]*(?:\s\+\s|\$\{)"
    ),
}


def findings(patterns: dict[str, re.Pattern[str]], paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        name = path.relative_to(PROJECT_ROOT).as_posix()
        if name.startswith(STAFF):
            continue
        text = path.read_text(encoding="utf-8")
        for what, pattern in patterns.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{name}:{line}: {what}: {match.group(0).strip()}")
    return found


def files(folder: str, *suffixes: str) -> list[Path]:
    paths = sorted(p for p in (PROJECT_ROOT / folder).rglob("*") if p.suffix in suffixes)
    assert paths, f"no {suffixes} files under {folder}: is the scan broken?"
    return paths


def test_no_template_or_message_glues_translated_pieces():
    assert findings(TEMPLATE_GLUE, files("templates", ".html", ".txt")) == []


def test_no_python_glues_translated_pieces():
    """Only modules that translate anything: a SQL CHECK list joined with ", " is not text."""
    translating = [
        path
        for path in files("portal", ".py")
        if re.search(r"\bfrom flask_babel import|\bi18n\b", path.read_text(encoding="utf-8"))
    ]
    assert findings(PYTHON_GLUE, translating) == []


def test_no_script_assembles_text_from_pieces():
    assert findings(SCRIPT_GLUE, files("static/src", ".js")) == []


@pytest.mark.parametrize(
    ("patterns", "sample"),
    [
        (
            TEMPLATE_GLUE,
            '{{ _("When: %(when)s", when=(d | dateformat) ~ ", " ~ (d | timeformat)) }}',
        ),
        (TEMPLATE_GLUE, '{{ (d | dateformat("medium")) ~ " " ~ (d | timeformat) }}'),
        (TEMPLATE_GLUE, '{% if sms %}{{ _("Text") }}{% endif %},\n    {{ when }}: {{ state }}'),
        (TEMPLATE_GLUE, "{{ names | join(', ') }}"),
        (TEMPLATE_GLUE, "{{ part }} · {% endif %}{{ file_size(document.size) }}"),
        (PYTHON_GLUE, "line = f\"{gettext('Family reference number:')} {reference}\""),
        (PYTHON_GLUE, "date = f\"{i18n.date(closes_at, 'long')}, {i18n.time_of_day(closes_at)}\""),
        (PYTHON_GLUE, 'title = _("Error:") + " " + title'),
        (PYTHON_GLUE, 'text = ", ".join(str(_l(name)) for name in names)'),
        (SCRIPT_GLUE, "status.textContent = box.dataset.sent + ' ' + count;"),
        (SCRIPT_GLUE, "status.textContent = `${count} ${box.dataset.files}`;"),
        (SCRIPT_GLUE, 'button.setAttribute("aria-label", label + " " + name);'),
    ],
)
def test_each_pattern_catches_its_sample(tmp_path, monkeypatch, patterns, sample):
    monkeypatch.setattr("tests.unit.test_whole_sentences.PROJECT_ROOT", tmp_path)
    sample_file = tmp_path / "sample.txt"
    sample_file.write_text(sample, encoding="utf-8")
    assert findings(patterns, [sample_file])


def test_a_translated_pattern_with_named_placeholders_passes(tmp_path, monkeypatch):
    monkeypatch.setattr("tests.unit.test_whole_sentences.PROJECT_ROOT", tmp_path)
    sample_file = tmp_path / "sample.txt"
    sample_file.write_text(
        '{{ _("When: %(date)s at %(time)s", date=d | dateformat, time=d | timeformat) }}\n'
        'gettext("Family reference number: %(reference)s", reference=reference)\n'
        'status.textContent = uploadForm.dataset.progress.replace("{n}", written);\n',
        encoding="utf-8",
    )
    found = findings({**TEMPLATE_GLUE, **PYTHON_GLUE, **SCRIPT_GLUE}, [sample_file])
    assert found == []
