"""python manage.py export_osm: every format and scope, and clear errors."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from tests.exports.conftest import osmium
from tests.factories import PartyFactory, TownFactory

pytestmark = pytest.mark.django_db


def test_exports_every_format(call, edited_centre, tmp_path):
    for fmt, name in (("pbf", "c.osm.pbf"), ("osm", "c.osm"), ("osc", "c.osc"), ("geojson", "c.geojson")):
        out = call("export_osm", town="centre", fmt=fmt, output=str(tmp_path / name))
        assert "Wrote" in out and str(tmp_path / name) in out
    assert "Number of ways:" in osmium("fileinfo", "-e", tmp_path / "c.osm.pbf").stdout
    geojson = json.loads((tmp_path / "c.geojson").read_text())
    assert geojson["type"] == "FeatureCollection" and "ODbL" in geojson["attribution"]
    assert geojson["license"].startswith("https://opendatacommons.org/licenses/odbl")
    assert (tmp_path / "c.changesets.json").exists()


def test_scopes(call, edited_centre, tmp_path):
    party = edited_centre.party.pk
    out = call("export_osm", town="centre", fmt="osc", output=str(tmp_path / "p.osc"), party=party)
    assert "Wrote" in out
    text = (tmp_path / "p.osc").read_text()
    assert "<create>" in text and "<modify>" in text and "<delete>" in text
    call("export_osm", town="centre", fmt="osm", output=str(tmp_path / "s.osm"), since="2000-01-01")
    call(
        "export_osm",
        town="centre",
        fmt="osm",
        output=str(tmp_path / "b.osm"),
        bbox="9.519,47.139,9.522,47.142",
    )
    assert osmium("check-refs", tmp_path / "b.osm", check=False).returncode == 0
    call("export_osm", town="centre", fmt="osm", output=str(tmp_path / "late.osm"), since="2999-01-01T00:00")
    assert "<node" not in (tmp_path / "late.osm").read_text()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"town": "nowhere"}, "No town"),
        ({"bbox": "1,2,3"}, "--bbox"),
        ({"since": "yesterday"}, "--since"),
    ],
)
def test_clear_errors(centre_town, tmp_path, kwargs, message):
    args = {"town": "centre", "fmt": "osm", "output": str(tmp_path / "x.osm"), **kwargs}
    with pytest.raises(CommandError, match=message):
        call_command("export_osm", **args)


def test_party_of_another_town_is_refused(centre_town, tmp_path):
    other = PartyFactory(town=TownFactory())
    with pytest.raises(CommandError, match="has no party"):
        call_command("export_osm", town="centre", fmt="osm", output=str(tmp_path / "x.osm"), party=other.pk)
