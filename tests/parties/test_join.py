"""Residents join a party with a nickname and consent, and stay signed in for the party's duration."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from parties.models import User
from parties.services import JOIN_OPENS_BEFORE, join_party
from tests.factories import AgentFactory, PartyFactory, ResidentFactory

pytestmark = pytest.mark.django_db


def codes(exc: ValidationError) -> set[str]:
    """Every error code in a ValidationError, with or without fields."""
    return (
        {e.code for e in exc.error_list}
        if not hasattr(exc, "error_dict")
        else {e.code for errors in exc.error_dict.values() for e in errors}
    )


def test_join_creates_passwordless_resident_of_the_party():
    party = PartyFactory()
    user = join_party(party, "  Anna   B ", consent=True)
    user.refresh_from_db()
    assert user.role == User.Role.RESIDENT
    assert user.party == party and user.town == party.town
    assert user.nickname == "Anna B"
    assert not user.has_usable_password()
    assert user.licence_consent_at is not None


def test_nickname_is_unique_within_the_party_case_insensitively():
    party = PartyFactory()
    join_party(party, "Anna", consent=True)
    with pytest.raises(ValidationError) as exc:
        join_party(party, "anna", consent=True)
    assert codes(exc.value) == {"nickname_taken"}
    # Another party may have its own Anna.
    assert join_party(PartyFactory(town=party.town), "Anna", consent=True).nickname == "Anna"


def test_consent_is_required():
    with pytest.raises(ValidationError) as exc:
        join_party(PartyFactory(), "Anna", consent=False)
    assert codes(exc.value) == {"consent_required"}
    assert not User.objects.filter(nickname="Anna").exists()


@pytest.mark.parametrize("nickname", ["", " ", "a", "x" * 41, "bad\u200bname", "tab\x07"])
def test_unusable_nicknames_are_refused(nickname):
    with pytest.raises(ValidationError):
        join_party(PartyFactory(), nickname, consent=True)


def test_closed_party_is_refused_but_joining_a_bit_early_works():
    now = timezone.now()
    ended = PartyFactory(starts_at=now - dt.timedelta(hours=3), ends_at=now - dt.timedelta(minutes=1))
    with pytest.raises(ValidationError) as exc:
        join_party(ended, "Anna", consent=True)
    assert codes(exc.value) == {"party_ended"}
    later = PartyFactory(
        starts_at=now + JOIN_OPENS_BEFORE + dt.timedelta(minutes=5), ends_at=now + dt.timedelta(hours=5)
    )
    with pytest.raises(ValidationError) as exc:
        join_party(later, "Anna", consent=True)
    assert codes(exc.value) == {"party_not_open"}
    soon = PartyFactory(
        starts_at=now + JOIN_OPENS_BEFORE - dt.timedelta(minutes=5), ends_at=now + dt.timedelta(hours=5)
    )
    assert join_party(soon, "Anna", consent=True).party == soon


def test_join_view_signs_in_until_the_party_ends_and_opens_the_map(client):
    party = PartyFactory()
    url = reverse("parties:join", kwargs={"join_code": party.join_code})
    page = client.get(url)
    assert page.status_code == 200
    assert b"nickname" in page.content
    resp = client.post(url, {"nickname": "Anna", "consent": "on"})
    assert resp.status_code == 302
    assert resp["Location"] == reverse("parties:map", kwargs={"party_id": party.pk})
    user = User.objects.get(party=party, nickname="Anna")
    assert int(client.session["_auth_user_id"]) == user.pk
    assert abs((client.session.get_expiry_date() - party.ends_at).total_seconds()) < 1
    assert client.get(resp["Location"]).status_code == 200
    # Opening the link again on the same phone goes straight back to the map.
    assert client.get(url)["Location"] == resp["Location"]


def test_join_view_shows_errors_next_to_fields(client):
    party = PartyFactory()
    ResidentFactory(party=party, nickname="Anna")
    url = reverse("parties:join", kwargs={"join_code": party.join_code})
    resp = client.post(url, {"nickname": "ANNA"})
    assert resp.status_code == 400
    errors = resp.context["form"].errors
    assert "nickname" in errors and "consent" in errors
    assert "_auth_user_id" not in client.session


def test_join_view_for_ended_and_unknown_parties(client):
    now = timezone.now()
    ended = PartyFactory(starts_at=now - dt.timedelta(hours=3), ends_at=now - dt.timedelta(minutes=1))
    url = reverse("parties:join", kwargs={"join_code": ended.join_code})
    assert client.get(url).status_code == 410
    assert client.post(url, {"nickname": "Anna", "consent": "on"}).status_code == 410
    assert not User.objects.filter(nickname="Anna").exists()
    assert client.get(reverse("parties:join", kwargs={"join_code": "nope"})).status_code == 404


def test_two_phones_choosing_the_same_nickname_at_once(monkeypatch):
    """The database settles the race the pre-check cannot see: the second one gets the usual message."""
    party = PartyFactory()
    join_party(party, "Anna", consent=True)
    # As if both phones had passed the "is it taken?" check before either saved.
    monkeypatch.setattr(QuerySet, "exists", lambda self: False)
    with pytest.raises(ValidationError) as exc:
        join_party(party, "ANNA", consent=True)
    assert codes(exc.value) == {"nickname_taken"}
    assert User.objects.filter(party=party).count() == 1


def test_an_agent_opening_a_join_link_is_told_they_will_switch_accounts(client):
    party = PartyFactory()
    client.force_login(AgentFactory(town=party.town, username="mairie"))
    page = client.get(reverse("parties:join", kwargs={"join_code": party.join_code}))
    assert "You are signed in as mairie" in page.content.decode()
