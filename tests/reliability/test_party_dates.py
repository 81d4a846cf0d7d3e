"""Party dates at the edge of the calendar: the form refuses them with a message in the agent's
language, and a party already stored with such dates (before the check, or by the admin) cannot make
any page answer 500."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.db import DataError, connection
from django.test import Client
from django.urls import reverse

from parties.models import Party
from tests.factories import AgentFactory, PartyFactory, ResidentFactory

AREA = '{"type": "Polygon", "coordinates": [[[9.519, 47.139], [9.523, 47.139], [9.523, 47.142], [9.519, 47.142], [9.519, 47.139]]]}'


def _form(**dates) -> dict:
    return {
        "title_fr": "Soirée",
        "starts_at": "2030-06-01T18:00",
        "ends_at": "2030-06-01T21:00",
        "area": AREA,
        "preset_set": "cartoparty",
        "rate_limit_per_minute": "30",
        **dates,
    }


@pytest.fixture
def agent_client(centre_town):
    client = Client()
    client.force_login(AgentFactory(town=centre_town))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "dates",
    [
        {"starts_at": "0001-01-01T00:00", "ends_at": "0001-01-01T03:00"},
        {"starts_at": "1999-12-31T20:00", "ends_at": "1999-12-31T23:00"},
        {"starts_at": "9999-12-31T20:00", "ends_at": "9999-12-31T23:59"},
        {"starts_at": "2100-12-31T22:00", "ends_at": "2101-01-01T01:00"},
        {"ends_at": "10000-01-01T00:00"},
        {"starts_at": "2026-02-30T18:00"},
    ],
    ids=["year 1", "1999", "year 9999", "ends in 2101", "year 10000", "30 February"],
)
def test_party_dates_out_of_range_are_refused_with_a_message(agent_client, dates):
    count = Party.objects.count()
    response = agent_client.post(reverse("parties:party-create"), _form(**dates), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 400
    errors = {name: list(errs) for name, errs in response.context["form"].errors.items()}
    assert set(errors) & {"starts_at", "ends_at"}, errors
    text = " ".join(m for msgs in errors.values() for m in msgs)
    assert "entre 2000 et 2100" in text or "valide" in text, text  # French, and says what is allowed
    assert Party.objects.count() == count


@pytest.mark.django_db
def test_the_date_window_is_offered_by_the_date_picker(agent_client):
    page = agent_client.get(reverse("parties:party-create")).content.decode()
    assert 'min="2000-01-01T00:00"' in page and 'max="2100-12-31T23:59"' in page


@pytest.mark.django_db
def test_party_dates_inside_the_window_are_accepted(agent_client):
    response = agent_client.post(reverse("parties:party-create"), _form())
    assert response.status_code == 302, response.content.decode()[:2000]


REPAIR_SQL = importlib.import_module("parties.migrations.0003_repair_party_dates").REPAIR_SQL


@pytest.mark.django_db
def test_the_migration_repairs_parties_stored_before_year_1(centre_town):
    """Year 1 typed in Paris time is a timestamp BC in PostgreSQL, which psycopg cannot read back."""
    party = PartyFactory(town=centre_town)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE parties_party SET starts_at = '0001-01-01 00:00+01'::timestamptz - interval '1 day', "
            "ends_at = '10000-01-01 00:00+00' WHERE id = %s",
            [party.pk],
        )
        with pytest.raises(DataError):
            Party.objects.get(pk=party.pk)
    with connection.cursor() as cur:
        cur.execute(REPAIR_SQL)
    party = Party.objects.get(pk=party.pk)
    assert party.starts_at == dt.datetime(1, 1, 2, tzinfo=dt.UTC)
    assert party.ends_at == dt.datetime(9999, 12, 30, tzinfo=dt.UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        (dt.datetime(1, 1, 2, tzinfo=dt.UTC), dt.datetime(1, 1, 2, 3, tzinfo=dt.UTC)),
        (dt.datetime(9999, 12, 29, 20, tzinfo=dt.UTC), dt.datetime(9999, 12, 30, tzinfo=dt.UTC)),
    ],
    ids=["year 1", "year 9999"],
)
def test_a_party_stored_at_the_calendar_edge_breaks_no_page(centre_town, starts_at, ends_at):
    """Stored before the form checked dates (as the migration leaves them): every page of the town
    still answers, none 500."""
    party = PartyFactory(town=centre_town, starts_at=starts_at, ends_at=ends_at)
    other = PartyFactory(town=centre_town)
    resident = ResidentFactory(party=other)
    agent = AgentFactory(town=centre_town)
    urls = [
        reverse("parties:manage"),
        reverse("parties:dashboard", kwargs={"party_id": party.pk}),
        reverse("parties:party-edit", kwargs={"party_id": party.pk}),
        reverse("parties:qr", kwargs={"party_id": party.pk, "kind": "svg"}),
        reverse("parties:poster", kwargs={"party_id": party.pk}),
        reverse("parties:join", kwargs={"join_code": party.join_code}),
        reverse("parties:map", kwargs={"party_id": party.pk}),
        reverse("parties-api:party-list"),
        reverse("parties-api:party-detail", kwargs={"party_id": party.pk}),
        reverse("mapping-api:party-stats", kwargs={"party_id": party.pk}),
        reverse("review:review-queue"),
        reverse("review:review-api-queue"),
        reverse("printing:orders"),
        reverse("exports:open-data", kwargs={"slug": centre_town.slug}),
        reverse("exports:merge", kwargs={"slug": centre_town.slug}),
    ]
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    failures = []
    for url in urls:
        for lang in ("fr", "en"):
            response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
            if response.status_code >= 500:
                failures.append(
                    f"{url} ({lang}): {response.status_code} {getattr(response, 'exc_info', None)}"
                )
    # The join page for anyone, and the party's own edit form posted back unchanged.
    anonymous = Client(raise_request_exception=False)
    response = anonymous.post(
        reverse("parties:join", kwargs={"join_code": party.join_code}), {"nickname": "Alice", "consent": "on"}
    )
    if response.status_code >= 500:
        failures.append(f"join POST: {response.status_code}")
    resident_client = Client(raise_request_exception=False)
    resident_client.force_login(resident)
    for url in (
        reverse("parties:join", kwargs={"join_code": party.join_code}),
        reverse("review:my-contributions"),
    ):
        response = resident_client.get(url)
        if response.status_code >= 500:
            failures.append(f"{url} as resident: {response.status_code}")
    assert not failures, "\n".join(failures)
