"""The join link's QR code (decoded back) and the printable A4 poster (text extracted from the PDF)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import zxingcpp
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from parties.poster import join_url
from tests.factories import PartyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def party(settings):
    settings.CARTOPARTY_PUBLIC_URL = "https://carto.example.org/"
    return PartyFactory(
        title_fr="Cartopartie des Städtle",
        title_en="Städtle mapping party",
        starts_at=dt.datetime(2026, 11, 22, 17, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 11, 22, 20, 0, tzinfo=dt.UTC),
        hashtag="#cartoparty-vaduz-2026-11-22",
    )


def test_join_url_uses_the_public_address(party):
    assert join_url(party) == f"https://carto.example.org/join/{party.join_code}/"


def test_qr_png_decodes_to_the_join_link(agent_client, party):
    resp = agent_client.get(reverse("parties:qr", kwargs={"party_id": party.pk, "kind": "png"}))
    assert resp.status_code == 200 and resp["Content-Type"] == "image/png"
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(resp.content)))
    assert code.text == join_url(party)


def test_qr_svg_is_an_svg_and_other_kinds_are_404(agent_client, party):
    resp = agent_client.get(reverse("parties:qr", kwargs={"party_id": party.pk, "kind": "svg"}))
    assert resp.status_code == 200 and resp["Content-Type"] == "image/svg+xml"
    assert resp.content.startswith(b"<svg") and b"<path" in resp.content
    assert (
        agent_client.get(reverse("parties:qr", kwargs={"party_id": party.pk, "kind": "gif"})).status_code
        == 404
    )


def test_poster_is_an_a4_pdf_with_title_date_link_and_both_howtos(agent_client, party):
    resp = agent_client.get(reverse("parties:poster", kwargs={"party_id": party.pk}))
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.content))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    # A4 is 595 x 842 points.
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = " ".join(page.extract_text().split())
    assert "Cartopartie des Städtle" in text and "Städtle mapping party" in text
    # Dates in both languages, in the site's time zone (Europe/Paris: UTC+1 in November).
    assert "dimanche 22 novembre 2026, 18:00 – 21:00" in text
    assert "Sunday 22 November 2026, 18:00 – 21:00" in text
    assert "Comment participer" in text and "Choisissez un pseudonyme" in text
    assert "How to take part" in text and "Choose a nickname" in text
    assert join_url(party) in text and "#cartoparty-vaduz-2026-11-22" in text
    # The QR code is drawn in the PDF (as vector paths or an image).
    assert page.get_contents() is not None and len(page.get_contents().get_data()) > 2000
