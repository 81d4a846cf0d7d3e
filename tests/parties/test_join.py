"""Residents join a party with a nickname and consent, and stay signed in for the party's duration."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from parties import services
from parties.models import User
from parties.services import JOIN_OPENS_BEFORE, join_party, nickname_key
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
    monkeypatch.setattr(services, "_nickname_clash", lambda *args: None)
    with pytest.raises(ValidationError) as exc:
        join_party(party, "ANNA", consent=True)
    assert codes(exc.value) == {"nickname_taken"}
    assert User.objects.filter(party=party).count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_agent_signed_in_is_refused_and_no_second_account_is_made(client, method):
    """An agent joining their own party as a resident could then accept their own edits."""
    party = PartyFactory()
    agent = AgentFactory(town=party.town, username="mairie")
    client.force_login(agent)
    url = reverse("parties:join", kwargs={"join_code": party.join_code})
    page = getattr(client, method)(url, {"nickname": "Anna", "consent": "on"} if method == "post" else None)
    assert page.status_code == 403
    assert "You are signed in as mairie, an agent account" in page.content.decode()
    assert not User.objects.filter(party=party).exists()
    assert int(client.session["_auth_user_id"]) == agent.pk  # still the agent, not a new resident


def test_an_agent_of_another_town_is_refused_too(client):
    party = PartyFactory()
    client.force_login(AgentFactory())
    url = reverse("parties:join", kwargs={"join_code": party.join_code})
    assert client.post(url, {"nickname": "Anna", "consent": "on"}).status_code == 403
    assert not User.objects.filter(party=party).exists()


def test_a_resident_of_another_party_may_still_join(client):
    party = PartyFactory()
    client.force_login(ResidentFactory())
    url = reverse("parties:join", kwargs={"join_code": party.join_code})
    assert client.post(url, {"nickname": "Anna", "consent": "on"}).status_code == 302
    assert User.objects.filter(party=party, nickname="Anna").exists()


@pytest.mark.parametrize(
    "lookalike",
    [
        "J\u0435an",  # Cyrillic е
        "JEAN",
        "\uff2a\uff45\uff41\uff4e",  # full-width
        "jean",
        "J\u0435\u0430n",  # Cyrillic е and а
    ],
)
def test_lookalike_nicknames_of_a_participant_are_refused(lookalike):
    party = PartyFactory()
    join_party(party, "Jean", consent=True)
    with pytest.raises(ValidationError) as exc:
        join_party(party, lookalike, consent=True)
    assert codes(exc.value) & {"nickname_taken", "nickname_lookalike"}
    assert User.objects.filter(party=party).count() == 1


def test_lookalike_message_is_plain_and_translated():
    party = PartyFactory()
    join_party(party, "Jean", consent=True)
    with pytest.raises(ValidationError) as exc:
        join_party(party, "J\u0435an", consent=True)
    assert codes(exc.value) == {"nickname_lookalike"}
    assert "looks the same" in exc.value.error_dict["nickname"][0].message


def test_different_nicknames_and_other_parties_are_fine():
    party = PartyFactory()
    join_party(party, "Jean", consent=True)
    assert join_party(party, "Jeanne", consent=True).nickname == "Jeanne"
    assert join_party(party, "Jan", consent=True).nickname == "Jan"
    assert join_party(PartyFactory(town=party.town), "J\u0435an", consent=True)


def test_nicknames_are_stored_in_nfc():
    user = join_party(PartyFactory(), "Rene\u0301e", consent=True)
    assert user.nickname == "Ren\u00e9e"
    assert nickname_key("rn") == nickname_key("m") and nickname_key("Al") == nickname_key("AI")
