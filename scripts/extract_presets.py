#!/usr/bin/env python3
"""Extract the presets and fields Cartoparty offers from iD's tagging schema into a committed data file.

Downloads the pinned ``@openstreetmap/id-tagging-schema`` package with ``npm pack`` into a temporary
directory (nothing is installed in the tree, no node_modules), reads dist/presets.json, dist/fields.json
and the English and French translations, and writes parties/presets/data/presets.json:

    {"source": {"package": ..., "version": ...},
     "sets": {name: {"name": {en, fr}, "groups": [{"id", "name": {en, fr}, "icon", "presets": [ids]}]}},
     "presets": {id: {"name": {en, fr}, "terms": {en, fr}, "tags", "add_tags", "geometry", "icon", "fields"}},
     "fields": {id: {"key", "type", "label": {en, fr}, "placeholder": {en, fr}, "options": [...]}},
     "catalogue": {id: {"name": {en, fr}, "tags", "geometry", "fields", "more", "score"}}}

The sets are what residents pick from when they add something. The catalogue is every preset of
the schema (searchable or not), kept only to *name* what is already on the map: a tapped clothes
shop is "Clothing Store" / "Magasin de vêtements" with its fields, even if no set offers it.

Usage: .venv/bin/python scripts/extract_presets.py [--from-dir DIR]  (DIR: an unpacked package/)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@openstreetmap/id-tagging-schema"
VERSION = "7.2.0"  # pinned: bump deliberately and review the diff of presets.json
OUT = Path(__file__).resolve().parent.parent / "parties" / "presets" / "data" / "presets.json"
LANGS = ("en", "fr")
MAX_OPTIONS = 80

# The field types the resident page knows how to edit, and what it shows for each.
FIELD_TYPES = {
    "text": "text",
    "localized": "text",
    "identifier": "text",
    "textarea": "textarea",
    "number": "number",
    "integer": "number",
    "tel": "tel",
    "url": "url",
    "email": "email",
    "combo": "combo",
    "semiCombo": "combo",
    "radio": "combo",
    "check": "check",
    "defaultCheck": "check",
}

# Group ids, their names and a glyph shown next to presets (iD's icons are separate packages).
GROUPS = {
    "street_furniture": ({"en": "Street furniture", "fr": "Mobilier urbain"}, "🪑"),
    "health": ({"en": "Health", "fr": "Santé"}, "⚕️"),
    "shops_services": ({"en": "Shops and services", "fr": "Commerces et services"}, "🏪"),
    "leisure": ({"en": "Leisure", "fr": "Loisirs"}, "🛝"),
    "paths": ({"en": "Paths and crossings", "fr": "Chemins et passages"}, "🚶"),
    "buildings_parking": ({"en": "Buildings and parking", "fr": "Bâtiments et stationnement"}, "🏠"),
    "accessibility": ({"en": "Accessibility", "fr": "Accessibilité"}, "♿"),
    "nature": ({"en": "Trees and nature", "fr": "Arbres et nature"}, "🌳"),
}

CARTOPARTY_GROUPS = {
    "street_furniture": [
        "amenity/bench", "amenity/waste_basket", "amenity/drinking_water", "amenity/post_box",
        "highway/street_lamp", "amenity/recycling_container", "amenity/toilets", "amenity/shelter",
        "amenity/fountain", "tourism/information/board", "emergency/fire_hydrant", "amenity/telephone",
        "amenity/vending_machine", "amenity/bicycle_parking", "amenity/bicycle_repair_station",
        "barrier/bollard", "public_transport/platform/bus_point", "amenity/dog_toilet",
    ],
    "health": [
        "emergency/defibrillator", "amenity/pharmacy", "amenity/doctors", "amenity/dentist",
        "amenity/clinic", "amenity/hospital", "healthcare/physiotherapist", "amenity/social_facility",
    ],
    "shops_services": [
        "shop", "shop/bakery", "shop/supermarket", "shop/convenience", "shop/butcher", "shop/hairdresser",
        "amenity/cafe", "amenity/restaurant", "amenity/bar", "amenity/fast_food", "amenity/bank",
        "amenity/atm", "amenity/post_office", "amenity/townhall", "amenity/library", "amenity/school",
        "amenity/kindergarten", "amenity/place_of_worship", "amenity/police", "amenity/community_centre",
        "office",
    ],
    "leisure": [
        "leisure/playground", "leisure/picnic_table", "amenity/bbq", "leisure/park", "leisure/pitch",
        "leisure/fitness_station", "playground/swing", "playground/slide", "leisure/garden",
    ],
    "paths": [
        "highway/footway", "highway/path", "highway/steps", "highway/cycleway", "highway/footway/crossing",
        "highway/crossing", "highway/pedestrian_line", "highway/pedestrian_area", "barrier/kerb",
        "barrier/gate",
    ],
    "buildings_parking": [
        "building", "building/house", "building/apartments", "building/commercial", "building/garage",
        "building/garages", "amenity/parking", "amenity/parking_space", "amenity/motorcycle_parking",
        "amenity/charging_station", "amenity/parking_entrance", "entrance",
    ],
}  # fmt: skip

SETS = {
    "cartoparty": ({"en": "Cartoparty (everything)", "fr": "Cartopartie (tout)"}, CARTOPARTY_GROUPS),
    "accessibility": (
        {"en": "Accessibility walk", "fr": "Balade accessibilité"},
        {
            "accessibility": [
                "highway/footway", "highway/footway/crossing", "highway/crossing", "barrier/kerb",
                "barrier/kerb/lowered", "highway/steps", "entrance", "amenity/toilets", "amenity/bench",
                "amenity/parking_space", "barrier/bollard", "public_transport/platform/bus_point",
            ],
        },
    ),
    "nature": (
        {"en": "Trees and parks", "fr": "Arbres et parcs"},
        {
            "nature": ["natural/tree", "leisure/park", "leisure/garden", "leisure/playground"],
            "street_furniture": ["amenity/bench", "amenity/waste_basket", "amenity/drinking_water"],
        },
    ),
}  # fmt: skip


def fetch(workdir: Path) -> Path:
    """npm pack the pinned package into ``workdir`` and unpack it; returns the package/ folder."""
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", str(workdir)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tgz = next(workdir.glob("*.tgz"))
    with tarfile.open(tgz) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package"


def load(package: Path) -> tuple[dict, dict, dict[str, dict]]:
    dist = package / "dist"
    presets = json.loads((dist / "presets.json").read_text())
    fields = json.loads((dist / "fields.json").read_text())
    strings = {
        lang: json.loads((dist / "translations" / f"{lang}.json").read_text())[lang]["presets"]
        for lang in LANGS
    }
    return presets, fields, strings


def field_ids(preset_id: str, presets: dict, key: str = "fields", seen: frozenset = frozenset()) -> list[str]:
    """A preset's field ids, resolving iD's "{other/preset}" references (and inheriting from the parent)."""
    preset = presets.get(preset_id)
    if preset is None:  # a parent that is not a preset itself ("@templates", "type/route/...")
        return []
    raw = preset.get(key)
    if raw is None and "/" in preset_id:  # iD inherits fields from the parent preset
        return field_ids(preset_id.rsplit("/", 1)[0], presets, key, seen | {preset_id})
    out: list[str] = []
    for fid in raw or []:
        if fid.startswith("{") and fid.endswith("}"):
            ref = fid[1:-1]
            if ref in presets and ref not in seen:
                out.extend(field_ids(ref, presets, key, seen | {preset_id}))
        else:
            out.append(fid)
    return list(dict.fromkeys(out))


def text(strings: dict[str, dict], section: str, item: str, attr: str) -> dict[str, str]:
    out = {}
    for lang in LANGS:
        value = strings[lang].get(section, {}).get(item, {}).get(attr)
        if isinstance(value, str) and value:
            out[lang] = value
    if "fr" not in out and "en" in out:
        out["fr"] = out["en"]
    return out


def option_label(strings: dict[str, dict], fid: str, value: str) -> dict[str, str]:
    out = {}
    for lang in LANGS:
        opt = strings[lang].get("fields", {}).get(fid, {}).get("options", {}).get(value)
        if isinstance(opt, dict):
            opt = opt.get("title")
        if isinstance(opt, str) and opt:
            out[lang] = opt
    out.setdefault("en", value.replace("_", " "))
    out.setdefault("fr", out["en"])
    return out


def convert_field(fid: str, field: dict, strings: dict[str, dict]) -> dict | None:
    kind = FIELD_TYPES.get(field.get("type", ""))
    if kind is None or "key" not in field or field["key"].endswith(":"):
        return None
    # Fields that only apply under another tag, or that set the feature's own type, are left to expert mode.
    if "prerequisiteTag" in field or field["key"] in {"building", "area", "type"}:
        return None
    out: dict = {"key": field["key"], "type": kind, "label": text(strings, "fields", fid, "label")}
    if not out["label"]:
        return None
    placeholder = text(strings, "fields", fid, "placeholder")
    if placeholder:
        out["placeholder"] = placeholder
    if kind == "combo":
        values = field.get("options") or list((field.get("strings") or {}).get("options", {}))
        out["options"] = [{"value": v, "label": option_label(strings, fid, v)} for v in values[:MAX_OPTIONS]]
        if field.get("type") == "semiCombo":
            out["multiple"] = True
    return out


def geometry(preset: dict) -> list[str]:
    kinds = {"point": "point", "vertex": "point", "line": "line", "area": "area"}
    return sorted({kinds[g] for g in preset.get("geometry", []) if g in kinds})


def build(presets: dict, fields: dict, strings: dict[str, dict]) -> dict:
    wanted = list(dict.fromkeys(p for _name, groups in SETS.values() for ids in groups.values() for p in ids))
    missing = [p for p in wanted if p not in presets]
    if missing:
        raise SystemExit(f"presets missing from {PACKAGE}@{VERSION}: {missing}")
    out_presets: dict[str, dict] = {}
    out_fields: dict[str, dict] = {}
    for pid in wanted:
        preset = presets[pid]
        fids = []
        for fid in ["name", *field_ids(pid, presets), *field_ids(pid, presets, "moreFields")[:6]]:
            if fid not in fields:
                continue
            converted = out_fields.get(fid) or convert_field(fid, fields[fid], strings)
            if converted and fid not in fids:
                out_fields[fid] = converted
                fids.append(fid)
        terms = {}
        for lang in LANGS:
            raw = strings[lang].get("presets", {}).get(pid, {}).get("terms")
            if isinstance(raw, str):
                raw = [t.strip() for t in raw.split(",") if t.strip()]
            terms[lang] = raw or []
        out_presets[pid] = {
            "name": text(strings, "presets", pid, "name"),
            "terms": terms,
            "tags": preset["tags"],
            "add_tags": preset.get("addTags", preset["tags"]),
            "geometry": geometry(preset),
            # A vertex preset (a crossing, an entrance...) is a point of a line: placed on a way.
            "vertex": "vertex" in preset.get("geometry", []) and "point" not in preset.get("geometry", []),
            "icon": preset.get("icon", ""),
            "fields": fids,
        }
    catalogue: dict[str, dict] = {}
    for pid, preset in sorted(presets.items()):
        name = text(strings, "presets", pid, "name")
        if pid.startswith("@") or not name or not preset.get("tags") or not geometry(preset):
            continue
        fids: list[str] = []
        more: list[str] = []
        for target, ids in (
            (fids, ["name", *field_ids(pid, presets)]),
            (more, field_ids(pid, presets, "moreFields")),
        ):
            for fid in ids:
                if fid not in fields or fid in fids or fid in more:
                    continue
                converted = out_fields.get(fid) or convert_field(fid, fields[fid], strings)
                if converted:
                    out_fields[fid] = converted
                    target.append(fid)
        entry = {"name": name, "tags": preset["tags"], "geometry": geometry(preset), "fields": fids}
        if more:  # shown when the feature has a value for them, as iD does
            entry["more"] = more
        if preset.get("matchScore", 1) != 1:
            entry["score"] = preset["matchScore"]
        catalogue[pid] = entry
    sets = {
        name: {
            "name": label,
            "groups": [
                {"id": gid, "name": GROUPS[gid][0], "icon": GROUPS[gid][1], "presets": ids}
                for gid, ids in groups.items()
            ],
        }
        for name, (label, groups) in SETS.items()
    }
    return {
        "source": {"package": PACKAGE, "version": VERSION, "licence": "ISC"},
        "sets": sets,
        "presets": out_presets,
        "fields": dict(sorted(out_fields.items())),
        "catalogue": catalogue,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-dir", type=Path, help="an unpacked package/ folder (skips npm pack)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        package = args.from_dir or fetch(Path(tmp))
        data = build(*load(package))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n")
    print(
        f"{OUT}: {len(data['presets'])} presets, {len(data['catalogue'])} in the catalogue,"
        f" {len(data['fields'])} fields, sets {sorted(data['sets'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
