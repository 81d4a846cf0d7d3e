"""Presets from iD's tagging schema (extracted by scripts/extract_presets.py into data/presets.json).

A preset set is what a party offers residents: groups of presets (bench, defibrillator, footway...)
with their fields. Names, labels and options exist in English and French; :func:`presets_for` returns
them in one language, ready for the page.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "presets.json"
DEFAULT_SET = "cartoparty"
LANGS = ("en", "fr")


@cache
def load() -> dict[str, Any]:
    """The whole data file, read once per process."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def _lang(language: str | None) -> str:
    code = (language or "en").split("-")[0].lower()
    return code if code in LANGS else "en"


def set_names() -> list[str]:
    return list(load()["sets"])


def set_choices(language: str | None = None) -> list[tuple[str, str]]:
    """(name, label) pairs for a form's choices, e.g. Party.preset_set."""
    lang = _lang(language)
    return [(name, s["name"][lang]) for name, s in load()["sets"].items()]


def _pick(names: dict[str, str], lang: str) -> str:
    return names.get(lang) or names.get("en") or ""


@cache
def presets_for(set_name: str, language: str | None = None) -> dict[str, Any]:
    """One preset set in one language: its groups of presets and the fields they use.

    An unknown set name falls back to the default set, so a party never shows an empty picker.
    """
    data = load()
    lang = _lang(language)
    name = set_name if set_name in data["sets"] else DEFAULT_SET
    chosen = data["sets"][name]
    groups = []
    used_fields: set[str] = set()
    for group in chosen["groups"]:
        presets = []
        for pid in group["presets"]:
            preset = data["presets"][pid]
            used_fields.update(preset["fields"])
            presets.append(
                {
                    "id": pid,
                    "name": _pick(preset["name"], lang),
                    "terms": preset["terms"].get(lang, []),
                    "tags": preset["tags"],
                    "add_tags": preset["add_tags"],
                    "geometry": preset["geometry"],
                    "icon": group["icon"],
                    "fields": preset["fields"],
                }
            )
        groups.append(
            {"id": group["id"], "name": _pick(group["name"], lang), "icon": group["icon"], "presets": presets}
        )
    fields = {}
    for fid in sorted(used_fields):
        field = data["fields"][fid]
        out = {"key": field["key"], "type": field["type"], "label": _pick(field["label"], lang)}
        if "placeholder" in field:
            out["placeholder"] = _pick(field["placeholder"], lang)
        if "options" in field:
            out["options"] = [
                {"value": o["value"], "label": _pick(o["label"], lang)} for o in field["options"]
            ]
        if field.get("multiple"):
            out["multiple"] = True
        fields[fid] = out
    return {
        "set": name,
        "name": _pick(chosen["name"], lang),
        "language": lang,
        "groups": groups,
        "fields": fields,
    }


def preset_name(preset_id: str, language: str | None = None) -> str:
    """The preset's name in ``language`` (default: the active one), e.g. "Banc" for "amenity/bench".

    Pages show this rather than the id; "" for an empty id, the id itself when the data has no such
    preset (a preset of an older data file), so nothing is ever shown blank.
    """
    if not preset_id:
        return ""
    if language is None:
        from django.utils.translation import get_language

        language = get_language()
    preset = load()["presets"].get(preset_id)
    return _pick(preset["name"], _lang(language)) if preset else preset_id


def element_kind_name(element_type: str) -> str:
    """A plain name for a feature with no name and no preset ("Point", not "node"), in the active language."""
    from django.utils.translation import gettext as _

    kinds = {"node": _("Point"), "way": _("Line or area"), "relation": _("Group of features")}
    return kinds.get(element_type, "")


def match_preset(tags: dict[str, str], set_name: str = DEFAULT_SET) -> str:
    """The id of the most specific preset of the set whose tags ``tags`` carry; "" when none does."""
    best, best_score = "", 0
    data = load()
    chosen = data["sets"].get(set_name) or data["sets"][DEFAULT_SET]
    for group in chosen["groups"]:
        for pid in group["presets"]:
            wanted = data["presets"][pid]["tags"]
            if all(tags.get(k) == v or (v == "*" and k in tags) for k, v in wanted.items()):
                score = sum(2 if v != "*" else 1 for v in wanted.values())
                if score > best_score:
                    best, best_score = pid, score
    return best
