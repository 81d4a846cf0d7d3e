"""Security headers on every response, a strict CSP, and `check --deploy` clean with .env.example."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/api/schema/", "/healthz", "/static/js/cartoparty.js"]
)
def test_security_headers_everywhere(client, path):
    """Pages, API, health check and static files all carry the CSP and the other security headers."""
    response = client.get(path)
    csp = _directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no other origin
    assert csp["style-src-elem"] == ["'self'"]
    assert csp["style-src-attr"] == ["'unsafe-inline'"]  # Leaflet positions panes with style=""
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    for values in csp.values():
        assert not any(v.startswith(("http", "//", "*")) for v in values), "no external origin"
    assert "geolocation=(self)" in response["Permissions-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_api_docs_need_no_inline_script_nor_cdn(client):
    """Swagger UI comes from our static files (drf-spectacular-sidecar) and its initialiser is a
    separate script, so the strict CSP holds on /api/docs/ too."""
    html = client.get("/api/docs/").content.decode()
    assert "cdn." not in html and "jsdelivr" not in html
    csp = _directives(client.get("/api/docs/")["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src-elem"] == ["'self'", "'unsafe-inline'"]  # Swagger UI's own <style> elements
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]


def test_cookies_are_not_readable_by_scripts_nor_sent_cross_site():
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.CSRF_COOKIE_SAMESITE == "Lax"


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_check_deploy_is_clean_with_the_example_environment():
    """`manage.py check --deploy --fail-level WARNING` passes with .env.example's values (secure
    cookies, HSTS, SSL redirect, no DEBUG). The example's secret is a placeholder by design, so a
    random one of production strength stands in for it."""
    example = _env_example()
    assert example["DJANGO_SECRET_KEY"].startswith("change-me"), "the example must not ship a usable key"
    db = settings.DATABASES["default"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CARTOPARTY_"))},
        **example,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"postgis://{db['USER']}@{quote(db['HOST'], safe='')}:{db['PORT']}/{db['NAME']}",
    }
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_production_settings_from_the_example():
    """The example turns on what production needs (a regression here would make the check above moot)."""
    example = _env_example()
    assert example["DJANGO_DEBUG"] == "false"
    assert example["DJANGO_SESSION_COOKIE_SECURE"] == "true"
    assert example["DJANGO_CSRF_COOKIE_SECURE"] == "true"
    assert int(example["DJANGO_SECURE_HSTS_SECONDS"]) >= 31536000
    assert example["DJANGO_SECURE_SSL_REDIRECT"] == "true"
