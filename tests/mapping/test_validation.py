"""Pure tag and geometry rules: what a resident's change may contain."""

from __future__ import annotations

import pytest
from django.utils import translation

from mapping.validation import (
    issues_by_field,
    tags_as_dict,
    validate_geometry,
    validate_payload,
    validate_tags,
)


def codes(issues):
    return [i.code for i in issues]


def test_ordinary_tags_are_valid():
    assert validate_tags({"amenity": "bench", "name": "Banc du Städtle", "backrest": "yes"}) == []


def test_tags_may_come_as_pairs_to_detect_duplicates():
    assert codes(validate_tags([["name", "A"], ["name", "B"]])) == ["duplicate_key"]
    assert tags_as_dict([["amenity", "bench"], ["name", "A"]]) == {"amenity": "bench", "name": "A"}


@pytest.mark.parametrize(
    ("tags", "code", "field"),
    [
        ({"": "x"}, "empty_key", "tags"),
        ({"  ": "x"}, "empty_key", "tags.  "),
        ({"k" * 256: "x"}, "key_too_long", "tags." + "k" * 256),
        ({"name": "v" * 256}, "value_too_long", "tags.name"),
        ({"name": "line\nbreak"}, "control_chars", "tags.name"),
        ({"na\x00me": "x"}, "control_chars", "tags.na\x00me"),
        ({"name": "del\x7f"}, "control_chars", "tags.name"),
        ({"name": 3}, "format", "tags"),
        ("amenity=bench", "format", "tags"),
        ([["only-key"]], "format", "tags"),
    ],
)
def test_bad_tags_are_refused_with_the_field(tags, code, field):
    issues = validate_tags(tags)
    assert codes(issues) == [code]
    assert issues[0].field == field
    assert issues[0].message


def test_255_characters_are_allowed_counted_as_characters_not_bytes():
    assert validate_tags({"k" * 255: "é" * 255}) == []


def test_too_many_tags():
    assert "too_many" in codes(validate_tags({f"k{i}": "v" for i in range(101)}))
    assert validate_tags({f"k{i}": "v" for i in range(100)}) == []


def test_script_like_values_are_text_not_refused():
    """OSM accepts them; the pages only ever show them as text."""
    assert validate_tags({"name": "<script>alert(1)</script>", "website": "javascript:alert(1)"}) == []


def test_messages_are_translated():
    with translation.override("fr"):
        message = validate_tags({"name": "a\tb"})[0].message
    with translation.override("en"):
        english = validate_tags({"name": "a\tb"})[0].message
    assert english.startswith("Tags cannot contain control characters")
    assert isinstance(message, str) and message


def point(lon, lat):
    return {"tags": {}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def test_points():
    assert validate_geometry("node", point(9.52, 47.14)) == []
    assert codes(validate_geometry("node", point(181, 47))) == ["out_of_range"]
    assert codes(validate_geometry("node", point(9, -91))) == ["out_of_range"]
    assert codes(validate_geometry("node", point("9", 47))) == ["not_number"]
    assert codes(validate_geometry("node", point(float("nan"), 47))) == ["not_number"]
    assert codes(validate_geometry("node", point(True, 47))) == ["not_number"]
    assert codes(validate_geometry("node", {"geometry": {"type": "LineString"}})) == ["format"]
    assert codes(validate_geometry("node", None)) == ["format"]


def way(coords, closed=False, refs=None):
    refs = refs or [None] * len(coords)
    return {
        "tags": {},
        "nodes": [[r, x, y] for r, (x, y) in zip(refs, coords, strict=True)],
        "closed": closed,
    }


SQUARE = [(9.52, 47.14), (9.521, 47.14), (9.521, 47.141), (9.52, 47.141)]


def test_lines():
    assert validate_geometry("way", way(SQUARE[:2])) == []
    assert codes(validate_geometry("way", way(SQUARE[:1]))) == ["too_few_nodes"]
    assert codes(validate_geometry("way", way([SQUARE[0], SQUARE[0]]))) == ["too_few_nodes"]
    bowtie_line = [(0, 0), (1, 1), (1, 0), (0, 1)]
    assert codes(validate_geometry("way", way(bowtie_line))) == ["self_intersection"]
    assert codes(validate_geometry("way", {"nodes": [[None, 1]]})) == ["format"]
    assert codes(validate_geometry("way", {"nodes": [["x", 1, 2], [None, 1, 3]]})) == ["format"]
    assert codes(validate_geometry("way", way(SQUARE[:2], refs=[5, 5]))) == ["repeated_node"]


def test_2000_nodes_at_most():
    line = [(9 + i * 1e-5, 47 + (i % 2) * 1e-5) for i in range(2000)]
    assert validate_geometry("way", way(line)) == []
    line.append((9.1, 47.1))
    assert codes(validate_geometry("way", way(line))) == ["too_many_nodes"]


def test_areas():
    assert validate_geometry("way", way(SQUARE, closed=True)) == []
    assert codes(validate_geometry("way", way(SQUARE[:2] + [SQUARE[0]], closed=True))) == ["area_too_small"]
    bowtie = [(0, 0), (1, 1), (1, 0), (0, 1)]
    issues = validate_geometry("way", way(bowtie, closed=True))
    assert codes(issues) == ["self_intersection"]
    # Plain language: the resident is told what to do, without GEOS's explanation and coordinates.
    assert issues[0].message == "The outline crosses itself: move a point so that it does not."


def test_relations_and_unknown_types():
    good = {"tags": {"type": "multipolygon"}, "members": [{"type": "way", "ref": 1, "role": "outer"}]}
    assert validate_geometry("relation", good) == []
    assert codes(validate_geometry("relation", {"members": [{"type": "area", "ref": 1}]})) == ["format"]
    assert codes(validate_geometry("changeset", {})) == ["unknown"]


def test_issues_by_field_groups_messages():
    issues = validate_payload(
        "node", {"tags": {"name": "a\nb"}, "geometry": {"type": "Point", "coordinates": [200, 0]}}
    )
    grouped = issues_by_field(issues)
    assert set(grouped) == {"tags.name", "geometry"}


@pytest.mark.parametrize("char", ["\u200b", "\u200e", "\ufeff", "\u2066"])
def test_invisible_format_characters_in_keys_are_refused(char):
    issues = validate_tags({f"na{char}me": "Risch"})
    assert [i.code for i in issues] == ["invisible_chars"]
    assert f"U+{ord(char):04X}" in issues[0].message and "“name”" in issues[0].message


def test_values_lose_invisible_format_characters_but_keep_joiners():
    tags = {"name": "\ufeffCafé\u200b Risch\u200f", "name:fa": "می\u200cخواهم", "emoji": "👩\u200d💻"}
    assert validate_tags(tags) == []
    assert tags_as_dict(tags) == {"name": "Café Risch", "name:fa": "می\u200cخواهم", "emoji": "👩\u200d💻"}


def test_keys_and_values_are_nfc_and_duplicates_are_found_after_it():
    decomposed = "cafe\u0301"  # "café" typed with a combining accent
    assert tags_as_dict({"name": decomposed}) == {"name": "café"}
    assert tags_as_dict({decomposed: "yes"}) == {"café": "yes"}
    issues = validate_tags([["café", "1"], [decomposed, "2"]])
    assert [i.code for i in issues] == ["duplicate_key"]
