"""Every ``# type: ignore`` in the application names its error code and says why (CONTRIBUTING.md).

mypy itself refuses a bare ignore (``ignore-without-code``) and an unused one (``warn_unused_ignores``);
the reason is a convention mypy cannot see, so it is checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = {".venv", "var", "node_modules", "tests", "bench", "scripts", "migrations", "build"}
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<code>\[[a-z-, ]+\])?(?P<rest>.*)$")


def unexplained(text: str) -> list[int]:
    """Line numbers of ignores without a code or without a ``# reason`` after it."""
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        found = IGNORE.search(line)
        if found and not (found["code"] and re.match(r"\s*#\s*\S", found["rest"])):
            lines.append(number)
    return lines


def test_the_rule_reads_code_and_reason():
    assert unexplained("x.pop('v')  # type: ignore[typeddict-item]  # a state has one") == []
    assert unexplained("x.pop('v')  # type: ignore[typeddict-item]") == [1]
    assert unexplained("x.pop('v')  # type: ignore  # no code") == [1]


def test_every_ignore_in_the_application_is_explained():
    found = {
        str(path.relative_to(ROOT)): lines
        for path in ROOT.rglob("*.py")
        if not OUTSIDE & set(path.relative_to(ROOT).parts)
        if (lines := unexplained(path.read_text(encoding="utf-8")))
    }
    assert found == {}
