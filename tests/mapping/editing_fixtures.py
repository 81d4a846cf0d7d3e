"""Fixtures shared by the editing tests: a bench and a footway inside the party's area (the party,
its agent and resident are the shared fixtures of tests/conftest.py), and a party of another town.

Import the ``*_fixture`` functions into a test module to use them there (they are named without the
suffix), so they stay local to the editing tests instead of becoming global plugin fixtures.
"""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import LineString, Point

from mapping.models import Way
from tests.factories import NodeFactory, PartyFactory


@pytest.fixture(name="bench")
def bench_fixture(party):
    """A published bench in the party area (Vaduz, Städtle)."""
    return NodeFactory(town=party.town, tags={"amenity": "bench"})


@pytest.fixture(name="footway")
def footway_fixture(party):
    """A published footway of three untagged nodes in the party area."""
    coords = [(9.5200, 47.1400), (9.5205, 47.1402), (9.5210, 47.1401)]
    nodes = [NodeFactory(town=party.town, tags={}, geom=Point(x, y, srid=4326)) for x, y in coords]
    return Way.objects.create(
        town=party.town,
        osm_id=5_000_000 + nodes[0].osm_id,
        version=1,
        base_version=1,
        tags={"highway": "footway"},
        nodes=[n.osm_id for n in nodes],
        geom=LineString(coords, srid=4326),
        geom_status="ok",
    )


@pytest.fixture(name="other_party")
def other_party_fixture(db):
    """A party of another town."""
    return PartyFactory()
