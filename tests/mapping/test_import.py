"""Import: counts equal osmium's, idempotence, validity, corrupt and hostile files change nothing."""

from __future__ import annotations

import bz2
import re
import subprocess

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from mapping.models import Node, Relation, Way
from mapping.osm_import import ImportError_, import_osm
from parties.models import Town
from tests.conftest import CENTRE_PBF, DEMO_PBF


def osmium_counts(path, osm_tool) -> dict[str, int]:
    out = subprocess.run(
        [osm_tool("osmium"), "fileinfo", "-e", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        kind: int(re.search(rf"Number of {kind}s: (\d+)", out).group(1))
        for kind in ("node", "way", "relation")
    }


def store_counts(town) -> dict[str, int]:
    return {
        "node": Node.objects.filter(town=town).count(),
        "way": Way.objects.filter(town=town).count(),
        "relation": Relation.objects.filter(town=town).count(),
    }


@pytest.mark.django_db
def test_demo_counts_equal_osmium(vaduz, osm_tool):
    """Every node, way and relation of the demo extract is stored, as osmium counts them."""
    assert store_counts(vaduz) == osmium_counts(DEMO_PBF, osm_tool)


@pytest.mark.django_db
def test_every_stored_geometry_is_valid(vaduz):
    with connection.cursor() as cur:
        for table in ("mapping_node", "mapping_way", "mapping_relation"):
            cur.execute(
                f"SELECT count(*) FROM {table} WHERE town_id = %s AND geom IS NOT NULL AND NOT ST_IsValid(geom)",
                [vaduz.pk],
            )
            assert cur.fetchone()[0] == 0, table
    assert Way.objects.filter(town=vaduz, geom__isnull=False).count() > 7000


@pytest.mark.django_db
def test_derived_geometry_types(vaduz):
    """Closed area-tagged ways are polygons, roads are lines, multipolygons are multipolygons."""
    building = Way.objects.filter(town=vaduz, tags__has_key="building", geom_status="ok").first()
    assert building.geom.geom_type == "Polygon"
    road = Way.objects.filter(town=vaduz, tags__highway="residential").first()
    assert road.geom.geom_type == "LineString"
    mp = Relation.objects.filter(town=vaduz, tags__type="multipolygon", geom__isnull=False).first()
    assert mp.geom.geom_type == "MultiPolygon"


@pytest.mark.django_db
def test_reimport_changes_nothing(centre_town):
    before = list(
        Node.objects.filter(town=centre_town)
        .values_list("osm_id", "version", "updated_at")
        .order_by("osm_id")
    )
    summary = import_osm(CENTRE_PBF, "centre")
    assert not summary.changed
    after = list(
        Node.objects.filter(town=centre_town)
        .values_list("osm_id", "version", "updated_at")
        .order_by("osm_id")
    )
    assert before == after


@pytest.mark.django_db
def test_imports_osm_xml_and_bz2(tmp_path, osm_tool):
    xml = tmp_path / "centre.osm"
    subprocess.run([osm_tool("osmium"), "cat", str(CENTRE_PBF), "-o", str(xml)], check=True)
    summary = import_osm(xml, "centre-xml")
    compressed = tmp_path / "centre.osm.bz2"
    compressed.write_bytes(bz2.compress(xml.read_bytes()))
    summary_bz2 = import_osm(compressed, "centre-bz2")
    assert summary.read == summary_bz2.read == osmium_counts(CENTRE_PBF, osm_tool)


@pytest.mark.django_db
def test_truncated_file_changes_nothing(tmp_path):
    truncated = tmp_path / "truncated.osm.pbf"
    truncated.write_bytes(CENTRE_PBF.read_bytes()[: CENTRE_PBF.stat().st_size // 2])
    with pytest.raises(ImportError_, match="truncated"):
        import_osm(truncated, "broken")
    assert not Town.objects.filter(slug="broken").exists()
    assert not Node.objects.filter(town__slug="broken").exists()


@pytest.mark.django_db
def test_not_osm_and_xml_bomb_are_refused(tmp_path):
    not_osm = tmp_path / "notes.osm"
    not_osm.write_text("<html><body>hello</body></html>")
    with pytest.raises(ImportError_, match="Not an OSM XML file"):
        import_osm(not_osm, "notes")
    bomb = tmp_path / "bomb.osm"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE osm [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        '<osm version="0.6"><node id="1" version="1" lat="47" lon="9"><tag k="name" v="&b;"/></node></osm>'
    )
    with pytest.raises(ImportError_, match="DTD"):
        import_osm(bomb, "bomb")
    assert not Town.objects.filter(slug__in=["notes", "bomb"]).exists()


@pytest.mark.django_db
def test_command_reports_clear_error(tmp_path):
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"this is not a pbf file at all")
    with pytest.raises(CommandError, match=r"not a valid OSM file: .*\. Nothing was changed\.$"):
        call_command("import_osm", str(bad), town="bad")


@pytest.mark.django_db
def test_command_prints_summary(call):
    out = call("import_osm", str(CENTRE_PBF), town="centre-cmd", name="Centre")
    assert "nodes" in out and "1,756" in out
    assert "geometries:" in out
    again = call("import_osm", str(CENTRE_PBF), town="centre-cmd")
    assert "Nothing changed" in again


@pytest.mark.django_db
def test_newer_extract_updates_base(tmp_path, osm_tool, centre_town):
    """A newer extract: modified elements get the new version, vanished ones become invisible."""
    xml = tmp_path / "newer.osm"
    subprocess.run([osm_tool("osmium"), "cat", str(CENTRE_PBF), "-o", str(xml)], check=True)
    text = xml.read_text()
    node = Node.objects.filter(town=centre_town, tags__has_key="name").first()
    m = re.search(rf'<node id="{node.osm_id}" version="(\d+)"', text)
    text = text.replace(m.group(0), f'<node id="{node.osm_id}" version="{int(m.group(1)) + 1}"')
    text = re.sub(r'<relation id="\d+".*?</relation>\n', "", text, count=1, flags=re.S)
    xml.write_text(text)
    summary = import_osm(xml, "centre")
    assert summary.updated["node"] == 1 and summary.deleted["relation"] == 1
    node.refresh_from_db()
    assert node.base_version == int(m.group(1)) + 1
    assert Relation.objects.filter(town=centre_town, visible=False).count() == 1


@pytest.mark.django_db
def test_an_import_that_changes_data_announces_it(django_capture_on_commit_callbacks):
    """Tile caches learn of an import as of an accepted edit: published_change over the town's extent."""
    from mapping.signals import published_change

    received = []

    def receiver(sender, town, bbox, **kwargs):
        received.append((town.slug, bbox))

    published_change.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            summary = import_osm(CENTRE_PBF, "announced")
        with django_capture_on_commit_callbacks(execute=True):
            import_osm(CENTRE_PBF, "announced")  # nothing changed: nothing to announce
    finally:
        published_change.disconnect(receiver)
    summary.town.refresh_from_db()
    assert received == [("announced", pytest.approx(summary.town.boundary.extent))]
