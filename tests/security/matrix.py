"""The permission matrix: for every URL pattern of the URL conf, what each role gets.

``RULES`` maps a URL name (``namespace:name``; admin URLs share one ``admin:*`` rule) to the requests
tried and the status each role must get. A new URL pattern without a rule here fails
``test_every_url_has_a_rule``: whoever adds an endpoint decides who may use it.

Roles (columns, in this order):
  anon    anonymous visitor
  res     resident of the party under test (town A)
  ores    resident of another party of town A
  agent   agent of town A
  oagent  agent of town B
  staff   platform staff (is_staff, admin access, no town)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver

ROLES = ("anon", "res", "ores", "agent", "oagent", "staff")


@dataclass(frozen=True)
class Check:
    """One request (method + optional body) and the status expected for each role, in ROLES order."""

    method: str
    expect: tuple[int, ...]
    data: dict | None = None
    json: bool = False  # send ``data`` as JSON (API) rather than a form
    query: str = ""
    kwargs: dict = field(default_factory=dict)  # overrides of the URL kwargs built from the fixtures

    def expected(self) -> dict[str, int]:
        assert len(self.expect) == len(ROLES), self
        return dict(zip(ROLES, self.expect, strict=True))


def E(*codes: int) -> tuple[int, ...]:  # upper case: reads like a table row
    return codes


PUBLIC = E(200, 200, 200, 200, 200, 200)
# Party-scoped API (residents of the party, agents of its town): others 404, anonymous 403.
PARTY_API = E(403, 200, 404, 200, 404, 404)
# Agent pages of the party's town: anonymous to sign-in, non-agents 403, another town's agent 404.
AGENT_PARTY_PAGE = E(302, 403, 403, 200, 404, 403)
AGENT_PAGE = E(302, 403, 403, 200, 200, 403)
AGENT_API = E(403, 403, 403, 200, 404, 403)
NOT_ALLOWED = E(405, 405, 405, 405, 405, 405)

EDIT = {
    "element_type": "node",
    "action": "create",
    "preset": "amenity/bench",
    "after": {"tags": {"amenity": "bench"}, "geometry": {"type": "Point", "coordinates": [9.5209, 47.1410]}},
}

# A footway with a junction into way 1 (absent from most worlds: the check answers 200 or 400).
EDIT_LINE = {
    "element_type": "way",
    "action": "create",
    "after": {
        "tags": {"highway": "footway"},
        "nodes": [[None, 9.5209, 47.1410], [None, 9.5212, 47.1412]],
        "closed": False,
        "joins": [{"way": 1, "base_version": 1, "segment": 0, "vertex": 1}],
    },
}

RULES: dict[str, list[Check]] = {
    # --- Django: language, authentication, admin
    "set_language": [Check("POST", E(302, 302, 302, 302, 302, 302), data={"language": "fr", "next": "/"})],
    "login": [
        Check("GET", PUBLIC),
        Check("POST", PUBLIC, data={"username": "nobody", "password": "wrong"}),  # form with an error
    ],
    "logout": [Check("GET", NOT_ALLOWED), Check("POST", PUBLIC)],  # the "signed out" page
    # Residents are passwordless: the change form is there but no old password can match.
    "password_change": [Check("GET", E(302, 200, 200, 200, 200, 200))],
    "password_change_done": [Check("GET", E(302, 200, 200, 200, 200, 200))],
    "password_reset": [
        Check("GET", PUBLIC),
        Check("POST", E(302, 302, 302, 302, 302, 302), data={"email": "x@example.org"}),
    ],
    "password_reset_done": [Check("GET", PUBLIC)],
    "password_reset_confirm": [Check("GET", PUBLIC, kwargs={"uidb64": "MQ", "token": "bad-token"})],
    "password_reset_complete": [Check("GET", PUBLIC)],
    "admin:*": [Check("GET", E(302, 302, 302, 302, 302, 200))],
    # --- API schema and docs (public)
    "schema": [Check("GET", PUBLIC)],
    "api-docs": [Check("GET", PUBLIC)],
    # --- The resident mapping API (party-scoped)
    "mapping-api:party-features": [Check("GET", PARTY_API, query="bbox=9.52,47.14,9.522,47.142&zoom=18")],
    "mapping-api:party-edits": [
        Check("POST", E(403, 201, 404, 403, 404, 404), data=EDIT, json=True),
        Check("GET", NOT_ALLOWED),
    ],
    # Only the edit's author attaches photos (a form without the photo reaches the service: 400).
    "mapping-api:party-edit-photos": [
        Check("POST", E(403, 400, 404, 403, 404, 404), data={"key": "0d7f3c9a-5d8e-4b7b-9a4c-3e2f1a0b9c8d"}),
        Check("GET", NOT_ALLOWED),
    ],
    # A resident with a pending change withdraws it; agents are not residents: 403.
    "mapping-api:party-undo": [Check("POST", E(403, 200, 404, 403, 404, 404), json=True)],
    "mapping-api:party-contributions": [Check("GET", PARTY_API)],
    # Connected geometry: read-only for whoever sees the party (the check saves nothing).
    "mapping-api:party-snap": [Check("GET", PARTY_API, query="bbox=9.52,47.14,9.522,47.142")],
    "mapping-api:party-edit-check": [
        Check("POST", PARTY_API, data=EDIT_LINE, json=True),
        Check("GET", NOT_ALLOWED),
    ],
    "mapping-api:party-presets": [Check("GET", PARTY_API)],
    "mapping-api:party-element": [Check("GET", PARTY_API)],
    # --- Parties API (agents of the town)
    "parties-api:party-list": [Check("GET", E(403, 403, 403, 200, 200, 403))],
    "parties-api:party-detail": [Check("GET", AGENT_API)],
    "mapping-api:party-stats": [Check("GET", AGENT_API)],
    # --- Open data (public) and the agents' merge list
    "exports:open-data": [Check("GET", PUBLIC)],
    "exports:merge": [Check("GET", E(302, 403, 403, 200, 403, 403))],
    "exports:merge-choose": [
        Check("POST", E(302, 403, 403, 302, 403, 403), data={"choice": "local"}),
        Check("GET", NOT_ALLOWED),
    ],
    "exports:job": [Check("GET", PUBLIC)],
    # A small town's file is built within the request; a large one answers 202 with a job to poll.
    "exports:party-download": [Check("GET", PUBLIC)],
    "exports:download": [Check("GET", PUBLIC)],
    "exports:api-exports": [Check("GET", PUBLIC)],
    # Public and anonymous: asking for an export of public data writes nothing but a job.
    "exports:api-export-jobs": [Check("POST", PUBLIC, data={"format": "osm"}, json=True)],
    "exports:api-export-job": [Check("GET", PUBLIC)],
    "exports:api-changes": [Check("GET", PUBLIC)],
    # --- Parties pages
    # The party's own resident goes straight to the map; other residents and visitors see the join
    # form; agents and staff signed in are refused (they would become a second account of themselves).
    "parties:join": [Check("GET", E(200, 302, 200, 403, 403, 403))],
    "parties:map": [Check("GET", E(302, 200, 404, 200, 404, 404))],
    # Offline: the service worker script is the same static program for everyone; a party's manifest
    # only for those who see its map (anonymous: 404, no sign-in redirect for a manifest fetch).
    "parties:service-worker": [Check("GET", PUBLIC)],
    "parties:manifest": [Check("GET", E(404, 200, 404, 200, 404, 404))],
    "parties:manage": [
        Check("GET", AGENT_PAGE),
        # An agent sets the public name they are credited under (their own account only).
        Check("POST", E(302, 403, 403, 302, 302, 403), data={"nickname": "Mairie"}),
    ],
    "parties:party-create": [
        Check("GET", AGENT_PAGE),
        Check("POST", E(302, 403, 403, 400, 400, 403), data={}),
    ],
    "parties:dashboard": [Check("GET", AGENT_PARTY_PAGE)],
    "parties:party-edit": [
        Check("GET", AGENT_PARTY_PAGE),
        Check("POST", E(302, 403, 403, 400, 404, 403), data={}),
    ],
    "parties:qr": [Check("GET", AGENT_PARTY_PAGE)],
    "parties:poster": [Check("GET", AGENT_PARTY_PAGE)],
    # --- Public map, history, map as of a date
    # --- Base tiles (public; every map uses them) and printed maps (the town's agents)
    "printing:tile": [Check("GET", PUBLIC)],
    "printing:orders": [Check("GET", AGENT_PAGE)],
    "printing:job-status": [Check("GET", AGENT_PARTY_PAGE, kwargs={"pk": "@print_job"})],
    "printing:job-retry": [
        Check("POST", E(302, 403, 403, 302, 404, 403), kwargs={"pk": "@print_job"}),
        Check("GET", E(302, 405, 405, 405, 405, 405), kwargs={"pk": "@print_job"}),  # sign-in first
    ],
    "printing:edition-download": [Check("GET", AGENT_PARTY_PAGE, kwargs={"pk": "@edition"})],
    "printing:edition-preview": [Check("GET", AGENT_PARTY_PAGE, kwargs={"pk": "@edition"})],
    "mapping:home": [Check("GET", PUBLIC)],
    "mapping:healthz": [Check("GET", PUBLIC)],
    "mapping:town-map": [Check("GET", PUBLIC)],
    "mapping:town-features": [Check("GET", PUBLIC, query="bbox=9.52,47.14,9.522,47.142&zoom=18")],
    # Map-data tiles: public like the town map; served from the shared cache.
    "mapping:town-feature-tile": [Check("GET", PUBLIC, kwargs={"z": 15, "x": 17250, "y": 11506})],
    "mapping:element-history": [Check("GET", PUBLIC)],
    # A resident's photo: its author and the town's agents; everyone else 404 (its existence untold).
    "mapping:photo": [Check("GET", E(404, 200, 404, 200, 404, 404))],
    "mapping:describe-feature": [Check("GET", PUBLIC, query='geometry=point&tags={"amenity":"bench"}')],
    "mapping:town-as-of": [Check("GET", PUBLIC)],
    "mapping:as-of-features": [Check("GET", PUBLIC, query="bbox=9.52,47.14,9.522,47.142")],
    # --- Review pages (agents; another town's revision is a 404)
    "review:review-queue": [Check("GET", AGENT_PAGE)],
    "review:review-bulk": [
        Check("POST", E(302, 403, 403, 302, 302, 403), data={"op": "reject:selection", "ids": ["0"]})
    ],
    "review:review-revision": [Check("GET", AGENT_PARTY_PAGE)],
    "review:review-decide": [
        Check("POST", E(302, 403, 403, 302, 404, 403), data={"action": "reject", "comment": "no"}),
        Check("GET", E(405, 405, 405, 405, 405, 405)),
    ],
    "review:my-contributions": [Check("GET", E(302, 200, 200, 200, 200, 200))],
    # --- Review API
    "review:review-api-queue": [Check("GET", E(403, 404, 404, 200, 200, 404))],
    "review:review-api-revision": [Check("GET", E(403, 404, 404, 200, 404, 404))],
    # Only the author amends, and only after changes were requested (this one is pending: 409).
    "review:review-api-amend": [
        Check("POST", E(403, 409, 404, 404, 404, 404), data={"after": EDIT["after"]}, json=True)
    ],
    "review:review-api-decide": [
        Check(
            "POST",
            E(403, 404, 404, 200, 404, 404),
            data={"reason": "no"},
            json=True,
            kwargs={"action": "reject"},
        )
    ],
    "review:review-api-bulk": [
        # Agents reach the validation (no such revision in their town: 400); others 404.
        Check("POST", E(403, 404, 404, 400, 400, 404), data={"action": "reject", "ids": [0]}, json=True)
    ],
    "review:review-api-contributions": [Check("GET", E(403, 200, 200, 200, 200, 200))],
}


@dataclass(frozen=True)
class Route:
    name: str  # namespace:name, or admin:* for the admin site
    route: str
    pattern: URLPattern


def _walk(patterns, prefix: str = "", namespace: str | None = None) -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace if p.namespace else namespace
            if namespace and p.namespace:
                ns = f"{namespace}:{p.namespace}"
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
            route = prefix + str(p.pattern)
            if name.startswith("admin:") or route.startswith("admin/"):
                name = "admin:*"  # the admin site checks is_staff itself, for every one of its views
            yield Route(name, route, p)


def all_routes() -> list[Route]:
    """Every URL pattern the project serves (static files are served by WhiteNoise, not the URL conf)."""
    return list(_walk(get_resolver().url_patterns))
