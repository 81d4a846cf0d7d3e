"""Agents' user names never appear publicly: public pages, the open-data API and files credit people by
the nickname or public name they chose, an agent without one as "Town agent"."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from mapping.models import Revision
from parties.models import User, public_name
from review import services as review
from tests.factories import (
    AgentFactory,
    PartyFactory,
    ResidentFactory,
    rename_first_restaurant,
)

AGENT_LOGIN = "jmeier-login"


@pytest.fixture
def history(centre_town, settings, tmp_path):
    """A resident's change accepted by an agent, then reverted by that agent (who is its author)."""
    settings.CARTOPARTY_EXPORT_DIR = tmp_path / "exports"
    party = PartyFactory(town=centre_town)
    agent = AgentFactory(town=centre_town, username=AGENT_LOGIN)
    resident = ResidentFactory(party=party, nickname="Anna")
    cafe, accepted = rename_first_restaurant(party, resident, agent)
    review.revert_revision(Revision.objects.get(pk=accepted.pk), agent, "")
    return centre_town, agent, cafe


def public_pages(town, cafe) -> dict[str, str]:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    urls = [
        reverse("mapping:town-map", kwargs={"slug": town.slug}),
        reverse(
            "mapping:element-history",
            kwargs={"slug": town.slug, "element_type": "node", "element_id": cafe.osm_id},
        ),
        reverse("mapping:town-as-of", kwargs={"slug": town.slug}),
        reverse("exports:open-data", kwargs={"slug": town.slug}),
        reverse("exports:api-changes", kwargs={"slug": town.slug}),
    ]
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
    return pages


@pytest.mark.django_db
def test_public_pages_credit_agents_by_role_never_by_user_name(history):
    town, agent, cafe = history
    pages = public_pages(town, cafe)
    assert [url for url, html in pages.items() if AGENT_LOGIN in html] == []
    history_page = pages[
        reverse(
            "mapping:element-history",
            kwargs={"slug": town.slug, "element_type": "node", "element_id": cafe.osm_id},
        )
    ]
    assert "Agent de la commune" in history_page and "Anna" in history_page


@pytest.mark.django_db
def test_an_agent_chooses_the_name_they_are_credited_under(history):
    town, agent, cafe = history
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(agent)
    page = client.get(reverse("parties:manage")).content.decode()
    assert "Votre nom public" in page
    response = client.post(reverse("parties:manage"), {"nickname": "  Service  technique "})
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.nickname == "Service technique"
    pages = public_pages(town, cafe)
    assert all(AGENT_LOGIN not in html for html in pages.values())
    assert any("Service technique" in html for html in pages.values())
    # An unusable name is refused with a message, and nothing is saved.
    response = client.post(reverse("parties:manage"), {"nickname": "x"})
    assert response.status_code == 400
    assert "au moins" in response.content.decode()
    agent.refresh_from_db()
    assert agent.nickname == "Service technique"


@pytest.mark.django_db
def test_public_name_falls_back_to_the_role():
    with translation.override("en"):
        assert public_name("Anna", User.Role.RESIDENT) == "Anna"
        assert public_name("", User.Role.AGENT) == "Town agent"
        assert public_name("", User.Role.STAFF) == "Platform staff"
        assert AgentFactory.build(username=AGENT_LOGIN).display_name == "Town agent"
