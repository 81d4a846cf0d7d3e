"""The resident API: map data with own pending changes, edits (201/400/409/429), undo, contributions,
element detail and presets; a permission matrix and query budgets for every endpoint."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from mapping.models import Revision
from mapping.store import apply_change
from tests.factories import AgentFactory, ResidentFactory
from tests.mapping.editing_fixtures import (  # noqa: F401 (fixtures: pytest finds them by name in this module)
    bench_fixture,
    footway_fixture,
    other_party_fixture,
)

pytestmark = pytest.mark.django_db

BBOX = "9.515,47.135,9.530,47.145"


def point(lon: float = 9.5209, lat: float = 47.1410, **tags: str) -> dict:
    return {"tags": tags, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def url(name: str, party, **kwargs) -> str:
    return reverse(f"mapping-api:{name}", kwargs={"party_id": party.pk, **kwargs})


def new_bench(**extra) -> dict:
    return {"element_type": "node", "action": "create", "after": point(amenity="bench", name="Banc"), **extra}


@pytest.fixture
def people(party, other_party):
    """Everyone of the permission matrix."""
    return {
        "resident": ResidentFactory(party=party),
        "other_resident": ResidentFactory(party=other_party),
        "same_town_other_party": ResidentFactory(party=type(party).objects.create(
            town=party.town, title_fr="Autre", area=party.area, starts_at=party.starts_at, ends_at=party.ends_at
        )),
        "agent": AgentFactory(town=party.town),
        "other_agent": AgentFactory(town=other_party.town),
        "anonymous": None,
    }  # fmt: skip


# Expected status per endpoint for each person (residents edit; the town's agents only look).
MATRIX = {
    "resident": {
        "features": 200,
        "edits": 201,
        "undo": 200,
        "contributions": 200,
        "element": 200,
        "presets": 200,
        "snap": 200,
        "check": 200,
    },
    "agent": {
        "features": 200,
        "edits": 403,
        "undo": 403,
        "contributions": 200,
        "element": 200,
        "presets": 200,
        "snap": 200,
        "check": 200,
    },
    "other_resident": dict.fromkeys(
        ["features", "edits", "undo", "contributions", "element", "presets", "snap", "check"], 404
    ),
    "same_town_other_party": dict.fromkeys(
        ["features", "edits", "undo", "contributions", "element", "presets", "snap", "check"], 404
    ),
    "other_agent": dict.fromkeys(
        ["features", "edits", "undo", "contributions", "element", "presets", "snap", "check"], 404
    ),
    "anonymous": dict.fromkeys(
        ["features", "edits", "undo", "contributions", "element", "presets", "snap", "check"], 403
    ),
}


@pytest.mark.parametrize("who", list(MATRIX))
def test_permission_matrix(who, people, party, bench):
    client = client_for(people[who])
    if who == "resident":  # something to undo
        Revision.objects.create(
            town=party.town,
            party=party,
            author=people[who],
            element_type="node",
            element_id=-1,
            action="create",
        )
    answers = {
        "features": client.get(url("party-features", party), {"bbox": BBOX}),
        "edits": client.post(url("party-edits", party), new_bench(), format="json"),
        "undo": client.post(url("party-undo", party)),
        "contributions": client.get(url("party-contributions", party)),
        "element": client.get(url("party-element", party, element_type="node", element_id=bench.osm_id)),
        "presets": client.get(url("party-presets", party)),
        "snap": client.get(url("party-snap", party), {"bbox": BBOX}),
        "check": client.post(url("party-edit-check", party), new_bench(), format="json"),
    }
    assert {k: r.status_code for k, r in answers.items()} == MATRIX[who]


def test_map_data_has_published_features_and_only_my_pending_ones(
    party, resident, bench, django_assert_num_queries
):
    client = client_for(resident)
    client.post(url("party-edits", party), new_bench(), format="json")
    someone_else = ResidentFactory(party=party)
    client_for(someone_else).post(url("party-edits", party), new_bench(), format="json")
    # session auth is forced: party (1), published features (1), pending revisions (1)
    with django_assert_num_queries(3):
        response = client.get(url("party-features", party), {"bbox": BBOX, "zoom": 18})
    data = response.json()
    assert [f["properties"]["osm_id"] for f in data["published"]["features"]] == [bench.osm_id]
    pending = data["pending"]["features"]
    assert len(pending) == 1
    assert (
        pending[0]["properties"]["action"] == "create" and pending[0]["properties"]["tags"]["name"] == "Banc"
    )


def test_map_data_pending_layer_only(party, resident, bench, django_assert_num_queries):
    """After a save the page refreshes only its pending layer: no published features are built."""
    client = client_for(resident)
    client.post(url("party-edits", party), new_bench(), format="json")
    with django_assert_num_queries(2):  # party, pending revisions
        data = client.get(url("party-features", party), {"bbox": BBOX, "layers": "pending"}).json()
    assert set(data) == {"pending"} and len(data["pending"]["features"]) == 1


def test_map_data_bad_bbox_is_400(party, resident):
    response = client_for(resident).get(url("party-features", party), {"bbox": "1,2,3"})
    assert response.status_code == 400 and "bbox" in response.json()["detail"]


def test_create_answers_201_and_the_revision(party, resident, django_assert_max_num_queries):
    client = client_for(resident)
    # party, idempotency lookup, rate count, local id, revision insert (+ savepoint), quality checks
    with django_assert_max_num_queries(12):
        response = client.post(
            url("party-edits", party), new_bench(preset="amenity/bench", idempotency_key="abc"), format="json"
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["element_id"] < 0 and body["name"] == "Banc"
    assert body["preset"] == "amenity/bench"


def test_same_idempotency_key_answers_200_with_the_same_revision(party, resident):
    client = client_for(resident)
    first = client.post(url("party-edits", party), new_bench(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post(url("party-edits", party), new_bench(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and Revision.objects.count() == 1


def test_refusal_is_400_by_field(party, resident):
    after = {
        "tags": [["name", "a"], ["name", "b"], ["note", "x\ny"]],
        "geometry": {"type": "Point", "coordinates": [9.7, 47.14]},
    }
    response = client_for(resident).post(
        url("party-edits", party), {"element_type": "node", "action": "create", "after": after}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"tags.name", "tags.note"}  # geometry is checked once tags are valid
    assert not Revision.objects.exists()


def test_outside_area_and_bad_input_are_400(party, resident):
    client = client_for(resident)
    response = client.post(url("party-edits", party), new_bench(after=point(9.7, 47.14)), format="json")
    assert response.status_code == 400 and "geometry" in response.json()
    response = client.post(url("party-edits", party), {"element_type": "changeset"}, format="json")
    assert response.status_code == 400 and "element_type" in response.json()


def test_closed_party_is_400(party, resident):
    party.ends_at = timezone.now() - dt.timedelta(minutes=5)
    party.save()
    response = client_for(resident).post(url("party-edits", party), new_bench(), format="json")
    assert response.status_code == 400 and "party" in response.json()


def test_rate_limit_is_429_with_retry_after(party, resident):
    party.rate_limit_per_minute = 2
    party.save()
    client = client_for(resident)
    for _ in range(2):
        assert client.post(url("party-edits", party), new_bench(), format="json").status_code == 201
    response = client.post(url("party-edits", party), new_bench(), format="json")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def modify_bench(bench, tags, base_version):
    return {
        "element_type": "node", "element_id": bench.osm_id, "action": "modify", "base_version": base_version,
        "after": {"tags": tags, "geometry": {"type": "Point", "coordinates": [bench.geom.x, bench.geom.y]}},
    }  # fmt: skip


def accept_someone_elses(party, bench, tags):
    other = client_for(ResidentFactory(party=party))
    response = other.post(url("party-edits", party), modify_bench(bench, tags, 1), format="json")
    rev = Revision.objects.get(pk=response.json()["id"])
    apply_change(
        town=party.town, element_type="node", element_id=bench.osm_id, action="modify",
        after=rev.after, base_version=rev.base_version,
    )  # fmt: skip


def test_conflict_on_the_same_key_is_409_with_three_versions(party, resident, bench):
    accept_someone_elses(party, bench, {"amenity": "bench", "name": "Theirs"})
    response = client_for(resident).post(
        url("party-edits", party), modify_bench(bench, {"amenity": "bench", "name": "Mine"}, 1), format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["current_version"] == 2 and body["current"]["tags"]["name"] == "Theirs"
    assert body["tags"]["keys"] == ["name"]
    assert body["tags"]["mine"]["name"] == "Mine" and "name" not in body["tags"]["base"]


def test_different_keys_merge_and_answer_201(party, resident, bench):
    accept_someone_elses(party, bench, {"amenity": "bench", "backrest": "yes"})
    response = client_for(resident).post(
        url("party-edits", party), modify_bench(bench, {"amenity": "bench", "name": "Mine"}, 1), format="json"
    )
    assert response.status_code == 201
    assert response.json()["after"]["tags"] == {"amenity": "bench", "backrest": "yes", "name": "Mine"}
    assert response.json()["base_version"] == 2


def test_deleted_feature_is_409_without_version(party, resident, bench):
    bench.visible = False
    bench.save()
    response = client_for(resident).post(
        url("party-edits", party), modify_bench(bench, {"amenity": "bench"}, 1), format="json"
    )
    assert response.status_code == 409 and response.json()["current_version"] is None


def test_undo_and_contributions(party, resident, django_assert_num_queries):
    client = client_for(resident)
    first = client.post(url("party-edits", party), new_bench(), format="json").json()
    second = client.post(url("party-edits", party), new_bench(), format="json").json()
    undone = client.post(url("party-undo", party))
    assert undone.status_code == 200 and undone.json()["id"] == second["id"]
    Revision.objects.filter(pk=first["id"]).update(status="rejected", review_reason="Already mapped")
    with django_assert_num_queries(2):  # party, revisions
        contributions = client.get(url("party-contributions", party)).json()
    assert [(c["id"], c["status"]) for c in contributions] == [
        (second["id"], "withdrawn"),
        (first["id"], "rejected"),
    ]
    assert contributions[1]["review_reason"] == "Already mapped"
    assert client.post(url("party-undo", party)).status_code == 404


def test_element_detail_of_a_way_gives_node_ids(party, resident, footway, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):  # party, way, its nodes
        response = client_for(resident).get(
            url("party-element", party, element_type="way", element_id=footway.osm_id)
        )
    body = response.json()
    assert body["version"] == 1 and body["tags"] == {"highway": "footway"}
    assert [n[0] for n in body["nodes"]] == footway.nodes and body["closed"] is False
    assert body["preset"] == "highway/footway"


def test_element_detail_names_the_preset_and_its_fields_in_the_readers_language(party, resident):
    from tests.factories import NodeFactory

    shop = NodeFactory(town=party.town, tags={"shop": "clothes", "name": "Mode Vaduz"})
    body = (
        client_for(resident)
        .get(
            url("party-element", party, element_type="node", element_id=shop.osm_id),
            HTTP_ACCEPT_LANGUAGE="fr",
        )
        .json()
    )
    # Not in the party's set: the catalogue's clothes shop, not the set's generic "shop".
    assert body["preset"] == "shop/clothes"
    detail = body["preset_detail"]
    assert detail["name"] == "Magasin de vêtements" and detail["add_tags"] == {"shop": "clothes"}
    assert detail["field_defs"]["clothes"]["label"] == "Vêtements" and "clothes" in detail["fields"]


def test_describe_endpoint_names_features_for_popups(client):
    describe = reverse("mapping:describe-feature")
    tags = json.dumps({"amenity": "cafe", "outdoor_seating": "yes", "name": "Café Risch"})
    fr = client.get(describe, {"geometry": "point", "tags": tags}, HTTP_ACCEPT_LANGUAGE="fr").json()
    assert fr["preset"]["id"] == "amenity/cafe" and fr["preset"]["name"] == "Café"
    assert fr["preset"]["field_defs"]["outdoor_seating"]["label"] == "Places en terrasse"
    en = client.get(describe, {"geometry": "point", "tags": tags}, HTTP_ACCEPT_LANGUAGE="en")
    assert en.json()["preset"]["name"] == "Cafe" and "Accept-Language" in en["Vary"]
    assert client.get(describe, {"tags": '{"fixme": "x"}'}).json() == {"preset": None}
    for bad in ({"tags": "[]"}, {"tags": "{"}, {}, {"geometry": "blob", "tags": "{}"}):
        response = client.get(describe, bad)
        assert response.status_code == 400 and response.json()["error"]


def test_element_detail_of_another_town_is_404(party, other_party, resident):
    from tests.factories import NodeFactory

    elsewhere = NodeFactory(town=other_party.town)
    response = client_for(resident).get(
        url("party-element", party, element_type="node", element_id=elsewhere.osm_id)
    )
    assert response.status_code == 404


def test_presets_in_the_requesters_language(party, resident):
    client = client_for(resident)
    english = client.get(url("party-presets", party), HTTP_ACCEPT_LANGUAGE="en").json()
    french = client.get(url("party-presets", party), HTTP_ACCEPT_LANGUAGE="fr").json()
    bench_en = next(p for g in english["groups"] for p in g["presets"] if p["id"] == "amenity/bench")
    bench_fr = next(p for g in french["groups"] for p in g["presets"] if p["id"] == "amenity/bench")
    assert (bench_en["name"], bench_fr["name"]) == ("Bench", "Banc")
    assert english["fields"]["backrest"]["label"] == "Backrest"
    assert [g["id"] for g in english["groups"]] == [
        "street_furniture", "health", "shops_services", "leisure", "paths", "buildings_parking",
    ]  # fmt: skip


def test_schema_documents_every_endpoint(client):
    schema = client.get("/api/schema/").content.decode()
    for path in (
        "features/",
        "edits/",
        "edits/undo/",
        "contributions/",
        "presets/",
        "elements/{element_type}",
    ):
        assert f"/api/parties/{{party_id}}/{path}" in schema
    assert client.get("/api/docs/").status_code == 200
