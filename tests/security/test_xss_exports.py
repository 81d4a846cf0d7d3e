"""Every XSS payload written into a file leaves it as data: the OSM XML parses and gives the payload
back as text, the GeoJSON is valid JSON with the payload as a string, the osmChange's changeset
tags keep the party's hashtag as text, and the party poster (PDF) carries no script or action."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET  # our own output, parsed to check its escaping
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring
from django.contrib.gis.geos import Point
from pypdf import PdfReader

from exports.selectors import Scope
from exports.services import build_export
from mapping.models import Node
from tests.factories import AgentFactory, PartyFactory, TownFactory

PAYLOADS = [
    line for line in (Path(__file__).parents[1] / "data" / "xss_payloads.txt").read_text().split("\n") if line
]
# XML 1.0 cannot carry these characters at all; the tag validation refuses them (no control characters).
XML_SAFE = [p for p in PAYLOADS if all(c in "\t\n\r" or ord(c) >= 0x20 for c in p)]


@pytest.fixture
def town(db, tmp_path):
    town = TownFactory(name=PAYLOADS[0][:200])
    for i, payload in enumerate(XML_SAFE):
        Node.objects.create(
            town=town,
            osm_id=-(i + 1),
            version=1,
            tags={"name": payload, payload: "key is a payload"},
            geom=Point(9.52 + i * 1e-5, 47.14, srid=4326),
        )
    return town


def test_osm_xml_escapes_every_payload(town, tmp_path):
    path = tmp_path / "town.osm"
    build_export(town, "osm", path, Scope())
    root = fromstring(path.read_bytes())  # defusedxml: a DTD or entity in our output would fail here
    names, keys = set(), set()
    for node in root.iter("node"):
        tags = {t.get("k"): t.get("v") for t in node.iter("tag")}
        names.add(tags.get("name"))
        keys.update(k for k, v in tags.items() if v == "key is a payload")
    assert set(XML_SAFE) <= names
    assert set(XML_SAFE) <= keys
    # No element other than OSM's own: nothing in a payload became markup.
    assert {e.tag for e in root.iter()} <= {"osm", "bounds", "node", "tag", "way", "nd", "relation", "member"}


def test_geojson_is_valid_json_with_payloads_as_strings(town, tmp_path):
    path = tmp_path / "town.geojson"
    build_export(town, "geojson", path, Scope())
    data = json.loads(path.read_text())
    names = {
        f["properties"].get("name") or f["properties"].get("tags", {}).get("name") for f in data["features"]
    }
    assert set(XML_SAFE) <= names


def test_poster_pdf_has_the_title_as_text_and_no_script(client, db):
    party = PartyFactory(title_fr=PAYLOADS[0][:200], title_en=PAYLOADS[4][:200])
    client.force_login(AgentFactory(town=party.town))
    response = client.get(f"/manage/parties/{party.pk}/poster.pdf")
    assert response.status_code == 200
    body = response.content
    for marker in (b"/JavaScript", b"/JS ", b"/JS(", b"/OpenAction", b"/Launch", b"/AA "):
        assert marker not in body
    text = PdfReader(io.BytesIO(body)).pages[0].extract_text()
    assert "window.__xss" in text  # the title is printed, as text


def test_et_parser_sees_our_xml_as_plain_data(town, tmp_path):
    """The standard parser agrees (no entity or DTD to expand): parsing twice gives the same tags."""
    path = tmp_path / "again.osm"
    build_export(town, "osm", path, Scope())
    root = ET.fromstring(path.read_bytes())  # noqa: S314 (our own export, not hostile input)
    assert sum(1 for _ in root.iter("node")) == len(XML_SAFE)


def test_printed_map_prints_payload_street_names_as_text(centre_town, settings, tmp_path):
    """Street names and the title made of payloads end up as text in the printed map, never as
    PDF actions or script (ReportLab draws them as text; Mapnik draws them as glyphs)."""
    from exports.printing import services as printing
    from mapping.store import apply_change, next_local_id

    settings.CARTOPARTY_EXPORT_DIR = tmp_path / "exports"
    chosen = [p for p in XML_SAFE if "<" in p][:5]
    for i, payload in enumerate(chosen):
        lat = 47.1385 + i * 0.0006
        apply_change(
            town=centre_town,
            element_type="way",
            element_id=next_local_id(),
            action="create",
            after={
                "tags": {"highway": "residential", "name": payload},
                "nodes": [[None, 9.5195, lat], [None, 9.5245, lat]],
                "closed": False,
            },
            base_version=None,
        )
    params = printing.validate_print_request(
        centre_town,
        {"paper": "A4", "lang": "en", "bbox": "9.518,47.137,9.526,47.142", "title": chosen[0][:120]},
    )
    edition = printing.make_print(centre_town, params)
    body = Path(edition.file_path).read_bytes()
    for marker in (b"/JavaScript", b"/JS ", b"/JS(", b"/OpenAction", b"/Launch", b"/AA "):
        assert marker not in body
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages).split())
    # The index lists every payload street by its name, as plain text.
    for payload in chosen:
        assert " ".join(payload.split())[:20] in text
