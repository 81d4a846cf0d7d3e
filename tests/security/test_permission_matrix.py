"""Permission matrix generated from the URL conf (role x town x action), and CSRF on every write.

Every URL pattern needs a rule in tests/security/matrix.py; each rule's requests are sent as each of
the six roles and must answer the expected status. Writes run inside a savepoint rolled back after
each request, so every role meets the same state. HTML pages that answer 200 are also checked for
inline script (the CSP forbids it) and external resources.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse

from tests.security.matrix import RULES, all_routes

ADMIN_URLS = ["admin:index", "admin:parties_town_changelist", "admin:parties_user_changelist"]


def test_every_url_has_a_rule():
    """A new endpoint without a rule fails here: add it to RULES with the status each role gets."""
    missing = sorted({r.name or r.route for r in all_routes()} - set(RULES))
    assert not missing, f"URL patterns without a permission rule in tests/security/matrix.py: {missing}"
    stale = sorted(set(RULES) - {r.name for r in all_routes()})
    assert not stale, f"rules for URL names that no longer exist: {stale}"


class PageChecker(HTMLParser):
    """Collects what a strict CSP would block: inline script, event-handler attributes, javascript:
    URLs, and any resource from another origin."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and not a.get("src") and a.get("type") != "application/json":
            self.problems.append("inline <script>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler attribute {name}= on <{tag}>")
            if name in ("href", "src", "action", "formaction") and value:
                if value.strip().lower().startswith("javascript:"):
                    self.problems.append(f"javascript: URL on <{tag}>")
                if re.match(r"^(https?:)?//", value.strip()) and tag != "a":
                    self.problems.append(f"external resource {value} on <{tag}>")


def _url(name: str, world, overrides: dict) -> str:
    route = next(r for r in all_routes() if r.name == name)
    names = set(route.pattern.pattern.converters) | set(route.pattern.pattern.regex.groupindex)
    values = world.url_kwargs(name)
    for key, value in overrides.items():  # "@attr": the primary key of world.<attr>
        values[key] = getattr(world, value[1:]).pk if str(value).startswith("@") else value
    return reverse(name, kwargs={k: values[k] for k in names if k in values})  # optional groups left out


def _send(client: Client, check, url: str):
    path = f"{url}?{check.query}" if check.query else url
    method = getattr(client, check.method.lower())
    if check.method in ("GET", "HEAD"):
        return method(path)
    if check.json:
        return method(path, data=json.dumps(check.data or {}), content_type="application/json")
    return method(path, data=check.data or {})


@pytest.mark.django_db
def test_permission_matrix(world):
    """Every role gets exactly the expected status on every URL and method; HTML pages carry no
    inline script, event handler or external resource."""
    mismatches: list[str] = []
    page_problems: dict[str, set[str]] = {}
    checked = 0
    for name, checks in RULES.items():
        urls = [reverse(n) for n in ADMIN_URLS] if name == "admin:*" else None
        for check in checks:
            for role, expected in check.expected().items():
                for url in urls or [_url(name, world, check.kwargs)]:
                    cache.clear()  # sign-in lockout counters start from zero for every request
                    client = world.client(role)  # fresh each time: a logout must not carry over
                    with transaction.atomic():
                        response = _send(client, check, url)
                        transaction.set_rollback(True)
                    checked += 1
                    if response.status_code != expected:
                        mismatches.append(
                            f"{check.method} {url} as {role}: {response.status_code}, expected {expected}"
                        )
                    if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
                        parser = PageChecker()
                        parser.feed(response.content.decode())
                        if parser.problems:
                            page_problems.setdefault(url, set()).update(parser.problems)
    assert not mismatches, f"{len(mismatches)} of {checked} requests:\n" + "\n".join(mismatches)
    assert not page_problems, page_problems


CSRF_WRITES = [(name, check) for name, checks in RULES.items() for check in checks if check.method == "POST"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["res", "agent", "staff"])
def test_every_write_needs_the_csrf_token(world, role):
    """A signed-in user's POST without the CSRF token is refused (403) on every write endpoint:
    a page on another site cannot act in their name."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[role])
    refused = []
    for name, check in CSRF_WRITES:
        if name == "login":
            continue  # signing in is CSRF-protected too, but tested with the lockout
        url = _url(name, world, check.kwargs)
        with transaction.atomic():
            response = _send(client, check, url)
            transaction.set_rollback(True)
        if response.status_code != 403:
            refused.append(f"POST {url}: {response.status_code}")
    assert not refused, "writes accepted without a CSRF token:\n" + "\n".join(refused)
