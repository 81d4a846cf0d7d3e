"""Presets: the committed data file is complete in both languages; the extractor builds it from iD's schema."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from parties import presets

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
    assert presets.match_preset({"natural": "peak"}) == ""  # not in the set (the catalogue names it)


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
    # The catalogue names every preset of the package, the unsearchable "amenity" one too.
    assert out["catalogue"]["amenity/bench/wood"] == {
        "name": {"en": "Bench", "fr": "Banc"}, "tags": {"amenity": "bench", "material": "wood"},
        "geometry": ["point"], "fields": ["name", "backrest", "material"],
    }  # fmt: skip
    assert "amenity" not in out["catalogue"]  # no name in the translations: nothing to show
    assert extractor.field_ids("amenity/bench/wood", json.loads((dist / "presets.json").read_text())) == [
        "name", "backrest", "material", "address",
    ]  # fmt: skip


def test_the_catalogue_names_what_no_set_offers_in_both_languages():
    assert presets.match_catalogue({"shop": "clothes", "name": "Mode"}) == "shop/clothes"
    assert presets.match_catalogue({"natural": "peak"}) == "natural/peak"
    assert presets.match_catalogue({"amenity": "cafe", "building": "yes"}, "area") == "amenity/cafe"
    assert presets.match_catalogue({"building": "yes"}, "area") == "building"
    assert presets.match_catalogue({"highway": "pedestrian"}, "line") == "highway/pedestrian_line"
    assert (
        presets.match_catalogue({"highway": "pedestrian", "area": "yes"}, "area") == "highway/pedestrian_area"
    )
    assert presets.match_catalogue({"fixme": "check"}) == ""
    cafe = presets.describe({"amenity": "cafe", "outdoor_seating": "yes"}, "point", "fr-FR")
    assert cafe["id"] == "amenity/cafe" and cafe["name"] == "Café"
    assert cafe["field_defs"]["outdoor_seating"]["label"] == "Places en terrasse"
    assert set(cafe["fields"]) == set(cafe["field_defs"])
    assert (
        presets.match_catalogue({"amenity": "cafe", "cuisine": "coffee_shop"}) == "amenity/cafe/coffee_shop"
    )
    assert presets.describe({"amenity": "cafe"}, "point", "en")["name"] == "Cafe"
    assert presets.describe({"fixme": "check"}) is None
    assert presets.preset_name("shop/clothes", "fr") == "Magasin de vêtements"
    assert presets.preset_name("amenity/bench", "en") == "Bench"
    assert presets.preset_name("no/such", "fr") == "no/such"


def test_describe_adds_the_more_fields_the_feature_has_a_value_for():
    plain = presets.describe({"amenity": "restaurant"}, "point", "fr")
    assert "wheelchair" not in plain["fields"]
    accessible = presets.describe({"amenity": "restaurant", "wheelchair": "no"}, "point", "fr")
    assert accessible["fields"] == [*plain["fields"], "wheelchair"]
    assert accessible["field_defs"]["wheelchair"]["label"] == "Accès en fauteuil roulant"


def test_describe_prefers_the_sets_preset_with_its_richer_fields():
    bench = presets.describe({"amenity": "bench"}, "point", "en", "cartoparty")
    assert bench["id"] == "amenity/bench"
    assert bench["fields"] == presets.load()["presets"]["amenity/bench"]["fields"]  # moreFields too
    assert set(bench["fields"]) == set(bench["field_defs"])
    # The set's generic "shop" loses to the catalogue's clothes shop.
    assert presets.describe({"shop": "clothes"}, "point", "en", "cartoparty")["id"] == "shop/clothes"


@pytest.mark.parametrize("raw", [None, "", "[1]", '{"a": 1}', '{"a": ["b"]}', "{" * 100000, '{"a": "b"x'])
def test_parse_tags_refuses_what_is_not_an_object_of_text(raw):
    with pytest.raises(presets.BadTags):
        presets.parse_tags(raw)


def test_parse_tags_caps_the_number_of_tags():
    assert presets.parse_tags('{"amenity": "bench"}') == {"amenity": "bench"}
    with pytest.raises(presets.BadTags):
        presets.parse_tags(json.dumps({f"k{i}": "v" for i in range(presets.MAX_DESCRIBE_TAGS + 1)}))
