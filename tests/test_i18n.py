"""Both catalogues are complete, and pages really render in French."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest

LOCALE = Path(__file__).resolve().parent.parent / "locale"


@pytest.mark.parametrize("domain", ["django.po"])
def test_french_catalogue_is_complete(domain):
    po = polib.pofile(str(LOCALE / "fr/LC_MESSAGES" / domain))
    missing = [e.msgid for e in po.untranslated_entries() + po.fuzzy_entries()]
    assert len(po) > 300
    assert missing == [], f"untranslated: {missing[:10]} (run scripts/translations.py)"


@pytest.mark.django_db
def test_home_page_in_french_and_english(client):
    fr = client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    en = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Cartoparty : cartographions notre commune ensemble" in fr
    assert "Cartoparty: map your town together" in en
