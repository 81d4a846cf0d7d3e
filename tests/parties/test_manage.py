"""Agents create and edit their town's parties; nobody else can."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from parties.models import Party
from parties.services import PartyInput, create_party, default_hashtag, update_party
from tests.factories import VADUZ_CENTRE_AREA, AgentFactory, PartyFactory, ResidentFactory, TownFactory

pytestmark = pytest.mark.django_db

# Central Vaduz, lon/lat (WGS84).
BOUNDARY = MultiPolygon(Polygon.from_bbox((9.50, 47.12, 9.54, 47.16)), srid=4326)
START = dt.datetime(2026, 11, 22, 18, 0, tzinfo=dt.UTC)


def data(**overrides) -> PartyInput:
    values = {
        "title_fr": "Cartopartie du centre",
        "title_en": "Centre mapping party",
        "starts_at": START,
        "ends_at": START + dt.timedelta(hours=3),
        "area": VADUZ_CENTRE_AREA.clone(),
    }
    values.update(overrides)
    return PartyInput(**values)


def field_codes(exc: ValidationError) -> dict[str, set[str]]:
    return {field: {e.code for e in errors} for field, errors in exc.error_dict.items()}


@pytest.fixture
def agent():
    return AgentFactory(town=TownFactory(slug="vaduz-test", boundary=BOUNDARY))


def test_create_party_in_the_agents_town_with_default_hashtag(agent):
    party = create_party(agent, data())
    assert party.town == agent.town and party.created_by == agent
    assert party.hashtag == "#cartoparty-vaduz-test-2026-11-22"
    assert party.hashtag == default_hashtag(agent.town, START)
    assert party.preset_set == "cartoparty" and party.join_code


def test_use_town_boundary(agent):
    party = create_party(agent, data(area=None, use_town_boundary=True))
    assert party.area.equals(BOUNDARY[0])
    agent.town.boundary = None
    agent.town.save()
    with pytest.raises(ValidationError) as exc:
        create_party(agent, data(area=None, use_town_boundary=True))
    assert field_codes(exc.value) == {"use_town_boundary": {"no_boundary"}}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ends_at": START}, {"ends_at": {"ends_before_start"}}),
        ({"ends_at": START + dt.timedelta(days=30)}, {"ends_at": {"too_long"}}),
        ({"area": None}, {"area": {"area_required"}}),
        # A bow tie: the ring crosses itself.
        (
            {
                "area": Polygon(
                    ((9.52, 47.13), (9.53, 47.14), (9.53, 47.13), (9.52, 47.14), (9.52, 47.13)), srid=4326
                )
            },
            {"area": {"area_invalid"}},
        ),
        ({"area": Polygon.from_bbox((2.3, 48.8, 2.4, 48.9))}, {"area": {"area_outside_town"}}),  # Paris
        ({"preset_set": "everything"}, {"preset_set": {"preset_set_unknown"}}),
        ({"hashtag": "#two words"}, {"hashtag": {"hashtag_invalid"}}),
        ({"rate_limit_per_minute": 0}, {"rate_limit_per_minute": {"rate_limit_range"}}),
        ({"title_fr": "  "}, {"title_fr": {"title_required"}}),
    ],
)
def test_party_rules(agent, overrides, expected):
    with pytest.raises(ValidationError) as exc:
        create_party(agent, data(**overrides))
    assert field_codes(exc.value) == expected
    assert not Party.objects.exists()


def test_hashtag_gets_its_hash(agent):
    assert create_party(agent, data(hashtag="vaduz_maps")).hashtag == "#vaduz_maps"


def test_only_agents_create_and_only_their_towns_parties_update(agent):
    with pytest.raises(PermissionDenied):
        create_party(ResidentFactory(), data())
    other = PartyFactory()
    with pytest.raises(PermissionDenied):
        update_party(agent, other, data())
    party = create_party(agent, data())
    code = party.join_code
    updated = update_party(agent, party, data(title_fr="Nouveau titre", rate_limit_per_minute=60))
    updated.refresh_from_db()
    assert updated.title_fr == "Nouveau titre" and updated.rate_limit_per_minute == 60
    assert updated.join_code == code  # printed posters keep working


def form_post(**overrides):
    start = timezone.localtime(timezone.now() + dt.timedelta(days=1)).replace(hour=18, minute=0)
    values = {
        "title_fr": "Cartopartie",
        "title_en": "Mapping party",
        "use_town_boundary": "on",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "preset_set": "cartoparty",
        "hashtag": "",
        "rate_limit_per_minute": "30",
    }
    values.update(overrides)
    return values


def test_agent_creates_a_party_with_the_form(client, agent):
    client.force_login(agent)
    page = client.get(reverse("parties:manage"))
    assert page.status_code == 200
    assert "No party yet" in page.content.decode()
    assert client.get(reverse("parties:party-create")).status_code == 200
    resp = client.post(reverse("parties:party-create"), form_post())
    party = Party.objects.get()
    assert resp.status_code == 302 and resp["Location"] == party.get_absolute_url()
    assert party.town == agent.town and party.area.equals(BOUNDARY[0])
    assert party.hashtag.startswith("#cartoparty-vaduz-test-")
    assert party.title_fr in client.get(reverse("parties:manage")).content.decode()


def test_agent_draws_the_area(client, agent):
    client.force_login(agent)
    resp = client.post(
        reverse("parties:party-create"), form_post(use_town_boundary="", area=VADUZ_CENTRE_AREA.geojson)
    )
    assert resp.status_code == 302
    assert Party.objects.get().area.equals_exact(VADUZ_CENTRE_AREA, tolerance=1e-9)


def test_form_errors_are_shown_next_to_fields(client, agent):
    client.force_login(agent)
    resp = client.post(reverse("parties:party-create"), form_post(use_town_boundary="", hashtag="a b"))
    assert resp.status_code == 400
    assert set(resp.context["form"].errors) == {"area", "hashtag"}
    assert not Party.objects.exists()


def test_agent_edits_a_party(client, agent):
    party = PartyFactory(town=agent.town)
    client.force_login(agent)
    url = reverse("parties:party-edit", kwargs={"party_id": party.pk})
    page = client.get(url)
    assert page.status_code == 200 and party.title_fr in page.content.decode()
    resp = client.post(url, form_post(title_fr="Renamed"))
    assert resp.status_code == 302
    party.refresh_from_db()
    assert party.title_fr == "Renamed"


def test_town_boundary_in_several_parts_gives_their_hull(agent):
    # Two squares of Vaduz (lon/lat, WGS84) with a gap between them.
    left, right = Polygon.from_bbox((9.50, 47.12, 9.51, 47.13)), Polygon.from_bbox((9.53, 47.12, 9.54, 47.13))
    agent.town.boundary = MultiPolygon(left, right, srid=4326)
    agent.town.save()
    area = create_party(agent, data(area=None, use_town_boundary=True)).area
    assert area.geom_type == "Polygon" and area.contains(left) and area.contains(right)


def test_form_without_town_boundary_offers_only_drawing(client):
    agent = AgentFactory(town=TownFactory(boundary=None))
    client.force_login(agent)
    form = client.get(reverse("parties:party-create")).context["form"]
    assert form.fields["use_town_boundary"].disabled


def test_gps_accuracy_is_set_in_the_form_within_1_to_500_metres(client, agent):
    party = PartyFactory(town=agent.town)
    assert party.gps_accuracy_m == 20  # the default
    client.force_login(agent)
    url = reverse("parties:party-edit", kwargs={"party_id": party.pk})
    assert 'name="gps_accuracy_m"' in client.get(url).content.decode()
    assert client.post(url, form_post(gps_accuracy_m="35")).status_code == 302
    party.refresh_from_db()
    assert party.gps_accuracy_m == 35
    for bad in ("0", "501", "-3", "abc", "1e400"):
        resp = client.post(url, form_post(gps_accuracy_m=bad))
        assert resp.status_code == 400 and "gps_accuracy_m" in resp.context["form"].errors, bad
    party.refresh_from_db()
    assert party.gps_accuracy_m == 35
    # The service holds the same rule for any other caller.
    with pytest.raises(ValidationError) as exc:
        create_party(agent, data(gps_accuracy_m=0))
    assert field_codes(exc.value) == {"gps_accuracy_m": {"gps_accuracy_range"}}
