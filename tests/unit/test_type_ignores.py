"""Every `type: ignore` in the portal names the error it silences and says why (issue #20)."""

from __future__ import annotations

import pathlib
import re

PORTAL = pathlib.Path(__file__).resolve().parents[2] / "portal"
IGNORE = re.compile(r"#\s*type:\s*ignore")
WITH_CODE_AND_REASON = re.compile(r"#\s*type:\s*ignore\[[a-z-]+(,\s*[a-z-]+)*\]\s+#\s*\S")


def test_every_type_ignore_has_a_code_and_a_reason() -> None:
    bare = [
        f"{path.relative_to(PORTAL)}:{number}"
        for path in sorted(PORTAL.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if IGNORE.search(line) and not WITH_CODE_AND_REASON.search(line)
    ]
    assert bare == []
