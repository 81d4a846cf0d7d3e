"""The pages work under the real Content-Security-Policy: Chromium reports no violation (no inline
script, no inline <style>, no other origin) on the maps, the agent's pages and the API docs."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import AgentFactory, NodeFactory, PartyFactory, ResidentFactory, RevisionFactory


def _cookie(user, live_server) -> dict:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_pages_raise_no_csp_violation(live_server, new_page, browser_log):
    party = PartyFactory()
    town = party.town
    NodeFactory(town=town)
    resident = ResidentFactory(party=party)
    agent = AgentFactory(town=town)
    revision = RevisionFactory(party=party, author=resident)
    pages = {
        None: ["/", f"/towns/{town.slug}/", f"/towns/{town.slug}/data/", "/accounts/login/", "/api/docs/"],
        resident: [f"/parties/{party.pk}/map/", "/my-contributions/"],
        agent: [
            "/manage/",
            f"/manage/parties/{party.pk}/",
            f"/manage/parties/{party.pk}/edit/",
            "/manage/review/",
            f"/manage/review/{revision.pk}/",
        ],
    }
    violations = []
    for user, urls in pages.items():
        page = new_page(viewport={"width": 1280, "height": 900}, bypass_csp=False)
        if user is not None:
            page.context.add_cookies([_cookie(user, live_server)])
        for url in urls:
            response = page.goto(live_server.url + url)
            assert "script-src 'self'" in response.headers["content-security-policy"]
            page.wait_for_load_state("networkidle")
            violations += [f"{url}: {e}" for e in browser_log.errors if "Content Security Policy" in e]
            browser_log.errors.clear()
    assert not violations, "\n".join(violations)
    assert not browser_log.external_requests
