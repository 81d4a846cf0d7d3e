"""Only ``mapping/store/`` writes the published map (issue 13: one writer of published data).

Why: ``apply_change`` was documented as the only writer while bulk review and the upstream merge
issued their own INSERT/UPDATE on the store tables, so a rule of the store (version checks, derived
geometry, the change announced to the caches) could be skipped without anyone noticing. This test
reads every application module (everything but ``tests/``, ``bench/`` and ``scripts/``, which set up
data, and migrations, which create the tables) and fails on any SQL write to the store tables
(``INSERT INTO`` / ``UPDATE`` / ``DELETE FROM`` / ``COPY`` / ``TRUNCATE`` on ``mapping_node``,
``mapping_way``, ``mapping_relation``, or on a formatted ``mapping_{kind}``) and any ORM write through
their managers (``Node.objects.create``, ``Way.objects.filter(...).update``, ``bulk_create``...)
outside ``mapping/store/``, naming the file and line. Writes through a model instance's ``save()``
cannot be told apart statically from other models' and are left to review.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
OUTSIDE_THE_RULE = {"tests", "bench", "scripts", ".venv", "var", "node_modules", "static", "locale"}
STORE = ROOT / "mapping" / "store"
STORE_TABLE = r"mapping_(?:(?:node|way|relation)\b|\{\w*\})"
SQL_WRITE = re.compile(
    rf"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?{STORE_TABLE}",
    re.IGNORECASE,
)
STORE_MODELS = {"Node", "Way", "Relation", "ELEMENT_MODELS"}
ORM_WRITES = {
    "create", "get_or_create", "update_or_create", "bulk_create", "bulk_update", "update", "delete",
}  # fmt: skip


def application_modules() -> list[Path]:
    modules = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in OUTSIDE_THE_RULE or "migrations" in parts or path.is_relative_to(STORE):
            continue
        modules.append(path)
    return modules


def _root_name(node: ast.AST) -> str | None:
    """The name a call chain starts from: ``Node`` for ``Node.objects.filter(...).update``."""
    while True:
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return node.id if isinstance(node, ast.Name) else None


def _through_objects(node: ast.AST) -> bool:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            return True
        node = node.func if isinstance(node, ast.Call) else node.value
    return False


def store_writes(source: str) -> list[tuple[int, str]]:
    """(line, what) of every write to the store tables in this module's source."""
    found = []
    tree = ast.parse(source)
    strings: list[tuple[int, str]] = []
    in_fstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # f"UPDATE mapping_{kind} ...": placeholders kept as {}
            strings.append(
                (node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
            )
            in_fstrings.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_fstrings:
            strings.append((node.lineno, node.value))
    for lineno, text in strings:
        for match in SQL_WRITE.finditer(text):
            found.append((lineno + text.count("\n", 0, match.start()), " ".join(match.group(0).split())))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ORM_WRITES
            and _root_name(node.func) in STORE_MODELS
            and _through_objects(node.func)
        ):
            found.append((node.lineno, f"{_root_name(node.func)}.objects….{node.func.attr}()"))
    return sorted(found)


def test_only_the_store_writes_the_store_tables():
    offences = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in application_modules()
        for line, what in store_writes(path.read_text(encoding="utf-8"))
    ]
    assert not offences, "Write the published map through mapping.store only:\n" + "\n".join(offences)


def test_the_rule_sees_every_kind_of_write():
    """The scanner itself: each way of writing the store is caught, reads and other tables are not."""
    source = '''
SQL = """
  UPDATE mapping_way SET nodes = nodes
"""
cur.execute("INSERT INTO mapping_node (town_id) VALUES (1)")
cur.execute(f"UPDATE mapping_{kind} SET visible = false")
cur.execute("delete from mapping_relation where id = 1")
cur.copy("COPY mapping_node (town_id) FROM STDIN")
cur.execute("TRUNCATE mapping_way")
Node.objects.create(town=town)
Way.objects.filter(pk=1).update(visible=False)
Relation.objects.filter(pk=1).delete()
ELEMENT_MODELS[t].objects.bulk_create(rows)
cur.execute("SELECT * FROM mapping_node")
cur.execute("UPDATE mapping_revision SET status = 'accepted'")
cur.execute("INSERT INTO imp_node SELECT osm_id FROM mapping_node")
Revision.objects.filter(pk=1).update(status="accepted")
Node.objects.filter(pk=1).first()
'''
    lines = [line for line, _what in store_writes(source)]
    assert lines == [3, 5, 6, 7, 8, 9, 10, 11, 12, 13]


def test_the_rule_reads_the_application_and_not_the_store():
    modules = {path.relative_to(ROOT).as_posix() for path in application_modules()}
    assert {"review/bulk.py", "mapping/upstream.py", "mapping/osm_import.py", "config/settings.py"} <= modules
    assert not any(m.startswith(("mapping/store/", "tests/")) or "/migrations/" in m for m in modules)
