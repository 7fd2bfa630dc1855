"""Figures about the code's shape: modules per package, the largest modules, and import cycles.

    python scripts/import_graph.py [--json] [CHECKOUT]

The graph has one node per module of ingest/, kb/ and webapp/ and an edge for every
`import` or `from ... import` of another of those modules, wherever it stands (at the
top, inside a function, under TYPE_CHECKING). `from kb.research import analytics`
is an edge to the module kb.research.analytics; `from kb.pdf import PdfError` an edge
to the package kb.pdf. Importing a module also runs its parent package's __init__,
but that implied edge is not counted (as import-linter and pydeps do not), so a
package's __init__ may re-export its modules. A cycle is a strongly connected
component of more than one module, or a module that imports itself.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ingest", "kb", "webapp")


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module's dotted name and file."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Each module's imports of the project's own modules."""
    names = modules(root)
    edges: dict[str, set[str]] = {name: set() for name in names}
    for name, path in names.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in names else base for alias in node.names]
            else:
                continue
            edges[name].update(t for t in targets if t in names and t != name or t == name and isinstance(node, ast.Import))
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, and self-imports (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def figures(root: Path = ROOT) -> dict:
    names = modules(root)
    lines = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in names.items()}
    top_level = sorted(n for n, p in names.items() if n.count(".") == 1 and n.startswith("kb.") and p.name != "__init__.py")
    largest = sorted(lines.items(), key=lambda kv: -kv[1])[:5]
    return {
        "kb_top_level_modules": len(top_level) + 1,  # and kb/__init__.py
        "kb_top_level": ["kb"] + top_level,
        "largest_modules": [{"module": n, "lines": count} for n, count in largest],
        "modules_over_500_lines": [n for n, count in lines.items() if count > 500],
        "import_cycles": cycles(graph(root)),
        "readme_lines": len((root / "README.md").read_text(encoding="utf-8").splitlines()),
    }


if __name__ == "__main__":
    roots = [Path(arg) for arg in sys.argv[1:] if not arg.startswith("--")]
    result = figures(roots[0].resolve() if roots else ROOT)
    if "--json" in sys.argv:
        print(json.dumps(result, indent=2))
    else:
        print(f"modules at kb/'s top level: {result['kb_top_level_modules']} ({', '.join(result['kb_top_level'])})")
        print("largest modules: " + ", ".join(f"{m['module']} {m['lines']}" for m in result["largest_modules"]))
        print(f"modules over 500 lines: {len(result['modules_over_500_lines'])} {result['modules_over_500_lines']}")
        print(f"import cycles: {len(result['import_cycles'])}")
        for cycle in result["import_cycles"]:
            print("  " + " <-> ".join(cycle))
        print(f"README lines: {result['readme_lines']}")
