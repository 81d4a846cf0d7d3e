"""Keep the French and English catalogues complete.

    .venv/bin/python scripts/translations.py          # makemessages, fill from locale/fr_strings/*.json
    .venv/bin/python scripts/translations.py --check  # exit 1 if a French msgid has no translation

French translations live as reviewable JSON ({"English msgid": "French"}) in locale/fr_strings/, one
file per area, and are merged into locale/fr/LC_MESSAGES/django.po and djangojs.po. The English
catalogue needs no translation (msgids are English) and is kept in step for completeness.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv/bin/python")
IGNORES = ["--ignore=.venv", "--ignore=var", "--ignore=tests", "--ignore=node_modules", "--ignore=bench"]


def load_strings() -> dict[str, str]:
    strings: dict[str, str] = {}
    for path in sorted((ROOT / "locale/fr_strings").glob("*.json")):
        strings.update(json.loads(path.read_text(encoding="utf-8")))
    return strings


def makemessages() -> None:
    base = [PY, "manage.py", "makemessages", "-l", "fr", "-l", "en", "--no-obsolete", "-v", "0", *IGNORES]
    subprocess.run(base, cwd=ROOT, check=True)
    subprocess.run([*base, "-d", "djangojs", "--ignore=static/vendor"], cwd=ROOT, check=True)


def fill(strings: dict[str, str]) -> list[str]:
    missing = []
    for name in ("django.po", "djangojs.po"):
        path = ROOT / "locale/fr/LC_MESSAGES" / name
        if not path.exists():
            continue
        po = polib.pofile(str(path))
        for entry in po:
            # Templates' {% blocktranslate %} doubles percent signs in msgids; JSON keys need not.
            key = entry.msgid if entry.msgid in strings else entry.msgid.replace("%%", "%")
            doubled = key != entry.msgid
            if key in strings and strings[key]:
                value = strings[key].replace("%", "%%") if doubled else strings[key]
                if entry.msgid_plural:
                    plural = strings.get(entry.msgid_plural, value)
                    entry.msgstr_plural = {0: value, 1: plural}
                else:
                    entry.msgstr = value
                if "fuzzy" in entry.flags:
                    entry.flags.remove("fuzzy")
            if not (entry.msgstr or any(entry.msgstr_plural.values())) or "fuzzy" in entry.flags:
                missing.append(f"{name}: {entry.msgid}")
        po.metadata["Language"] = "fr"
        po.metadata["Plural-Forms"] = "nplurals=2; plural=(n > 1);"
        po.save()
    return missing


def check() -> list[str]:
    missing = []
    for name in ("django.po", "djangojs.po"):
        path = ROOT / "locale/fr/LC_MESSAGES" / name
        if path.exists():
            po = polib.pofile(str(path))
            missing += [f"{name}: {e.msgid}" for e in po.untranslated_entries() + po.fuzzy_entries()]
    return missing


def main() -> int:
    if "--check" in sys.argv:
        missing = check()
    else:
        makemessages()
        missing = fill(load_strings())
        subprocess.run(
            [PY, "manage.py", "compilemessages", "-v", "0", "--ignore=.venv"], cwd=ROOT, check=True
        )
    for line in missing:
        print("untranslated:", line)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
