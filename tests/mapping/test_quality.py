"""Quality checks: each flags what it should and stays quiet otherwise; messages in FR and EN."""

from __future__ import annotations

import json

import pytest

from mapping import quality
from mapping.models import Revision
from mapping.store import apply_change, element_state, next_local_id, payload_geometry
from tests.factories import NodeFactory, ResidentFactory, RevisionFactory

pytestmark = pytest.mark.django_db


def proposal(party, element_type="node", action="create", after=None, before=None, element_id=None, **kw):
    """An unsaved revision, as submit_edit builds it before calling run_checks."""
    return Revision(
        town=party.town,
        party=party,
        author=kw.pop("author", None) or ResidentFactory(party=party),
        element_type=element_type,
        element_id=element_id or next_local_id(),
        action=action,
        before=before,
        after=after,
        geom_before=payload_geometry(element_type, before),
        geom_after=payload_geometry(element_type, after),
        **kw,
    )


def node(lon=9.5209, lat=47.1410, **tags):
    return {"tags": tags, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def codes(flags):
    return [f["code"] for f in flags]


def test_every_flag_has_both_languages_and_is_json(party):
    rev = proposal(party, after=node(9.6, 47.2, shop="bakery", amnity="x"))
    flags = quality.run_checks(rev)
    assert {"outside_party_area", "missing_required_field", "misspelt_key"} <= set(codes(flags))
    for flag in flags:
        assert flag["message_en"] and flag["message_fr"] and flag["severity"] in {"info", "warning", "error"}
    json.dumps(flags)
    fr = next(f for f in flags if f["code"] == "missing_required_field")["message_fr"]
    assert fr == "Un champ obligatoire manque : name."


def test_clean_bench_has_no_flag(party):
    assert quality.run_checks(proposal(party, after=node(amenity="bench", backrest="yes"))) == []


BOWTIE = [[None, 9.520, 47.140], [None, 9.521, 47.141], [None, 9.521, 47.140], [None, 9.520, 47.141]]
SQUARE = [[None, 9.520, 47.140], [None, 9.521, 47.140], [None, 9.521, 47.141], [None, 9.520, 47.141]]


def test_self_intersecting_area_is_repaired_and_the_shape_offered(party):
    rev = proposal(party, "way", after={"tags": {"building": "yes"}, "nodes": BOWTIE, "closed": True})
    (flag,) = quality.check_geometry(rev)
    assert flag["code"] == "geometry_repaired" and "crosses itself" in flag["message_en"]
    # Plain language for people: no GEOS explanation with raw coordinates ("Self-intersection[9.52 ...]").
    assert "Self-intersection" not in flag["message_en"] + flag["message_fr"]
    assert "9.52" not in flag["message_en"] + flag["message_fr"]
    assert "Self-intersection" in flag["data"]["reason"]  # kept in the data, for whoever needs it
    assert flag["data"]["repaired"]["type"] == "MultiPolygon"
    assert quality.repaired_geometry([flag]) == flag["data"]["repaired"]


def test_degenerate_area_is_unrepairable(party):
    flat = [[None, 9.520, 47.140], [None, 9.521, 47.140], [None, 9.522, 47.140]]
    rev = proposal(party, "way", after={"tags": {"building": "yes"}, "nodes": flat, "closed": True})
    assert codes(quality.check_geometry(rev)) == ["geometry_unrepairable"]


def test_valid_area_and_crossing_line_are_not_flagged(party):
    square = proposal(party, "way", after={"tags": {"building": "yes"}, "nodes": SQUARE, "closed": True})
    loop = proposal(party, "way", after={"tags": {"highway": "footway"}, "nodes": BOWTIE, "closed": False})
    assert quality.check_geometry(square) == [] and quality.check_geometry(loop) == []


def test_outside_party_area(party):
    assert codes(quality.check_party_area(proposal(party, after=node(9.60, 47.20, amenity="bench")))) == [
        "outside_party_area"
    ]
    assert quality.check_party_area(proposal(party, after=node(amenity="bench"))) == []


def test_required_field_missing(party):
    assert codes(quality.check_required_fields(proposal(party, after=node(shop="bakery")))) == [
        "missing_required_field"
    ]
    worship = quality.check_required_fields(
        proposal(party, after=node(amenity="place_of_worship", name="St"))
    )
    assert worship[0]["data"]["keys"] == "religion"
    assert quality.check_required_fields(proposal(party, after=node(shop="bakery", name="Anna"))) == []


def test_likely_duplicate_within_a_few_metres(party):
    NodeFactory(town=party.town, tags={"amenity": "bench"}, geom=payload_geometry("node", node()))
    near = proposal(party, after=node(9.52095, 47.1410, amenity="bench"))  # about 4 m east
    (flag,) = quality.check_duplicate(near)
    assert flag["code"] == "likely_duplicate" and 3 < flag["data"]["distance"] < 5
    # Named by the preset in each language, never by raw tags or element ids ("node 5258").
    assert "(Bench)" in flag["message_en"] and "(Banc)" in flag["message_fr"]
    assert "node" not in flag["message_en"] and "amenity" not in flag["message_en"] + flag["message_fr"]
    far = proposal(party, after=node(9.5215, 47.1410, amenity="bench"))  # about 45 m east
    other_kind = proposal(party, after=node(9.52095, 47.1410, amenity="waste_basket"))
    assert quality.check_duplicate(far) == [] and quality.check_duplicate(other_kind) == []


def test_duplicate_area(party):
    apply_change(
        town=party.town,
        element_type="way",
        element_id=next_local_id(),
        action="create",
        after={"tags": {"building": "yes"}, "nodes": SQUARE, "closed": True},
        base_version=None,
    )
    same = proposal(party, "way", after={"tags": {"building": "yes"}, "nodes": SQUARE, "closed": True})
    shifted = [[None, lon + 0.002, lat] for _, lon, lat in SQUARE]
    apart = proposal(party, "way", after={"tags": {"building": "yes"}, "nodes": shifted, "closed": True})
    assert codes(quality.check_duplicate(same)) == ["likely_duplicate"]
    assert quality.check_duplicate(apart) == []


def test_misspelt_and_unknown_keys_and_values(party):
    flags = quality.check_tag_schema(
        proposal(party, after=node(amenty="bench", shop="bakry", zzqx="1", **{"name:fr": "Banc"}))
    )
    by_code = {f["code"]: f for f in flags}
    assert by_code["misspelt_key"]["data"]["suggestion"] == "amenity"
    assert by_code["misspelt_value"]["data"]["suggestion"] == "bakery"
    assert by_code["unknown_key"]["data"]["key"] == "zzqx"
    assert "vouliez-vous dire « amenity »" in by_code["misspelt_key"]["message_fr"]
    assert (
        quality.check_tag_schema(proposal(party, after=node(shop="bakery", name="A", **{"addr:street": "x"})))
        == []
    )


def test_unchanged_tags_are_not_the_contributors_doing(party):
    before = node(amenity="bench", amnity="old typo")
    rev = proposal(
        party, action="modify", before=before, after=node(amenity="bench", amnity="old typo", lit="yes")
    )
    assert quality.check_tag_schema(rev) == []


def test_long_values(party):
    long_name = proposal(party, after=node(amenity="bench", name="x" * 100))
    assert codes(quality.check_long_values(long_name)) == ["long_value"]
    description = proposal(party, after=node(amenity="bench", name="Bench", description="y" * 200))
    assert quality.check_long_values(description) == []


def test_deleting_a_node_used_by_a_way(party):
    way = apply_change(
        town=party.town,
        element_type="way",
        element_id=next_local_id(),
        action="create",
        after={"tags": {"highway": "footway"}, "nodes": SQUARE[:2]},
        base_version=None,
    )
    used = way.nodes[0]
    from mapping.models import Node

    vertex = Node.objects.get(town=party.town, osm_id=used)
    rev = proposal(party, action="delete", element_id=used, before=element_state(vertex), base_version=1)
    (flag,) = quality.check_deletions(rev)
    assert flag["code"] == "deletes_used_feature" and flag["data"]["elements"] == [f"way {way.osm_id}"]
    assert flag["message_en"] == "This feature is part of 1 other feature(s): deleting it would break them."
    assert str(way.osm_id) not in flag["message_fr"]
    lonely = NodeFactory(town=party.town)
    free = proposal(
        party, action="delete", element_id=lonely.osm_id, before=element_state(lonely), base_version=1
    )
    assert quality.check_deletions(free) == []


def test_large_deletions(party):
    many = [[None, 9.52 + i * 1e-4, 47.14 + (i % 2) * 1e-4] for i in range(45)]
    big = proposal(party, "way", action="delete", before={"tags": {"highway": "path"}, "nodes": many})
    assert codes(quality.check_deletions(big)) == ["large_deletion"]
    reshaped = proposal(
        party,
        "way",
        action="modify",
        before={"tags": {"highway": "path"}, "nodes": many},
        after={"tags": {"highway": "path"}, "nodes": many[:5]},
    )
    assert codes(quality.check_deletions(reshaped)) == ["large_deletion"]
    small = proposal(party, "way", action="delete", before={"tags": {"highway": "path"}, "nodes": many[:5]})
    assert quality.check_deletions(small) == []


def test_many_deletions_by_one_contributor(party):
    author = ResidentFactory(party=party)
    for _ in range(quality.MASS_DELETIONS - 1):
        target = NodeFactory(town=party.town)
        RevisionFactory.delete(target, party=party, author=author)
    last = NodeFactory(town=party.town)
    rev = proposal(party, action="delete", element_id=last.osm_id, before=element_state(last), author=author)
    assert "mass_deletion" in codes(quality.check_deletions(rev))
    other = proposal(party, action="delete", element_id=last.osm_id, before=element_state(last))
    assert "mass_deletion" not in codes(quality.check_deletions(other))


def test_edit_distance_and_suggestions():
    assert quality.edit_distance("amenty", "amenity") == 1
    assert quality.edit_distance("abc", "xyzxyzxyz") > 3
    assert quality.suggest("hihgway", quality.KNOWN_KEYS) == "highway"
    assert quality.suggest("qqqqqq", quality.KNOWN_KEYS) is None
