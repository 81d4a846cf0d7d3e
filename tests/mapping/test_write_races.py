"""The rate limit and Undo hold under parallel requests: real threads, each with its own database
connection, sending requests through the API (the whole view stack) and committing against PostGIS."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from mapping.models import Revision
from review import services as review
from tests.factories import AgentFactory, NodeFactory, PartyFactory, ResidentFactory, RevisionFactory
from tests.review.test_review_races import race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.transactional]

Status = Revision.Status


def bench(i: int) -> dict:
    return {
        "element_type": "node",
        "action": "create",
        "after": {
            "tags": {"amenity": "bench"},
            "geometry": {"type": "Point", "coordinates": [9.5209 + i / 1e5, 47.1410]},
        },
    }


def test_ten_parallel_creates_with_a_limit_of_two_store_exactly_two():
    party = PartyFactory(rate_limit_per_minute=2)
    resident = ResidentFactory(party=party)
    url = reverse("mapping-api:party-edits", kwargs={"party_id": party.pk})

    def create(i: int) -> Callable[[], int]:
        def call() -> int:
            client = APIClient()
            client.force_authenticate(resident)
            return client.post(url, bench(i), format="json").status_code

        return call

    codes = race(*(create(i) for i in range(10)))
    assert sorted(codes) == [201] * 2 + [429] * 8
    assert Revision.objects.filter(author=resident).count() == 2


def test_the_limit_is_per_resident_in_parallel_too():
    party = PartyFactory(rate_limit_per_minute=1)
    residents = [ResidentFactory(party=party) for _ in range(4)]
    url = reverse("mapping-api:party-edits", kwargs={"party_id": party.pk})

    def create(user, i: int) -> Callable[[], int]:
        def call() -> int:
            client = APIClient()
            client.force_authenticate(user)
            return client.post(url, bench(i), format="json").status_code

        return call

    codes = race(*(create(r, i) for i, r in enumerate(residents * 2)))
    assert sorted(codes) == [201] * 4 + [429] * 4
    assert all(Revision.objects.filter(author=r).count() == 1 for r in residents)


def test_undo_racing_an_accept_never_withdraws_an_older_edit():
    party = PartyFactory()
    agent = AgentFactory(town=party.town)
    resident = ResidentFactory(party=party)
    url = reverse("mapping-api:party-undo", kwargs={"party_id": party.pk})
    for _ in range(4):  # a few rounds: which thread reaches the row lock first varies
        older = RevisionFactory.modify(
            NodeFactory(town=party.town),
            {
                "tags": {"amenity": "bench", "backrest": "yes"},
                "geometry": {"type": "Point", "coordinates": [9.5209, 47.1410]},
            },
            party=party,
            author=resident,
        )
        latest = RevisionFactory(party=party, author=resident)

        def undo() -> int:
            client = APIClient()
            client.force_authenticate(resident)
            return client.post(url).status_code

        undone, accepted = race(undo, lambda latest=latest: review.accept_revision(latest, agent))
        older.refresh_from_db()
        latest.refresh_from_db()
        assert older.status == Status.PENDING  # never the older, unrelated edit
        if isinstance(accepted, Exception):  # Undo won: the accept found it withdrawn
            assert isinstance(accepted, review.AlreadyReviewed)
            assert (undone, latest.status) == (200, Status.WITHDRAWN)
        else:  # the accept won: Undo has nothing left to undo
            assert (undone, latest.status) == (404, Status.ACCEPTED)
        Revision.objects.filter(pk=older.pk).update(status=Status.WITHDRAWN)  # next round starts clean


def test_two_undos_at_once_act_one_after_the_other():
    party = PartyFactory()
    resident = ResidentFactory(party=party)
    first, second = (
        RevisionFactory(party=party, author=resident),
        RevisionFactory(party=party, author=resident),
    )
    url = reverse("mapping-api:party-undo", kwargs={"party_id": party.pk})

    def undo() -> int:
        client = APIClient()
        client.force_authenticate(resident)
        return client.post(url).json()["id"]

    assert sorted(race(undo, undo)) == sorted([first.pk, second.pk])  # each withdrew its own
    statuses = set(Revision.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
    assert statuses == {Status.WITHDRAWN}
