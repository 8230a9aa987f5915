"""A page module reaches another capability only through that capability's published interface.

A capability is a sub-package of portal/ (apply, appointments, auth, ...; not portal.models, which
every part reads). A page module is any module in portal/ that registers routes (makes a
`Blueprint(...)` or calls `.route(...)`). What a capability publishes for other capabilities'
pages is its `services` module (or its package `__init__`), plus the neutral modules the issue
names; and of a published module only the names in its `__all__`. So a page may not import
another capability's internal module (`portal.apply.lifecycle`), a private name (`_helper`), or
a name a published module merely happens to hold (`apply_services.lifecycle`): when a page needs
something, the capability publishes it in its `services` first.

Everything here is computed from the source: the capabilities, the page modules, the published
modules and their `__all__`. Core modules (portal/*.py) and the models are always allowed.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PORTAL = Path(__file__).resolve().parents[2] / "portal"

# Published although not called `services`: the applicant and staff access helpers and the typed
# answers, which the issue gives neutral homes of their own.
NEUTRAL = frozenset({"portal.apply.access", "portal.auth.access", "portal.apply.answers"})


def _capabilities() -> frozenset[str]:
    return frozenset(
        path.name
        for path in PORTAL.iterdir()
        if (path / "__init__.py").is_file() and path.name != "models"
    )


def _module_name(path: Path) -> str:
    parts = path.relative_to(PORTAL.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _path_of(module: str) -> Path | None:
    base = PORTAL.parent.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_page(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "Blueprint" or (isinstance(func, ast.Attribute) and name == "route"):
                return True
    return False


def _pages() -> list[Path]:
    return [path for path in sorted(PORTAL.rglob("*.py")) if _is_page(_tree(path))]


def _capability_of(module: str) -> str | None:
    """The capability a module belongs to, or None for core modules and the models."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "portal" or parts[1] not in _capabilities():
        return None
    return parts[1]


def _published(module: str) -> bool:
    parts = module.split(".")
    return module in NEUTRAL or len(parts) == 2 or (len(parts) == 3 and parts[2] == "services")


@cache
def _exported(module: str) -> frozenset[str] | None:
    """The names in a module's `__all__`, or None when it declares none."""
    path = _path_of(module)
    if path is None:
        return None
    for node in _tree(path).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(target, ast.Name) and target.id == "__all__" for target in targets):
            assert node.value is not None
            return frozenset(ast.literal_eval(node.value))
    return None


def _absolute(page: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = page.split(".") if is_package else page.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _offences(path: Path, tree: ast.Module | None = None) -> list[str]:
    page = _module_name(path)
    own = _capability_of(page)
    tree = tree or _tree(path)
    found: list[str] = []
    where = f"{path.relative_to(PORTAL.parent)}"
    # Names bound to a published module of another capability, to check what is read from them.
    bound: dict[str, str] = {}

    def take(module: str, name: str | None, line: int, bind: str | None) -> None:
        capability = _capability_of(module)
        if capability is None or capability == own:
            return
        if not _published(module):
            found.append(f"{where}:{line}: imports {module}, internal to {capability}")
            return
        if name is None:
            if bind is not None:
                bound[bind] = module
            return
        if name.startswith("_"):
            found.append(f"{where}:{line}: imports the private {module}.{name}")
            return
        exported = _exported(module)
        if exported is None or name not in exported:
            found.append(f"{where}:{line}: {module}.{name} is not in {module}.__all__")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                take(alias.name, None, node.lineno, alias.asname)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(page, path.name == "__init__.py", node)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if _path_of(submodule) is not None:
                    take(submodule, None, node.lineno, alias.asname or alias.name)
                else:
                    take(base, alias.name, node.lineno, None)

    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
        ):
            take(bound[node.value.id], node.attr, node.lineno, None)
    return list(dict.fromkeys(found))


def test_the_page_modules_are_found() -> None:
    """The check below means something only if it sees the pages: a few that must be among them."""
    pages = {_module_name(path) for path in _pages()}
    assert {"portal.apply.routes", "portal.backoffice.messages", "portal.health"} <= pages
    assert "portal.apply.services" not in pages


def test_pages_use_other_capabilities_through_their_published_interfaces() -> None:
    offences = [offence for path in _pages() for offence in _offences(path)]
    assert not offences, (
        "A page imports another capability beyond its published interface (its `services`, "
        "the names in its `__all__`); publish what the page needs there:\n" + "\n".join(offences)
    )


def test_the_check_sees_an_internal_import_and_a_private_name() -> None:
    """The checker itself: an internal module, a private name and an unpublished name are each
    reported, and a published name is not."""
    source = (
        "from flask import Blueprint\n"
        "from portal.apply import lifecycle\n"
        "from portal.apply.services import _private\n"
        "from portal.apply import services as apply_services\n"
        "probe = Blueprint('probe', __name__)\n"
        "apply_services.not_published_anywhere\n"
        "apply_services.active_application\n"
    )
    tree = ast.parse(source)
    assert _is_page(tree)
    offences = _offences(PORTAL / "support" / "probe.py", tree)
    assert len(offences) == 3, offences
    assert "internal to apply" in offences[0]
    assert "private" in offences[1]
    assert "not_published_anywhere" in offences[2]
