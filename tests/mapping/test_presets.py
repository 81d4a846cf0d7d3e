"""Presets: the committed data file is complete in both languages; the extractor builds it from iD's schema."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from mapping import presets

ROOT = Path(__file__).resolve().parents[2]


def test_every_set_is_complete_in_english_and_french():
    data = presets.load()
    assert presets.DEFAULT_SET in presets.set_names()
    for name in presets.set_names():
        for lang in ("en", "fr"):
            chosen = presets.presets_for(name, lang)
            for group in chosen["groups"]:
                assert group["name"] and group["presets"]
                for preset in group["presets"]:
                    assert preset["name"] and preset["geometry"], preset["id"]
                    assert all(fid in chosen["fields"] for fid in preset["fields"])
    assert data["source"]["version"] == "7.2.0"


def test_default_set_covers_the_brief():
    ids = {p["id"] for g in presets.presets_for("cartoparty", "en")["groups"] for p in g["presets"]}
    for wanted in (
        "amenity/bench", "amenity/waste_basket", "amenity/drinking_water", "amenity/post_box",
        "highway/street_lamp", "emergency/defibrillator", "amenity/pharmacy", "amenity/doctors",
        "leisure/playground", "leisure/picnic_table", "highway/footway", "highway/path", "highway/steps",
        "highway/cycleway", "highway/crossing", "building", "amenity/parking", "shop/bakery",
    ):  # fmt: skip
        assert wanted in ids


def test_names_and_fields_follow_the_language():
    fr = presets.presets_for("cartoparty", "fr-FR")
    bench = next(p for g in fr["groups"] for p in g["presets"] if p["id"] == "amenity/bench")
    assert bench["name"] == "Banc" and fr["language"] == "fr"
    assert fr["fields"]["material"]["label"] == "Matériau"
    wood = next(o for o in fr["fields"]["material"]["options"] if o["value"] == "wood")
    assert wood["label"] == "Bois"
    assert presets.presets_for("cartoparty", "de")["language"] == "en"  # unknown language: English
    assert presets.presets_for("no-such-set", "en")["set"] == "cartoparty"


def test_set_choices_and_match_preset():
    assert ("cartoparty", "Cartoparty (everything)") in presets.set_choices("en")
    assert presets.match_preset({"amenity": "bench", "backrest": "yes"}) == "amenity/bench"
    assert presets.match_preset({"shop": "bakery"}) == "shop/bakery"
    assert presets.match_preset({"shop": "florist"}) == "shop"  # the generic "shop=*" preset
    assert presets.match_preset({"highway": "footway", "footway": "crossing"}) == "highway/footway/crossing"
    assert presets.match_preset({"natural": "peak"}) == ""


@pytest.fixture
def extractor():
    spec = importlib.util.spec_from_file_location("extract_presets", ROOT / "scripts" / "extract_presets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_extractor_builds_from_a_small_package(tmp_path, extractor, monkeypatch):
    """The extraction code on a tiny hand-made package (no network): inheritance, {refs}, options."""
    dist = tmp_path / "package" / "dist"
    (dist / "translations").mkdir(parents=True)
    (dist / "presets.json").write_text(json.dumps({
        "amenity": {"fields": ["name"], "geometry": ["point"], "tags": {"amenity": "*"}},
        "amenity/bench": {"fields": ["{amenity}", "backrest", "material", "address"], "geometry": ["point", "vertex"],
                          "tags": {"amenity": "bench"}, "icon": "temaki-bench"},
        "amenity/bench/wood": {"geometry": ["point"], "tags": {"amenity": "bench", "material": "wood"}},
    }))  # fmt: skip
    (dist / "fields.json").write_text(json.dumps({
        "name": {"key": "name", "type": "localized"},
        "backrest": {"key": "backrest", "type": "check"},
        "material": {"key": "material", "type": "combo", "options": ["wood", "metal"]},
        "address": {"type": "address", "keys": ["addr:street"]},
    }))  # fmt: skip
    for lang, bench, label, wood in (("en", "Bench", "Material", "Wood"), ("fr", "Banc", "Matériau", "Bois")):
        (dist / "translations" / f"{lang}.json").write_text(json.dumps({lang: {"presets": {
            "presets": {"amenity/bench": {"name": bench, "terms": "seat"}, "amenity/bench/wood": {"name": bench}},
            "fields": {"name": {"label": "Name"}, "backrest": {"label": "Backrest"},
                       "material": {"label": label, "options": {"wood": wood}}},
        }}}))  # fmt: skip
    monkeypatch.setattr(
        extractor, "SETS", {"test": ({"en": "Test", "fr": "Test"}, {"street_furniture": ["amenity/bench"]})}
    )
    out = extractor.build(*extractor.load(tmp_path / "package"))
    bench = out["presets"]["amenity/bench"]
    assert bench["name"] == {"en": "Bench", "fr": "Banc"} and bench["terms"]["en"] == ["seat"]
    assert bench["fields"] == ["name", "backrest", "material"]  # {amenity} resolved; address skipped
    assert bench["geometry"] == ["point"]
    assert out["fields"]["material"]["options"][0] == {"value": "wood", "label": {"en": "Wood", "fr": "Bois"}}
    assert out["fields"]["material"]["options"][1]["label"] == {"en": "metal", "fr": "metal"}
    assert out["sets"]["test"]["groups"][0]["presets"] == ["amenity/bench"]
    assert extractor.field_ids("amenity/bench/wood", json.loads((dist / "presets.json").read_text())) == [
        "name", "backrest", "material", "address",
    ]  # fmt: skip
