"""The printed map made with ``print_map --lang fr`` is French through and through (headings, legend,
index categories, the changes insert), the English one English; and neither names an agent by their
user name."""

from __future__ import annotations

import pytest
from pypdf import PdfReader

from exports.printing import services
from review import services as review
from tests.factories import (
    AgentFactory,
    PartyFactory,
    ResidentFactory,
    RevisionFactory,
    rename_first_restaurant,
)

SMALL = "9.518,47.137,9.526,47.142"  # central Vaduz, inside the centre_town extract
AGENT_LOGIN = "jmeier-login"
pytestmark = pytest.mark.usefixtures("export_dir")  # tests/conftest.py

FRENCH = [
    "LÉGENDE",
    "ÉCHELLE",
    "À PROPOS DE CETTE CARTE",
    "Plan de la commune",
    "INDEX DES RUES",
    "LIEUX UTILES",
    "Restaurants et cafés",
    "Carte en ligne",
    "Ce qui a changé depuis l'édition précédente",
    "Depuis l'édition précédente :",
    "Modifié",
    "Agent de la commune",
]
ENGLISH = [
    "LEGEND",
    "SCALE",
    "ABOUT THIS MAP",
    "Town map",
    "STREET INDEX",
    "POINTS OF INTEREST",
    "Food and drink",
    "Online map",
    "What changed since the previous edition",
    "Since the previous edition:",
    "Changed",
    "Town agent",
]


@pytest.fixture
def changed_town(centre_town):
    """A resident renamed a café, an agent (no public name) accepted it and then changed a bench."""
    party = PartyFactory(town=centre_town)
    agent = AgentFactory(town=centre_town, username=AGENT_LOGIN)
    resident = ResidentFactory(party=party, nickname="Anna")
    rename_first_restaurant(party, resident, agent)
    # The agent's own correction, accepted by a colleague: the agent is then a credited author.
    bench = RevisionFactory(party=party, author=agent)
    review.accept_revision(bench, AgentFactory(town=centre_town, nickname="Gemeinde Vaduz"))
    return centre_town


def print_text(town, lang: str) -> str:
    clean = services.validate_print_request(
        town, {"paper": "A4", "lang": lang, "bbox": SMALL, "changes_page": True}
    )
    path = services.make_print(town, clean).file_path
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "wanted", "unwanted"), [("fr", FRENCH, ENGLISH), ("en", ENGLISH, FRENCH)])
def test_print_is_in_its_language_and_names_no_user_name(changed_town, lang, wanted, unwanted):
    text = print_text(changed_town, lang)
    assert [w for w in wanted if w not in text] == []
    assert [u for u in unwanted if u in text] == []
    assert "Café Amann" in text and "Anna" in text
    assert AGENT_LOGIN not in text
    assert "node " not in text and "nœud " not in text  # the insert names features, not their ids
