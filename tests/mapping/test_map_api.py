"""The town map's GeoJSON endpoint: bbox, cap, zoom levels and bad input."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from tests.factories import NodeFactory, TownFactory

VADUZ_CENTRE = "9.518,47.137,9.526,47.143"


def features_url(town, **params):
    url = reverse("mapping:town-features", kwargs={"slug": town.slug})
    return url + "?" + "&".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.django_db
def test_bbox_returns_geojson_built_in_postgis(client, centre_town, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        resp = client.get(features_url(centre_town, bbox=VADUZ_CENTRE, zoom=17))
    assert resp.status_code == 200
    assert resp["Content-Type"] == "application/geo+json"
    data = json.loads(resp.content)
    assert data["type"] == "FeatureCollection"
    cats = {f["properties"]["category"] for f in data["features"]}
    assert {"building", "road"} <= cats
    assert all(f["geometry"] for f in data["features"])


@pytest.mark.django_db
def test_cap_gives_400_with_message(client, centre_town, settings):
    settings.CARTOPARTY_MAX_FEATURES = 10
    resp = client.get(features_url(centre_town, bbox=VADUZ_CENTRE, zoom=17))
    assert resp.status_code == 400
    assert "zoom in" in resp.json()["error"]


@pytest.mark.django_db
def test_overview_zoom_still_shows_the_town(client, vaduz):
    resp = client.get(features_url(vaduz, bbox="9.47,47.04,9.64,47.28", zoom=11))
    assert resp.status_code == 200
    feats = resp.json()["features"]
    assert len(feats) > 50
    assert "building" not in {f["properties"]["category"] for f in feats}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bbox",
    [
        "",
        "1,2,3",
        "a,b,c,d",
        "9,47,8,48",
        "9,48,10,47",
        "-200,0,0,1",
        "0,-95,1,1",
        "nan,1,2,3",
        "inf,0,1,1",
    ],
)
def test_bad_bbox_is_400_with_reason(client, bbox):
    town = TownFactory()
    resp = client.get(features_url(town, bbox=bbox))
    assert resp.status_code == 400
    assert resp.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("zoom", ["x", "-1", "99"])
def test_bad_zoom_is_400(client, zoom):
    resp = client.get(features_url(TownFactory(), bbox=VADUZ_CENTRE, zoom=zoom))
    assert resp.status_code == 400


@pytest.mark.django_db
def test_other_towns_data_is_not_shown(client):
    mine, other = TownFactory(), TownFactory()
    NodeFactory(town=other, tags={"amenity": "bench"})
    resp = client.get(features_url(mine, bbox=VADUZ_CENTRE, zoom=18))
    assert resp.json()["features"] == []
    resp = client.get(features_url(other, bbox=VADUZ_CENTRE, zoom=18))
    assert len(resp.json()["features"]) == 1


@pytest.mark.django_db
def test_town_page_and_home(client, centre_town):
    resp = client.get(reverse("mapping:town-map", kwargs={"slug": centre_town.slug}))
    assert resp.status_code == 200
    assert b'id="town-map"' in resp.content
    assert b"Vaduz centre" in client.get("/").content
    assert client.get(reverse("mapping:town-map", kwargs={"slug": "nowhere"})).status_code == 404


@pytest.mark.django_db
def test_town_map_opens_on_the_settlements(client, vaduz):
    """The map opens around the villages, not around every node of the extract (rivers run far)."""
    from mapping.selectors import home_extent_for_town

    west, south, east, north = home_extent_for_town(vaduz)
    bw, bs, be, bn = vaduz.boundary.extent
    assert (east - west) * (north - south) < (be - bw) * (bn - bs)
    assert west < 9.5209 < east and south < 47.1410 < north  # Vaduz is in view
