"""Graceful answers under trouble: the database gone is a 503 with Retry-After (never a 500), and a
request that queued too long behind the proxy is shed with a 503 before it does any work."""

from __future__ import annotations

import time

import pytest
from django.db import InterfaceError, OperationalError, ProgrammingError
from django.test import RequestFactory

from config.security import DatabaseUnavailableMiddleware, LoadSheddingMiddleware, queue_ms


@pytest.mark.parametrize(
    "error", [OperationalError("server closed the connection"), InterfaceError("closed")]
)
def test_database_errors_become_503_with_retry_after(error):
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    response = middleware.process_exception(RequestFactory().post("/api/parties/1/edits/"), error)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"try again" in response.content


def test_a_bug_is_still_a_500():
    """Only connection-level errors are the database being away; a broken query is a bug to see."""
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    assert middleware.process_exception(RequestFactory().get("/"), ProgrammingError("syntax")) is None


@pytest.mark.django_db
def test_the_database_being_down_answers_503_end_to_end(client, monkeypatch):
    """A view whose query fails because PostgreSQL is restarting answers 503 JSON."""

    def down(*args, **kwargs):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr("mapping.views.features_geojson_for_town", down)
    from tests.factories import TownFactory

    town = TownFactory()
    client.raise_request_exception = False
    response = client.get(f"/api/towns/{town.slug}/features?bbox=9.52,47.14,9.53,47.15&zoom=17")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def _shed(header: str | None, path: str = "/api/parties/1/features/"):
    middleware = LoadSheddingMiddleware(lambda request: "served")
    headers = {"HTTP_X_REQUEST_START": header} if header else {}
    return middleware(RequestFactory().get(path, **headers))


def test_requests_queued_too_long_are_shed(settings):
    settings.CARTOPARTY_MAX_QUEUE_MS = 3000
    response = _shed(f"t={time.time() - 5:.3f}")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert _shed(f"t={int((time.time() - 5) * 1000)}").status_code == 503  # nginx's milliseconds


def test_fresh_unmarked_or_health_requests_are_served(settings):
    settings.CARTOPARTY_MAX_QUEUE_MS = 3000
    assert _shed(f"t={time.time():.3f}") == "served"
    assert _shed(None) == "served"
    assert _shed("t=garbage") == "served"
    assert _shed(f"t={time.time() - 60:.3f}", path="/healthz") == "served"
    settings.CARTOPARTY_MAX_QUEUE_MS = 0
    assert _shed(f"t={time.time() - 60:.3f}") == "served"


def test_queue_ms_reads_seconds_and_milliseconds():
    now = time.time()
    assert 900 < queue_ms(f"t={now - 1:.3f}") < 1500
    assert 900 < queue_ms(f"t={int((now - 1) * 1000)}") < 1500
    assert queue_ms("nonsense") is None
