"""List the two-way dependencies between the portal's parts (the packages and modules under portal/).

Why: import-linter's contracts say whether the rules hold; this says how far from them the code is, as a
count a reviewer can compare before and after a change. grimp reads every import statement, those at
module level and those inside functions alike, so a cycle hidden in a function still counts.

Run: .venv/bin/python tools/import_cycles.py [--quiet] [--own-part portal.apply.answers]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import grimp

# This checkout's portal, not whichever one the virtualenv's editable install points at.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def part_of(module: str, own_parts: frozenset[str] = frozenset()) -> str:
    """The part a module belongs to: `portal.apply.services` -> `apply`, `portal.config` -> `config`.

    A module named in own_parts (a published interface such as `portal.apply.answers`) is a part of
    its own, so that reading it is not counted as depending on the whole package that owns it.
    """
    if module in own_parts:
        return module.removeprefix("portal.")
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "(portal)"


def part_graph(
    own_parts: frozenset[str],
) -> tuple[dict[str, set[str]], dict[tuple[str, str], list[str]]]:
    """The graph of parts, and for each edge the imports (module-level or in functions) that make it."""
    graph = grimp.build_graph("portal", cache_dir=None)
    edges: dict[str, set[str]] = {}
    why: dict[tuple[str, str], list[str]] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            a, b = part_of(importer, own_parts), part_of(imported, own_parts)
            if a == b or "(portal)" in (a, b):
                continue
            edges.setdefault(a, set()).add(b)
            why.setdefault((a, b), []).append(f"{importer} -> {imported}")
    return edges, why


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one part (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = itertools.count()

    def visit(node: str) -> None:
        index[node] = low[node] = next(counter)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(set(edges) | {b for targets in edges.values() for b in targets}):
        if node not in index:
            visit(node)
    return sorted(found)


def main() -> int:
    """Print the two-way pairs and the cycles, with the imports behind each; exit 1 if there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--own-part",
        action="append",
        default=[],
        metavar="MODULE",
        help="count this module as a part of its own (a published interface, e.g. portal.apply.answers)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="list the pairs and cycles without the imports"
    )
    args = parser.parse_args()
    sys.setrecursionlimit(10_000)
    edges, why = part_graph(frozenset(args.own_part))
    pairs = sorted(
        {
            tuple(sorted((a, b)))
            for a, targets in edges.items()
            for b in targets
            if a in edges.get(b, ())
        }
    )
    print(f"two-way pairs: {len(pairs)}")
    for a, b in pairs:
        print(f"  {a} <-> {b}")
        for line in [] if args.quiet else why[(a, b)] + why[(b, a)]:
            print(f"      {line}")
    components = cycles(edges)
    print(f"cycles (strongly connected groups of parts): {len(components)}")
    for component in components:
        print("  " + " , ".join(component))
        if args.quiet:
            continue
        members = set(component)
        for (a, b), lines in sorted(why.items()):
            if a in members and b in members:
                for line in lines:
                    print(f"      {line}")
    return 1 if pairs or components else 0


if __name__ == "__main__":
    raise SystemExit(main())
