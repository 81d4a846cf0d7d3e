"""Agent sign-in resists guessing: 5 failures for a username (or 20 from an address) lock it for
15 minutes, with a clear message, HTTP 429 and Retry-After; the right password does not get in
during the lockout; the admin's sign-in is guarded the same way."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import AgentFactory

PASSWORD = "agent-password-123"


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast guesses
    cache.clear()
    yield
    cache.clear()


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_five_failures_lock_the_username_with_a_clear_message(client):
    agent = AgentFactory()
    for _ in range(4):
        response = _login(client, agent.username, "wrong")
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    response = _login(client, agent.username, "wrong")
    assert response.status_code == 429
    assert 850 <= int(response["Retry-After"]) <= 900
    assert "blocked for 15 minutes" in response.content.decode()
    # The right password does not get in while locked, and the message stays.
    response = _login(client, agent.username, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "Too many failed sign-in attempts" in response.content.decode()


@pytest.mark.django_db
def test_lock_is_per_username_and_case_insensitive(client):
    agent, other = AgentFactory(), AgentFactory()
    for _ in range(5):
        _login(client, agent.username.upper(), "wrong")
    assert _login(client, agent.username, PASSWORD).status_code == 429
    # Another agent from another address is not affected.
    response = _login(Client(), other.username, PASSWORD, ip="10.0.0.2")
    assert response.status_code == 302


@pytest.mark.django_db
def test_one_address_guessing_many_usernames_is_locked(client):
    agent = AgentFactory()
    for i in range(20):
        _login(client, f"guess-{i}", "wrong", ip="10.9.9.9")
    assert _login(client, agent.username, PASSWORD, ip="10.9.9.9").status_code == 429
    assert _login(Client(), agent.username, PASSWORD, ip="10.0.0.3").status_code == 302


@pytest.mark.django_db
def test_a_success_resets_the_username_counter(client):
    agent = AgentFactory()
    for _ in range(4):
        _login(client, agent.username, "wrong")
    assert _login(client, agent.username, PASSWORD).status_code == 302
    for _ in range(4):
        assert _login(Client(), agent.username, "wrong").status_code == 200


@pytest.mark.django_db
def test_the_lock_expires(client, settings):
    settings.CARTOPARTY_LOGIN_LOCKOUT_SECONDS = 1
    agent = AgentFactory()
    for _ in range(5):
        _login(client, agent.username, "wrong")
    assert _login(client, agent.username, PASSWORD).status_code == 429
    time.sleep(1.1)
    assert _login(client, agent.username, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_admin_sign_in_is_guarded_too(client):
    staff = AgentFactory(is_staff=True, is_superuser=True)
    for _ in range(5):
        client.post(
            "/admin/login/", {"username": staff.username, "password": "wrong"}, REMOTE_ADDR="10.0.0.4"
        )
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": staff.username, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.4",
    )
    assert response.status_code == 200  # the admin's own view renders the form again
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_residents_joining_are_not_affected(client):
    """The lockout gate sits in front of password checks only; passwordless residents still sign in."""
    from tests.factories import PartyFactory

    party = PartyFactory()
    for i in range(20):
        _login(client, f"guess-{i}", "wrong", ip="127.0.0.1")
    response = client.post(f"/join/{party.join_code}/", {"nickname": "Anna", "consent": "on"})
    assert response.status_code == 302
    assert client.get(f"/api/parties/{party.pk}/presets/").status_code == 200
