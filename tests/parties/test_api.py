"""The parties API: agents of the town only, explicit fields, documented in the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.urls import reverse

from parties.poster import join_url
from tests.factories import PartyFactory

pytestmark = pytest.mark.django_db

WHO = ["anonymous", "resident", "other_agent", "agent"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("parties-api:party-list", {"anonymous": 403, "resident": 403, "other_agent": 200, "agent": 200}),
        ("parties-api:party-detail", {"anonymous": 403, "resident": 403, "other_agent": 404, "agent": 200}),
        ("mapping-api:party-stats", {"anonymous": 403, "resident": 403, "other_agent": 404, "agent": 200}),
    ],
)
@pytest.mark.parametrize("who", WHO)
def test_permission_matrix(client, people, name, expected, who):
    party, users = people
    if users[who]:
        client.force_login(users[who])
    kwargs = None if name == "parties-api:party-list" else {"party_id": party.pk}
    assert client.get(reverse(name, kwargs=kwargs)).status_code == expected[who]


def test_list_shows_only_my_towns_parties_in_few_queries(client, people, django_assert_num_queries):
    party, users = people
    PartyFactory.create_batch(3, town=party.town)
    PartyFactory.create_batch(2)  # other towns
    client.force_login(users["agent"])
    # User (the session comes from the cache), then one query for the parties with their town.
    with django_assert_num_queries(2):
        data = client.get(reverse("parties-api:party-list")).json()
    assert len(data) == 4 and {p["town"] for p in data} == {party.town.slug}
    client.force_login(users["other_agent"])
    assert client.get(reverse("parties-api:party-list")).json() == []


def test_detail_fields(client, people):
    party, users = people
    client.force_login(users["agent"])
    data = client.get(reverse("parties-api:party-detail", kwargs={"party_id": party.pk})).json()
    assert set(data) == {
        "id",
        "town",
        "title_fr",
        "title_en",
        "description_fr",
        "description_en",
        "starts_at",
        "ends_at",
        "phase",
        "preset_set",
        "hashtag",
        "rate_limit_per_minute",
        "gps_accuracy_m",
        "join_url",
        "dashboard_url",
        "stats_url",
        "poster_url",
        "area",
    }
    assert data["phase"] == "running" and data["join_url"] == join_url(party)
    assert data["area"]["type"] == "Polygon"


def test_api_is_read_only(client, people):
    party, users = people
    client.force_login(users["agent"])
    url = reverse("parties-api:party-detail", kwargs={"party_id": party.pk})
    assert client.patch(url, {"title_fr": "x"}, content_type="application/json").status_code == 405
    assert client.post(reverse("parties-api:party-list"), {}).status_code == 405


def test_schema_documents_the_parties_api(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "/api/parties/" in paths and "/api/parties/{party_id}/" in paths
    stats = paths["/api/parties/{party_id}/stats/"]["get"]
    assert "304" in stats["responses"] and "200" in stats["responses"]
    assert any(p["name"] == "If-None-Match" for p in stats["parameters"])
    components = schema["components"]["schemas"]
    assert {"contributors", "by_status", "by_preset", "recent"} <= set(
        components["DashboardStats"]["properties"]
    )


def test_admin_screens(admin_client, people):
    party, users = people
    for url in (
        reverse("admin:parties_town_changelist"),
        reverse("admin:parties_town_change", args=[party.town.pk]),
        reverse("admin:parties_party_changelist"),
        reverse("admin:parties_party_change", args=[party.pk]),
        reverse("admin:parties_user_changelist"),
        reverse("admin:parties_user_change", args=[users["resident"].pk]),
    ):
        assert admin_client.get(url).status_code == 200, url
