"""Connected geometry in the exports, checked by the OSM world's tools: a footpath joined to a road of
the demo data (Postgass: its end node shared, a junction node inserted into it) and a crossing on the
road, accepted through review. The .osc holds exactly those changes (the road as one modify with
both new nodes); osmium check-refs finds no missing node; JOSM's validator no new error."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from exports.services import build_export
from mapping.models import Revision, Way
from review.services import accept_revision
from tests.exports.conftest import osmium
from tests.exports.test_tools import EXPECTED, josm_errors
from tests.factories import AgentFactory, PartyFactory, ResidentFactory
from tests.mapping.test_joins import crossing, footpath, road, submit

pytestmark = [pytest.mark.django_db, pytest.mark.tools]


@pytest.fixture
def joined(centre_town):
    party = PartyFactory(town=centre_town)
    resident, agent = ResidentFactory(party=party), AgentFactory(town=centre_town)
    way, nodes = road(centre_town)
    revisions = []
    for body in (footpath(way, nodes), crossing(way, nodes)):
        resp = submit(party, resident, body)
        assert resp.status_code == 201, resp.json()
        revisions.append(resp.json()["id"])
    for pk in revisions:
        accept_revision(Revision.objects.get(pk=pk), agent)
    return centre_town, way, Revision.objects.filter(pk__in=revisions).order_by("pk")


def test_osc_holds_exactly_the_path_the_crossing_and_the_modified_road(joined, tmp_path):
    town, way, (path_rev, crossing_rev) = joined
    osc = tmp_path / "j.osc"
    build_export(town, "osc", osc)
    text = osc.read_text()
    blocks = {
        action: text.split(f"<{action}>")[1].split(f"</{action}>")[0] for action in ("create", "modify")
    }
    assert "<delete>" not in text
    created = re.findall(r'<(node|way) id="(-?\d+)"', blocks["create"])
    modified = re.findall(r'<(node|way) id="(-?\d+)"', blocks["modify"])
    path = Way.objects.get(town=town, osm_id=path_rev.element_id)
    new_nodes = {n for n in path.nodes if n < 0}
    assert sorted(created) == sorted(
        [("way", str(path.osm_id)), ("node", str(crossing_rev.element_id))]
        + [("node", str(n)) for n in new_nodes]
    )
    assert modified == [("way", str(way.osm_id))]  # the road, once, from the version it had
    assert f'<way id="{way.osm_id}" version="{way.version}"' in blocks["modify"]
    road_now = Way.objects.get(pk=way.pk)
    refs = re.findall(r'<nd ref="(-?\d+)"/>', blocks["modify"])
    assert [int(r) for r in refs] == road_now.nodes
    assert crossing_rev.element_id in road_now.nodes and path.nodes[2] in road_now.nodes


def josm_findings(path, report) -> set[tuple[str, str]]:
    """(element, message) of every JOSM finding of error or warning level."""
    josm_errors(path, report)  # runs the validator (and checks it ran)
    found = set()
    for line in report.read_text().splitlines():
        for feature in json.loads(line)["features"] if line.strip() else []:
            props = feature["properties"]
            if props.get("severity") in ("Errors", "Warnings"):
                found.add((props["@id"], props["message"]))
    return found


def test_osmium_and_josm_find_no_new_problem(centre_town, tmp_path):
    """The demo data before and after the footpath and the crossing: osmium finds every node of
    every way; JOSM finds no error or warning that was not there before (no "crossing ways", no
    "way end node near other highway")."""
    before = tmp_path / "before.osm"
    build_export(centre_town, "osm", before)
    party = PartyFactory(town=centre_town)
    resident, agent = ResidentFactory(party=party), AgentFactory(town=centre_town)
    way, nodes = road(centre_town)
    ids = [
        submit(party, resident, body).json()["id"] for body in (footpath(way, nodes), crossing(way, nodes))
    ]
    for pk in ids:
        accept_revision(Revision.objects.get(pk=pk), agent)
    osm = tmp_path / "after.osm"
    build_export(centre_town, "osm", osm)
    result = osmium("check-refs", osm, check=False)
    assert result.returncode == 0, result.stderr
    assert "Nodes in ways missing: 0" in result.stderr
    baseline = {tuple(e) for e in json.loads((EXPECTED / "josm-centre-base-errors.json").read_text())}
    assert josm_errors(osm, tmp_path / "errors.geojson") - baseline == set()
    # By message, counted: JOSM names one way of a crossing pair as the finding's element, and which
    # one varies between runs (a pair found before may be reported under its other way after).
    after_found = Counter(m for _, m in josm_findings(osm, tmp_path / "after.geojson"))
    before_found = Counter(m for _, m in josm_findings(before, tmp_path / "before.geojson"))
    assert after_found - before_found == Counter()
