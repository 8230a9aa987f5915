"""One unit of work: no `commit()` in portal/ outside portal.transactions' named places.

A service that writes is decorated with `@transactional`; a route module never commits. A new
`commit()` anywhere else fails here: decorate the service instead, or, when the design truly
needs a commit part-way through, name the function in ALLOWED_COMMITS with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

from portal.transactions import ALLOWED_COMMITS

PORTAL = Path(__file__).resolve().parents[2] / "portal"


def _commits(tree: ast.AST) -> list[tuple[str, int]]:
    """(qualified name of the enclosing function, line) of every `<anything>.commit()` call."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, names: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                visit(child, [*names, child.name])
                continue
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "commit"
            ):
                found.append((".".join(names) or "<module>", child.lineno))
            visit(child, names)

    visit(tree, [])
    return found


def test_only_the_named_places_commit() -> None:
    strays = []
    for path in sorted(PORTAL.rglob("*.py")):
        relative = path.relative_to(PORTAL.parent).as_posix()
        allowed = ALLOWED_COMMITS.get(relative, {})
        for function, line in _commits(ast.parse(path.read_text(encoding="utf-8"))):
            if function not in allowed:
                strays.append(f"{relative}:{line} in {function}")
    assert not strays, "commit() outside portal.transactions' ALLOWED_COMMITS:\n" + "\n".join(
        strays
    )


def test_every_named_place_still_commits_and_says_why() -> None:
    for relative, functions in ALLOWED_COMMITS.items():
        source = (PORTAL.parent / relative).read_text(encoding="utf-8")
        present = {function for function, _ in _commits(ast.parse(source))}
        for function, reason in functions.items():
            assert function in present, f"{relative}: {function} no longer commits"
            assert reason.strip(), f"{relative}: {function} needs a reason"
