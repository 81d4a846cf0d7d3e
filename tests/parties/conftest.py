"""Fixtures for the parties tests."""

from __future__ import annotations

import pytest

from tests.factories import AgentFactory


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Agents have passwords; the production hasher's cost is pointless in tests (about 0.3 s each)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def agent_client(client, agent):
    """A test client signed in as the party's agent (the dashboard, poster and other agent pages)."""
    client.force_login(agent)
    return client


@pytest.fixture
def people(party, resident, agent):
    """The party and everyone of its permission matrix: anonymous, its resident, an agent of another
    town, its town's agent (party, resident and agent are tests/conftest.py's)."""
    return party, {"anonymous": None, "resident": resident, "other_agent": AgentFactory(), "agent": agent}
