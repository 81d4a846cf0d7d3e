"""Presets from iD's tagging schema (extracted by scripts/extract_presets.py into data/presets.json).

A preset set is what a party offers residents: groups of presets (bench, defibrillator, footway...)
with their fields. Names, labels and options exist in English and French; :func:`presets_for` returns
them in one language, ready for the page.

The catalogue is every preset of the schema, to *name* what is already mapped (:func:`describe`):
a tapped feature shows as "Magasin de vêtements" with its fields, whether or not the party's set
offers that preset, as iD shows it; raw tags are for expert mode.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from core.errors import Invalid

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
                    "vertex": preset.get("vertex", False),
                    "icon": group["icon"],
                    "fields": preset["fields"],
                }
            )
        groups.append(
            {"id": group["id"], "name": _pick(group["name"], lang), "icon": group["icon"], "presets": presets}
        )
    fields = {fid: _field(data["fields"][fid], lang) for fid in sorted(used_fields)}
    return {
        "set": name,
        "name": _pick(chosen["name"], lang),
        "language": lang,
        "groups": groups,
        "fields": fields,
    }


def _score(wanted: dict[str, str], tags: dict[str, str], weight: float = 1) -> float:
    """iD's match score: each tag the preset names counts, a value more than "any value" (``*``);
    0 when a tag is missing. ``weight`` is the preset's matchScore (generic presets weigh less)."""
    if not all(tags.get(k) == v or (v == "*" and k in tags) for k, v in wanted.items()):
        return 0
    return sum(2 if v != "*" else 1 for v in wanted.values()) * weight


def preset_name(preset_id: str, language: str | None = None) -> str:
    """The name of a preset of a set or of iD's catalogue in ``language`` (default: the active one),
    e.g. "Banc" for "amenity/bench".

    Pages show this rather than the id; "" for an empty id, the id itself when the data has no such
    preset (a preset of an older data file), so nothing is ever shown blank.
    """
    if not preset_id:
        return ""
    if language is None:
        from django.utils.translation import get_language

        language = get_language()
    data = load()
    preset = data["presets"].get(preset_id) or data["catalogue"].get(preset_id)
    return _pick(preset["name"], _lang(language)) if preset else preset_id


def element_kind_name(element_type: str) -> str:
    """A plain name for a feature with no name and no preset ("Point", not "node"), in the active language."""
    from django.utils.translation import gettext as _

    kinds = {"node": _("Point"), "way": _("Line or area"), "relation": _("Group of features")}
    return kinds.get(element_type, "")


def match_preset(tags: dict[str, str], set_name: str = DEFAULT_SET) -> str:
    """The id of the most specific preset of the set whose tags ``tags`` carry; "" when none does."""
    best, best_score = "", 0.0
    data = load()
    chosen = data["sets"].get(set_name) or data["sets"][DEFAULT_SET]
    for group in chosen["groups"]:
        for pid in group["presets"]:
            score = _score(data["presets"][pid]["tags"], tags)
            if score > best_score:
                best, best_score = pid, score
    return best


def match_catalogue(tags: dict[str, str], geometry: str | None = None) -> str:
    """The id of the schema preset that best names a feature with ``tags`` ("" when none does).

    ``geometry`` ("point", "line" or "area"), when given, keeps only presets drawn that way, as iD
    does (a closed footway is not a pedestrian area).
    """
    best, best_score = "", 0.0
    for pid, preset in load()["catalogue"].items():
        if geometry and geometry not in preset["geometry"]:
            continue
        score = _score(preset["tags"], tags, preset.get("score", 1))
        if score > best_score:
            best, best_score = pid, score
    return best


def _field(field: dict[str, Any], lang: str) -> dict[str, Any]:
    out = {"key": field["key"], "type": field["type"], "label": _pick(field["label"], lang)}
    if "placeholder" in field:
        out["placeholder"] = _pick(field["placeholder"], lang)
    if "options" in field:
        out["options"] = [{"value": o["value"], "label": _pick(o["label"], lang)} for o in field["options"]]
    if field.get("multiple"):
        out["multiple"] = True
    return out


def describe(
    tags: dict[str, str],
    geometry: str | None = None,
    language: str | None = None,
    set_name: str | None = None,
) -> dict[str, Any] | None:
    """What a mapped feature is, in ``language``: its preset's id, name and fields, or None.

    The preset of the party's set (``set_name``) when it is the best name for the feature (it carries
    the set's fields), otherwise the catalogue's: the resident then edits a clothes shop with the
    clothes shop's fields, not the generic shop's.
    """
    data, lang = load(), _lang(language)
    pid = match_catalogue(tags, geometry)
    in_set = set_name and match_preset(tags, set_name)
    if in_set and (
        not pid
        or _score(data["presets"][in_set]["tags"], tags) >= _score(data["catalogue"][pid]["tags"], tags)
    ):
        pid, preset = in_set, data["presets"][in_set]
    elif pid:
        preset = data["catalogue"][pid]
    else:
        return None
    # iD's "more fields": shown only when the feature has a value for them (a restaurant's
    # wheelchair access, a shop's opening hours).
    more = data["catalogue"].get(pid, {}).get("more", [])
    fields = preset["fields"] + [
        fid for fid in more if fid not in preset["fields"] and data["fields"][fid]["key"] in tags
    ]
    return {
        "id": pid,
        "name": _pick(preset["name"], lang),
        "tags": preset["tags"],
        "add_tags": preset.get("add_tags", preset["tags"]),
        "geometry": preset["geometry"],
        "fields": fields,
        "field_defs": {fid: _field(data["fields"][fid], lang) for fid in fields},
    }


GEOMETRIES = ("point", "line", "area")
MAX_DESCRIBE_TAGS = 100


class BadTags(Invalid):
    """Tags to describe that are not a JSON object of strings (the message says why; a 400)."""


def parse_tags(raw: str | None) -> dict[str, str]:
    """``{"key": "value", ...}`` sent by a page to :func:`describe`; raises BadTags."""
    from django.utils.translation import gettext as _

    try:
        tags = json.loads(raw or "")
    except (ValueError, RecursionError) as exc:
        raise BadTags(_("tags must be a JSON object of text values.")) from exc
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise BadTags(_("tags must be a JSON object of text values."))
    if len(tags) > MAX_DESCRIBE_TAGS:
        raise BadTags(_("At most %(n)s tags.") % {"n": MAX_DESCRIBE_TAGS})
    return tags
