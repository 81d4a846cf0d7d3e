"""One source of the SRID: ``core.geo.SRID``. A literal elsewhere in code would let a model, a query
and the importer's EWKB drift apart. Migrations keep their literals (they record history, and must
not change when the constant does); tests may write it to check what the code stores."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r"4326")
SKIPPED = {".venv", "var", "node_modules", "tests", "migrations", ".git"}


def literals(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if SKIPPED & set(relative.parts) or relative == Path("core/geo.py"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if LITERAL.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_the_srid_is_written_once():
    found = literals(ROOT)
    assert not found, "literal 4326 outside core/geo.py (use core.geo.SRID):\n" + "\n".join(found)


def test_the_check_finds_a_literal(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "geo.py").write_text("SRID = 4326\n")
    (tmp_path / "mapping" / "migrations").mkdir(parents=True)
    (tmp_path / "mapping" / "migrations" / "0001_initial.py").write_text("srid=4326\n")
    (tmp_path / "mapping" / "selectors.py").write_text("ENV = 'ST_MakeEnvelope(0, 0, 1, 1, 4326)'\n")
    assert literals(tmp_path) == ["mapping/selectors.py:1: ENV = 'ST_MakeEnvelope(0, 0, 1, 1, 4326)'"]
