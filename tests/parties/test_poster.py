"""The join link's QR code (decoded back) and the printable A4 poster (text extracted from the PDF)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import zxingcpp
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from parties.poster import join_url, loopback_public_url
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


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.8.9.10/", True),
        ("http://[::1]:8000", True),
        ("http://localhost:8000", True),
        ("http://LOCALHOST.:8000", True),
        ("http://cartoparty.localhost", True),
        ("http://192.168.1.20:8000", False),
        ("https://[fd00::2]:8443", False),
        ("https://carto.example.org", False),
        ("https://localhost.example.org", False),
    ],
)
def test_loopback_public_url_is_only_this_machine(settings, url, loopback):
    settings.CARTOPARTY_PUBLIC_URL = url
    assert loopback_public_url() == (url if loopback else "")


@pytest.mark.parametrize(
    ("lang", "headline", "what_to_set"),
    [
        ("en", "Phones cannot use the QR codes and links printed from here.", "Set CARTOPARTY_PUBLIC_URL"),
        (
            "fr",
            "Les téléphones ne peuvent pas utiliser les QR codes et les liens imprimés depuis cette page.",
            "Donnez à CARTOPARTY_PUBLIC_URL une adresse",
        ),
    ],
)
def test_dashboard_warns_when_the_join_link_is_a_loopback_address(
    agent_client, party, settings, lang, headline, what_to_set
):
    """A QR code pointing at 127.0.0.1 opens nothing on a phone: the agent reads why and what to set
    before printing posters, in their language."""
    url = reverse("parties:dashboard", kwargs={"party_id": party.pk})
    settings.CARTOPARTY_PUBLIC_URL = "http://127.0.0.1:8000"
    html = agent_client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert 'class="loopback-warning" role="alert"' in html
    assert headline in html and what_to_set in html and "http://127.0.0.1:8000" in html
    assert "make run HOST=0.0.0.0" in html
    settings.CARTOPARTY_PUBLIC_URL = "http://192.168.1.20:8000"
    html = agent_client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert "loopback-warning" not in html and "http://192.168.1.20:8000/join/" in html
