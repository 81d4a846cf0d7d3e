"""Permission matrix: every parties endpoint for anonymous, a resident, an agent of another town and an
agent of the party's town."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import AgentFactory, PartyFactory, ResidentFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"

# (url name, takes party_id) -> expected status for anonymous, resident, other-town agent, agent.
AGENT_PAGES = [
    ("parties:manage", False, {"anonymous": 302, "resident": 403, "other_agent": 200, "agent": 200}),
    ("parties:party-create", False, {"anonymous": 302, "resident": 403, "other_agent": 200, "agent": 200}),
    ("parties:dashboard", True, {"anonymous": 302, "resident": 403, "other_agent": 404, "agent": 200}),
    ("parties:party-edit", True, {"anonymous": 302, "resident": 403, "other_agent": 404, "agent": 200}),
    ("parties:map", True, {"anonymous": 302, "resident": 200, "other_agent": 404, "agent": 200}),
    ("parties:poster", True, {"anonymous": 302, "resident": 403, "other_agent": 404, "agent": 200}),
]


@pytest.mark.parametrize(("name", "with_party", "expected"), AGENT_PAGES)
@pytest.mark.parametrize("who", ["anonymous", "resident", "other_agent", "agent"])
def test_html_pages(client, people, name, with_party, expected, who):
    party, users = people
    if users[who]:
        client.force_login(users[who])
    url = reverse(name, kwargs={"party_id": party.pk} if with_party else None)
    resp = client.get(url)
    assert resp.status_code == expected[who]
    if resp.status_code == 302:
        assert resp["Location"].startswith(LOGIN)


@pytest.mark.parametrize("who", ["anonymous", "resident", "other_agent", "agent"])
def test_qr_code(client, people, who):
    party, users = people
    if users[who]:
        client.force_login(users[who])
    resp = client.get(reverse("parties:qr", kwargs={"party_id": party.pk, "kind": "svg"}))
    assert resp.status_code == {"anonymous": 302, "resident": 403, "other_agent": 404, "agent": 200}[who]


def test_resident_of_another_party_cannot_open_this_map(client, people):
    party, _users = people
    client.force_login(ResidentFactory(party=PartyFactory(town=party.town)))
    assert client.get(reverse("parties:map", kwargs={"party_id": party.pk})).status_code == 404


def test_other_town_agent_cannot_post_an_edit(client, people):
    party, users = people
    client.force_login(users["other_agent"])
    resp = client.post(reverse("parties:party-edit", kwargs={"party_id": party.pk}), {"title_fr": "Hijack"})
    assert resp.status_code == 404
    party.refresh_from_db()
    assert party.title_fr != "Hijack"


def test_agent_signs_in_and_lands_on_their_parties(client):
    agent = AgentFactory()
    page = client.get(LOGIN)
    assert page.status_code == 200 and "Agent sign-in" in page.content.decode()
    resp = client.post(
        LOGIN, {"username": agent.username, "password": "agent-password-123", "next": "/manage/"}
    )
    assert resp.status_code == 302 and resp["Location"] == reverse("parties:manage")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>")


def test_pages_have_no_inline_script(client, people):
    """Content-Security-Policy friendly: scripts are static files, data travels in json_script/data-*."""
    party, users = people
    urls = [reverse("parties:join", kwargs={"join_code": party.join_code}), "/accounts/login/"]
    client.force_login(users["agent"])
    urls += [
        reverse("parties:manage"),
        reverse("parties:party-create"),
        reverse("parties:party-edit", kwargs={"party_id": party.pk}),
        reverse("parties:dashboard", kwargs={"party_id": party.pk}),
    ]
    for url in urls:
        html = client.get(url).content.decode()
        assert "<script" in html and not INLINE_SCRIPT.search(html), url
