"""manage.py create_agent."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from parties.models import User
from tests.factories import TownFactory

pytestmark = pytest.mark.django_db


def test_create_agent(call, monkeypatch):
    town = TownFactory(slug="triesen")
    monkeypatch.setenv("CARTOPARTY_AGENT_PASSWORD", "a-long-town-password-42")
    out = call("create_agent", "mairie", town="triesen", no_input=True)
    assert "created" in out
    agent = User.objects.get(username="mairie")
    assert agent.is_agent and agent.town == town and agent.check_password("a-long-town-password-42")
    with pytest.raises(CommandError, match="already taken"):
        call("create_agent", "Mairie", town="triesen", no_input=True)


def test_create_agent_refuses_weak_passwords_and_unknown_towns(call, monkeypatch):
    TownFactory(slug="triesen")
    monkeypatch.setenv("CARTOPARTY_AGENT_PASSWORD", "123")
    with pytest.raises(CommandError, match="too short"):
        call("create_agent", "mairie", town="triesen", no_input=True)
    with pytest.raises(CommandError, match="No town"):
        call("create_agent", "mairie", town="nowhere", no_input=True)
    assert not User.objects.filter(username="mairie").exists()
