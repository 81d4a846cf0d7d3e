"""The join link as a QR code (segno) and the printable A4 poster (WeasyPrint, real text in the PDF)."""

from __future__ import annotations

import io
import ipaddress
from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from parties.models import Party

QR_KINDS = {"svg": "image/svg+xml", "png": "image/png"}


def join_url(party: Party) -> str:
    """The absolute join link printed on posters: CARTOPARTY_PUBLIC_URL is where phones reach the site."""
    path = reverse("parties:join", kwargs={"join_code": party.join_code})
    return settings.CARTOPARTY_PUBLIC_URL.rstrip("/") + path


def loopback_public_url() -> str:
    """CARTOPARTY_PUBLIC_URL when it names this machine only (127.0.0.0/8, ::1, localhost), else "".

    Such a link works in the agent's browser on the laptop and nowhere else: a phone scanning the QR
    code looks for the site on the phone itself. The agent's pages say so before posters are printed.
    """
    url = settings.CARTOPARTY_PUBLIC_URL
    host = (urlsplit(url).hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return url
    try:
        return url if ipaddress.ip_address(host).is_loopback else ""
    except ValueError:
        return ""


def qr_code(party: Party, kind: str, scale: int = 10) -> bytes:
    """The join link's QR code as SVG or PNG bytes; error correction M survives a creased poster."""
    if kind not in QR_KINDS:
        raise ValueError(kind)
    qr = segno.make(join_url(party), error="m")
    buf = io.BytesIO()
    if kind == "svg":
        qr.save(buf, kind="svg", scale=scale, border=4, xmldecl=False, title=party.title)
    else:
        qr.save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def poster_pdf(party: Party) -> bytes:
    """The A4 poster: bilingual title, dates, QR code, link and how-to. Text stays extractable.

    The poster is bilingual by design (French and English side by side whatever the agent's language):
    the how-to is rendered once in each language from the catalogues (``{% language %}``).
    """
    # Imported here: WeasyPrint loads Pango at import, which only this page needs.
    from weasyprint import HTML

    qr = segno.make(join_url(party), error="m")
    html = render_to_string(
        "parties/party_poster.html",
        {
            "party": party,
            "join_url": join_url(party),
            "qr_data_uri": qr.svg_data_uri(scale=10, border=2),
            "poster_languages": ("fr", "en"),
        },
    )
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
