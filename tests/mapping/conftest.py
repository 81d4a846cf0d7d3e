"""The party, its town's agent and one of its residents: the cast of most review and editing tests."""

from __future__ import annotations

import pytest

from tests.factories import AgentFactory, PartyFactory, ResidentFactory


@pytest.fixture
def party(db):
    return PartyFactory()


@pytest.fixture
def agent(party):
    return AgentFactory(town=party.town)


@pytest.fixture
def resident(party):
    return ResidentFactory(party=party)
