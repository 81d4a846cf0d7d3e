"""One translation of service errors to HTTP: the DRF handler and the view decorator (core.http).

Each answers with the error's status and its message in the reader's language (Accept-Language),
the API as ``{"detail": ...}`` plus what the error adds, plain views as ``{"error": ...}`` or
through the page's own presentation.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from core.errors import Conflict, Invalid, NotAllowed, NotFound, ServiceError, TooMany
from mapping import services, store
from parties.services import JoinRefused
from review import services as review

pytestmark = [pytest.mark.urls("tests.core.urls"), pytest.mark.django_db]


def test_the_api_answers_a_service_error_with_its_status_in_the_readers_language(client):
    fr = client.get("/api/forbidden", HTTP_ACCEPT_LANGUAGE="fr")
    en = client.get("/api/forbidden", HTTP_ACCEPT_LANGUAGE="en")
    assert (fr.status_code, en.status_code) == (403, 403)
    assert fr.json() == {"detail": "Vous ne pouvez pas faire cela."}
    assert en.json() == {"detail": "You may not do this."}


def test_the_api_sends_what_the_error_adds_and_its_headers(client):
    response = client.get("/api/busy", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 429 and response["Retry-After"] == "7"
    assert response.json() == {"detail": "Trop de requêtes pour l'instant.", "retry_after": 7}


def test_a_plain_view_answers_json_with_the_status_in_the_readers_language(client):
    response = client.get("/missing", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 404
    assert response.json() == {"error": "Cette cartopartie n’existe pas."}


def test_a_page_presents_the_error_its_own_way(client):
    response = client.get("/refused", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 302 and response["Location"] == "/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Vous ne pouvez pas faire cela."]


def test_the_decorator_leaves_answers_without_errors_alone(client):
    assert client.get("/fine").content == b"ok"


def test_the_services_errors_are_service_errors_with_their_status():
    assert services.NotAllowed is review.NotAllowed is NotAllowed  # one class, not two
    statuses = {
        services.EditRejected: 400,
        services.RateLimited: 429,
        services.TagConflict: 409,
        store.Conflict: 409,
        store.StoreError: 400,
        review.ReviewError: 400,
        review.AlreadyReviewed: 409,
        review.MergeConflict: 409,
        review.FeatureGone: 409,
        JoinRefused: 403,
    }
    for cls, status in statuses.items():
        assert issubclass(cls, ServiceError) and cls.status == status, cls
    assert issubclass(store.Conflict, Conflict) and issubclass(store.StoreError, Invalid)
    assert NotFound.status == 404


def test_a_store_conflict_keeps_its_details_in_the_answer():
    exc = store.Conflict("node", 5, 3, {"tags": {}})
    assert exc.payload() == {"detail": str(exc), "current_version": 3, "current": {"tags": {}}}
    assert TooMany(retry_after=2).headers() == {"Retry-After": "2"}
