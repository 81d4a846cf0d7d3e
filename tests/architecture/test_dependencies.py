"""The import rules of docs/architecture.md, enforced: each app imports only the apps below it, and no
module imports itself back through others.

Allowed directions: core ← parties ← mapping ← {review, exports} ← config. Every import counts, at module
level or inside a function (a function-level import hides a dependency, it does not remove it), and so
does ``importlib.import_module("...")`` with a literal name. The checker is tested on a synthetic tree
below, so a checker that stopped seeing imports would fail here rather than pass silently.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each app and the apps it may import (itself always). `review` is treated as an app when it exists.
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "parties": frozenset({"core"}),
    "mapping": frozenset({"parties", "core"}),
    "review": frozenset({"mapping", "parties", "core"}),
    "exports": frozenset({"mapping", "parties", "core"}),
    "config": frozenset({"core", "parties", "mapping", "review", "exports"}),
}
RULE = "core ← parties ← mapping ← {review, exports} ← config"


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted
    path: Path
    line: int
    target: str  # imported module (the most specific module of the tree it names), dotted


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    """Every module of the apps present under ``root``, by dotted name."""
    found = {}
    for app in ALLOWED:
        if (root / app).is_dir():
            for path in sorted((root / app).rglob("*.py")):
                found[module_name(root, path)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The most specific module of the tree that ``name`` (a module or a name inside one) is."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _named(node: ast.AST, package: str) -> list[str]:
    """The dotted names an AST node imports (``from a import b`` may name module ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = package.split(".")
            base = base[: len(base) - node.level + 1]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        return [f"{prefix}.{alias.name}" for alias in node.names] or [prefix]
    if (
        isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) == "import_module"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def imports(root: Path) -> list[Import]:
    """Every import of every module under ``root`` that names another module of the tree."""
    known = modules(root)
    found = []
    for source, path in known.items():
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _named(node, package):
                target = _resolve(name, known)
                if target is not None and target != source:
                    found.append(Import(source, path, node.lineno, target))
    return found


def app_of(module: str) -> str:
    return module.partition(".")[0]


def violations(root: Path) -> list[str]:
    """One line per import against the rule: file:line, from-app → to-app, and the rule."""
    return [
        f"{imp.path.relative_to(root)}:{imp.line}: {app_of(imp.source)} → {app_of(imp.target)} "
        f"({imp.source} imports {imp.target}); allowed: {RULE}"
        for imp in imports(root)
        if app_of(imp.target) != app_of(imp.source) and app_of(imp.target) not in ALLOWED[app_of(imp.source)]
    ]


def cycles(root: Path) -> list[list[str]]:
    """Each group of modules that import one another (a strongly connected component), as a cycle
    through them: ``[a, b, c, a]``. Tarjan's algorithm, iterative so deep trees do not recurse."""
    graph: dict[str, set[str]] = {name: set() for name in modules(root)}
    for imp in imports(root):
        graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(set(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return [_cycle_through(graph, component) for component in components]


def _cycle_through(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """One concrete cycle inside a strongly connected component (a shortest path back to its start)."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    return paths[node] + [start]
                if child not in paths:
                    paths[child] = paths[node] + [child]
                    following.append(child)
        frontier = following
    raise AssertionError("a strongly connected component always has a cycle")


def test_every_import_follows_the_app_rule():
    found = violations(ROOT)
    assert not found, "imports against the dependency rule:\n" + "\n".join(found)


def test_no_import_cycle_between_modules():
    found = cycles(ROOT)
    assert not found, "import cycles (function-level imports included):\n" + "\n".join(
        " → ".join(cycle) for cycle in found
    )


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_checker_sees_every_kind_of_import(tmp_path):
    root = _tree(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/geo.py": "def f():\n    from parties import models\n",
            "parties/__init__.py": "",
            "parties/models.py": "import importlib\nimportlib.import_module('mapping.store')\n",
            "parties/views.py": "from mapping.store import apply_change\n",
            "parties/forms.py": "from .models import Town\nfrom core import geo\n",
            "mapping/__init__.py": "",
            "mapping/store.py": "import exports.jobs\n",
            "exports/__init__.py": "",
            "exports/jobs.py": "from mapping import store\n",
            "config/__init__.py": "",
            "config/settings.py": "import exports.jobs, mapping.store, parties.models, core.geo\n",
        },
    )
    assert sorted(violations(root)) == [
        f"core/geo.py:2: core → parties (core.geo imports parties.models); allowed: {RULE}",
        f"mapping/store.py:1: mapping → exports (mapping.store imports exports.jobs); allowed: {RULE}",
        f"parties/models.py:2: parties → mapping (parties.models imports mapping.store); allowed: {RULE}",
        f"parties/views.py:1: parties → mapping (parties.views imports mapping.store); allowed: {RULE}",
    ]
    assert cycles(root) == [["exports.jobs", "mapping.store", "exports.jobs"]]


def test_checker_reports_a_cycle_through_function_level_imports(tmp_path):
    root = _tree(
        tmp_path,
        {
            "config/__init__.py": "",
            "config/celery.py": "def ready():\n    from config.liveness import held\n",
            "config/liveness.py": "def held():\n    from config.jobs import run\n",
            "config/jobs.py": "def run():\n    from config.celery import app\n",
            "config/settings.py": "from config import jobs\n",
        },
    )
    assert violations(root) == []
    assert cycles(root) == [["config.celery", "config.liveness", "config.jobs", "config.celery"]]


def test_review_is_an_app_when_present(tmp_path):
    root = _tree(
        tmp_path,
        {
            "exports/__init__.py": "",
            "exports/api.py": "from review.queue import pending\n",
            "review/__init__.py": "",
            "review/queue.py": "from mapping.models import Revision\n",
            "mapping/__init__.py": "",
            "mapping/models.py": "",
        },
    )
    assert violations(root) == [
        f"exports/api.py:1: exports → review (exports.api imports review.queue); allowed: {RULE}"
    ]
