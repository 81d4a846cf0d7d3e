"""Hostile input on every route of the URL conf: never a 5xx; a refusal is a 4xx that says why and
stores nothing.

Generated like the permission matrix (tests/security/matrix.py): every URL pattern is reached with
the world's real objects (so the views go past their 404s), as the role that gets furthest, and gets
- bad path segments in place of each URL keyword (NUL, a lone surrogate, huge, negative, over-long);
- bad values of every query parameter the views read (QUERY_PARAMS: a test greps the source so a new
  parameter cannot be missed) and of unknown ones;
- bad headers (over-long or broken Accept-Language, Host, Cookie, X-Forwarded-For, Range,
  If-None-Match, If-Modified-Since, Accept, content types, control characters);
- for every write (the matrix's POSTs and WRITES below, with bodies valid enough to reach the
  service), each field replaced by hostile values (NUL, surrogates, 1e400, NaN, wrong types,
  calendar edges, over-long strings) and whole hostile bodies (100,000 levels of nesting...).
A 2xx/3xx is fine where the input is acceptable (an unknown query parameter is ignored). Each
request runs in a savepoint rolled back afterwards; the main tables' rows are counted before and
after every refused one. Requests of one kind are batched in one test with one world (fast).
"""

from __future__ import annotations

import copy
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from exports.models import Edition, Job
from mapping.models import Node, Photo, Relation, ReviewDecision, Revision, UpstreamConflict, Way
from parties.models import Party, Town, User
from tests.factories import RevisionFactory
from tests.security.matrix import EDIT, RULES, all_routes

ROOT = Path(__file__).resolve().parents[2]
MAIN_TABLES = [
    Town,
    User,
    Party,
    Node,
    Way,
    Relation,
    Revision,
    ReviewDecision,
    Job,
    Edition,
    UpstreamConflict,
    Photo,
]
COUNT_SQL = "SELECT " + ", ".join(f"(SELECT count(*) FROM {m._meta.db_table})" for m in MAIN_TABLES)
PROBE_ROLES = ("anon", "res", "agent", "staff")
ADMIN_ROUTES = {"admin/", "admin/parties/user/", "admin/parties/party/"}

# Slow pages (a PDF, the whole OpenAPI schema, the admin) get fewer header combinations.
EXPENSIVE = {"schema", "api-docs", "parties:poster", "admin:*"}

# Every query parameter a view reads, by URL name ("*": every route, e.g. DRF's ?format=).
QUERY_PARAMS: dict[str, list[str]] = {
    "/api/": ["format"],  # DRF's format override, on every API route
    "login": ["next"],
    "logout": ["next"],
    "schema": ["format", "lang", "version"],
    "mapping-api:party-features": ["bbox", "zoom", "layers"],
    "mapping-api:party-snap": ["bbox"],
    "mapping:town-features": ["bbox", "zoom"],
    "mapping:as-of-features": ["bbox"],
    "mapping:describe-feature": ["geometry", "tags"],
    "mapping:town-as-of": ["date", "as_of"],
    "review:review-queue": ["status", "party", "author", "preset", "flag", "page"],
    "review:review-revision": ["status", "party", "author", "preset", "flag"],
    "review:review-api-queue": ["status", "party", "author", "preset", "flag", "page"],
    "exports:open-data": ["page"],
    "exports:api-changes": ["page"],
    "admin:*": ["q", "o", "p", "e", "all", "_changelist_filters", "role__exact", "starts_at__gte"],
}
# Numbers and dates get the values that break parsers; every parameter gets the common ones.
NUMERIC_FIELDS = {"rate_limit_per_minute", "gps_accuracy_m", "ids", "party", "author"}
DATE_FIELDS = {"starts_at", "ends_at", "bbox", "title_fr", "nickname"}  # dates, and where a date is not one
NUMERIC_PARAMS = {"zoom", "page", "party", "author", "p", "o", "version"}
DATE_PARAMS = {"date", "as_of", "starts_at__gte", "bbox"}

# Query strings as the views' own tests send them: the bad value of one parameter goes with good others.
GOOD_QUERY = {name: check.query for name, checks in RULES.items() for check in checks if check.query}

# Writes the matrix does not send with a body that reaches the service (URL name, role, method, data).
AREA = '{"type": "Polygon", "coordinates": [[[9.519, 47.139], [9.523, 47.139], [9.523, 47.142], [9.519, 47.142], [9.519, 47.139]]]}'
PARTY_FORM = {
    "title_fr": "Soirée",
    "title_en": "Evening",
    "description_fr": "Bancs",
    "starts_at": "2030-06-01T18:00",
    "ends_at": "2030-06-01T21:00",
    "area": AREA,
    "preset_set": "cartoparty",
    "hashtag": "#soiree",
    "rate_limit_per_minute": "30",
    "gps_accuracy_m": "20",
}


@dataclass(frozen=True)
class Write:
    name: str
    role: str
    data: dict
    json: bool = False
    kwargs: dict = field(default_factory=dict)


WRITES = [
    Write("parties:join", "anon", {"nickname": "Alice", "consent": "on"}),
    Write("parties:party-create", "agent", PARTY_FORM),
    Write("parties:party-edit", "agent", PARTY_FORM),
    Write(
        "printing:orders",
        "agent",
        {"paper": "A3", "lang": "fr", "bbox": "9.51,47.13,9.53,47.15", "title": "Vaduz"},
    ),
    Write(
        "review:review-decide",
        "agent",
        {"action": "fix", "tags": "amenity=bench\nname=Banc", "queue": "status=pending"},
    ),
    Write("review:review-decide", "agent", {"action": "reject", "reason_code": "other", "comment": "non"}),
    Write(
        "review:review-bulk",
        "agent",
        {"op": "reject:selection", "ids": "1", "comment": "non", "queue": "party=1"},
    ),
    Write("password_change", "agent", {"old_password": "x", "new_password1": "y", "new_password2": "y"}),
    Write("login", "anon", {"username": "agent", "password": "wrong"}),
    Write("set_language", "res", {"language": "fr", "next": "/manage/"}),
    Write("review:review-api-decide", "agent", {"after": EDIT["after"]}, json=True, kwargs={"action": "fix"}),
    Write(
        "review:review-api-amend",
        "res",
        {"after": EDIT["after"]},
        json=True,
        kwargs={"pk": "@needs_changes"},
    ),
    Write("review:review-api-bulk", "agent", {"action": "reject", "reason": "non", "party": 1}, json=True),
]


class Raw(str):
    """A JSON value written as is (1e400, NaN: json.dumps cannot write them)."""


def deep(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


# Path segments and query/form values, already percent-encoded as they travel.
SEGMENTS = {
    "NUL": "%00",
    "lone surrogate": "%ED%A0%80",
    "invalid UTF-8": "%FF%FE",
    "huge integer": "9" * 40,
    "negative": "-1",
    "over-long": "x" * 3000,
    "dot-dot": "%2E%2E",
    "newline": "a%0Ab",
}
COMMON = {
    **SEGMENTS,
    "NUL inside": "a%00b",
    "overlong UTF-8 NUL": "%C0%80",
    "empty": "",
    "right-to-left override": "%E2%80%AE",
    "markup": "%3Cscript%3E",
    "over-long words": "mot+" * 2000,
}
NUMBERS = {"minus zero": "-0", "1e400": "1e400", "NaN": "NaN", "Infinity": "-Infinity", "float": "1.5"}
DATES = {
    "year 0001": "0001-01-01T00:00",
    "year 9999": "9999-12-31T23:59",
    "last day": "9999-12-31",
    "first day": "0001-01-01",
    "year 10000": "10000-01-01",
    "30 February": "2026-02-30",
    "1e400": "1e400",
}
VALUES = {**COMMON, **NUMBERS, **DATES}
JSON_VALUES = {
    "NUL": "a\x00b",
    "lone surrogate": "\ud800",
    "over-long": "x" * 10_000,
    "huge integer": 10**30,
    "minus zero": -0.0,
    "1e400": Raw("-1e400"),
    "NaN": Raw("NaN"),
    "true": True,
    "null": None,
    "empty list": [],
    "list": [1, "a"],
    "nested 40": deep(40),
    "year 0001": "0001-01-01T00:00:00Z",
    "30 February": "2026-02-30",
    "empty": "",
}
WHOLE_JSON_BODIES = {
    "100,000 nested lists": "[" * 100_000 + "]" * 100_000,
    "100,000 nested objects": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "NaN": "NaN",
    "1e400": "1e400",
    "a 5,000-digit number": "1" * 5000,
    "lone surrogate": '"\\ud800"',
    "NUL escape": '{"a": "\\u0000"}',
    "raw NUL": '{"a": "\x00"}',
    "not UTF-8": b'{"a": "\xff\xfe"}',
    "byte order mark": "\ufeff{}",
    "empty": "",
    "null": "null",
    "a list": "[]",
    "a string": '"x"',
    "truncated": '{"a": [1, 2',
    "duplicate keys": '{"a": 1, "a": 2}',
}
FORM_CONTENT_TYPES = [
    "multipart/form-data",  # no boundary
    "multipart/form-data; boundary=" + "x" * 5000,
    "application/x-www-form-urlencoded; charset=bogus",
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded; charset=utf-16",
]
JSON_CONTENT_TYPES = [
    "application/json; charset=utf-16",
    "application/json; charset=bogus",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
    "application/json; " + "x=y;" * 2000,
]
# Each dict is one request; the usual headers together, so one request tries many.
HEADERS = [
    {
        "Accept-Language": "fr," * 5000,
        "Cookie": "sessionid=" + "x" * 5000 + "; csrftoken=" + "y" * 5000,
        "X-Forwarded-For": "1.2.3.4, " * 2000,
        "Range": "bytes=99999999999999999999-",
        "If-None-Match": '"' + "x" * 10_000 + '"',
        "If-Modified-Since": "Sun, 06 Nov 99999 08:49:37 GMT",
        "Accept": "text/html",
        "Accept-Encoding": "gzip;q=abc",
        "X-Request-Start": "t=1e400",
        "Idempotency-Key": "k" * 5000,
    },
    {
        "Accept-Language": "fr;q=abc, en;q=1e400, *;q=NaN, " + "x" * 10_000,
        "Cookie": "django_language=" + "é" * 300 + "; sessionid=%ED%A0%80; ;;==;",
        "X-Forwarded-For": "not-an-address",
        "Range": "bytes=5-1, " + "0-1," * 2000,
        "If-None-Match": "*",
        "If-Modified-Since": "0",
        "Accept": "application/json; q=NaN, */*;q=1e400",
        "Accept-Encoding": "x" * 5000,
        "X-Request-Start": "t=NaN",
    },
    {
        "Accept-Language": "zz-ZZ",
        "Cookie": "a" * 10_000,
        "If-None-Match": 'W/"a", , ,"""',
        "If-Modified-Since": "x" * 1000,
        "Accept": "x" * 5000,
        "X-Request-Start": "t=" + "9" * 400,
        "Content-Type": "multipart/form-data",
    },
    {"Host": "evil.example"},
    {"Host": "x" * 5000},
    {"Host": "127.0.0.1:99999999999"},
    {"Host": "[::1"},
    {"Accept-Language": "fr\x00"},
    {"Cookie": "sessionid=\x00"},
    {"X-Forwarded-For": "1.2.3.4\r\nSet-Cookie: x=y"},
    {"Referer": "\x7f" * 10},
]


class Probe:
    """Sends requests as the world's roles and collects what went wrong."""

    def __init__(self, world) -> None:
        self.world = world
        self.clients: dict[str, Client] = {}
        self.cookies: dict[str, SimpleCookie] = {}
        for role in PROBE_ROLES:
            client = world.client(role)
            client.raise_request_exception = False
            self.clients[role] = client
            self.cookies[role] = copy.deepcopy(client.cookies)
        self.problems: list[str] = []
        self.sent = 0

    def send(
        self, role: str, method: str, path: str, label: str, *, body=None, content_type=None, headers=None
    ):
        client = self.clients[role]
        client.cookies = copy.deepcopy(
            self.cookies[role]
        )  # a logout or a language choice does not carry over
        cache.clear()  # sign-in lockout counters
        kwargs = {"headers": headers or {}}
        if isinstance(body, str):
            body = body.encode()
        if method == "POST":
            kwargs.update(
                data=body if body is not None else b"", content_type=content_type or "application/json"
            )
        where = f"{method} {path[:160]} as {role} ({label})"
        with transaction.atomic():
            before = _counts()
            if method == "POST":  # generic(): post() would re-encode the body in the content type's charset
                response = client.generic(
                    "POST", path, kwargs["data"], kwargs["content_type"], headers=kwargs["headers"]
                )
            else:
                response = client.get(path, headers=kwargs["headers"])
            self.sent += 1
            if response.status_code >= 500:
                exc = getattr(response, "exc_info", None)
                self.problems.append(
                    f"{where}: {response.status_code} {exc[1]!r}"[:600]
                    if exc
                    else f"{where}: {response.status_code}"
                )
            elif response.status_code >= 400:
                if not _message(response):
                    self.problems.append(f"{where}: {response.status_code} without a message")
                if _counts() != before:
                    self.problems.append(f"{where}: refused ({response.status_code}) but rows changed")
            transaction.set_rollback(True)
        return response

    def report(self) -> None:
        assert self.sent
        unique = list(dict.fromkeys(self.problems))
        assert not unique, f"{len(unique)} problems in {self.sent} requests:\n" + "\n".join(unique[:80])


def _counts() -> tuple:
    with connection.cursor() as cur:
        cur.execute(COUNT_SQL)
        return cur.fetchone()


def _message(response) -> bool:
    """A refusal says why: a non-empty body (an HTML page, a JSON object with something in it)."""
    if response.status_code in (304, 405) or not hasattr(response, "content"):
        return True
    content = response.content
    if "json" in response.get("Content-Type", ""):
        try:
            return bool(json.loads(content))
        except ValueError:
            return False
    return bool(content.strip())


# --- building URLs from the URL conf ------------------------------------------------------------

GROUP = re.compile(r"\(\?P<(\w+)>")
CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _fill(route: str, values: dict[str, str]) -> str:
    """The route string (path() or re_path() syntax, includes concatenated) with its keywords replaced."""
    route = CONVERTER.sub(lambda m: values.get(m.group(1), ""), route)
    out, i = [], 0
    while i < len(route):
        m = GROUP.match(route, i)
        if m:  # a named group: skip to its closing parenthesis (and an optional ?)
            depth, j = 1, m.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(route[j], 0)
                j += 1
            if j < len(route) and route[j] == "?":
                j += 1
            out.append(values.get(m.group(1), ""))
            i = j
        elif route[i] in "^$":
            i += 1
        elif route[i] == "\\":
            out.append(route[i + 1])
            i += 2
        else:
            out.append(route[i])
            i += 1
    return "/" + "".join(out)


def _names(route: str) -> list[str]:
    return CONVERTER.findall(route) + GROUP.findall(route)


@dataclass
class Target:
    name: str
    route: str
    role: str  # who gets furthest
    values: dict[str, str]
    method: str
    query: str = ""

    def url(self, **override: str) -> str:
        return _fill(self.route, {**self.values, **override})


def _deep_role(name: str, method: str) -> str:
    """The role that gets furthest into the view: the first whose expected status is not a refusal."""
    check = next((c for c in RULES.get(name, []) if c.method == method), None)
    if check is None:
        return "agent"
    expected = check.expected()
    for role in ("res", "agent", "staff", "anon"):
        if expected[role] not in (302, 403, 404, 405):
            return role
    return "agent"


def targets(world) -> Iterator[Target]:
    seen = set()
    for r in all_routes():
        if r.name == "admin:*" and r.route not in ADMIN_ROUTES:
            continue  # Django's own admin: its home and the changelists of our models
        methods = {c.method for c in RULES.get(r.name, [])} - {"HEAD"} or {"GET"}
        for method in sorted(methods):
            check = next(c for c in RULES[r.name] if c.method == method) if r.name in RULES else None
            values = {k: str(v) for k, v in world.url_kwargs(r.name).items()}
            for key, value in (check.kwargs if check else {}).items():
                values[key] = str(getattr(world, value[1:]).pk if str(value).startswith("@") else value)
            key = (r.route, method)
            if key in seen:
                continue
            seen.add(key)
            role = "staff" if r.name == "admin:*" else _deep_role(r.name, method)
            yield Target(r.name, r.route, role, values, method, check.query if check else "")


def _post_body(name: str, method: str) -> tuple[bytes | str, str]:
    check = next((c for c in RULES.get(name, []) if c.method == method), None)
    if check is None or not check.data:
        return b"", "application/x-www-form-urlencoded"
    if check.json:
        return json.dumps(check.data), "application/json"
    return _form(check.data), "application/x-www-form-urlencoded"


def _form(data: dict, raw: dict[str, str] | None = None) -> str:
    """An urlencoded body; ``raw`` values are already percent-encoded (a lone surrogate cannot be a str)."""
    parts = []
    for key, value in data.items():
        if raw and key in raw:
            parts.append(f"{quote(key)}={raw[key]}")
            continue
        for item in value if isinstance(value, list) else [value]:
            parts.append(f"{quote(key)}={quote(str(item))}")
    return "&".join(parts)


@pytest.fixture
def probe(world, settings):
    # Sign-in attempts hash a password each: the slow production hasher would be most of the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Django logs every 4xx (and the security refusals) at warning level: thousands of lines, no news.
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    world.needs_changes = RevisionFactory(
        party=world.party, author=world.users["res"], status=Revision.Status.NEEDS_CHANGES
    )
    yield Probe(world)
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bad_path_segments(probe):
    """Each URL keyword replaced by NUL, a lone surrogate, huge, negative, over-long... : 4xx, never 5xx."""
    for target in targets(probe.world):
        keys = [k for k in _names(target.route) if k in target.values]
        body, content_type = (
            _post_body(target.name, target.method) if target.method == "POST" else (None, None)
        )
        for key in keys:
            for label, segment in SEGMENTS.items():
                for role in {target.role, "anon"}:
                    url = target.url(**{key: segment})
                    probe.send(
                        role, target.method, url, f"{key}={label}", body=body, content_type=content_type
                    )
    probe.report()


@pytest.mark.django_db
def test_bad_query_values(probe):
    """Every query parameter a view reads, one at a time with bad values (the others good), and unknown ones."""
    for target in targets(probe.world):
        if target.method != "GET":
            continue
        good = GOOD_QUERY.get(target.name, "")
        url = target.url()
        params = QUERY_PARAMS.get(target.name, []) + (
            QUERY_PARAMS["/api/"] if url.startswith("/api/") else []
        )
        for param in dict.fromkeys(params):
            others = "&".join(p for p in good.split("&") if p and not p.startswith(f"{param}="))
            values = {
                **COMMON,
                **(NUMBERS if param in NUMERIC_PARAMS else {}),
                **(DATES if param in DATE_PARAMS else {}),
            }
            for label, value in values.items():
                query = "&".join(q for q in (others, f"{param}={value}") if q)
                probe.send(target.role, "GET", f"{url}?{query}", f"{param}={label}")
            probe.send(
                target.role, "GET", f"{url}?{others}&{param}=1&{param}=2&{param}[]=3", f"{param} repeated"
            )
        unknown = "&".join(f"x{i}={v}" for i, v in enumerate(VALUES.values()) if "%00" not in v)
        probe.send(target.role, "GET", f"{url}?{good}&{unknown}", "unknown parameters")
        probe.send(
            target.role, "GET", f"{url}?{good}&" + "&".join(f"f{i}=1" for i in range(1500)), "many parameters"
        )
    probe.report()


@pytest.mark.django_db
def test_bad_headers(probe):
    """Over-long and broken headers on every route; on writes, odd content types with the usual body."""
    for target in targets(probe.world):
        url = f"{target.url()}?{target.query}" if target.query else target.url()
        body, content_type = (
            _post_body(target.name, target.method) if target.method == "POST" else (None, None)
        )
        for i, headers in enumerate(HEADERS[:3] if target.name in EXPENSIVE else HEADERS):
            probe.send(
                target.role,
                target.method,
                url,
                f"headers #{i}",
                body=body,
                content_type=content_type,
                headers=headers,
            )
        if target.method == "POST":
            types = JSON_CONTENT_TYPES if content_type == "application/json" else FORM_CONTENT_TYPES
            for bad_type in types:
                probe.send(
                    target.role,
                    "POST",
                    url,
                    f"Content-Type {bad_type[:40]}",
                    body=body,
                    content_type=bad_type,
                )
    probe.report()


def _leaves(data, path=()) -> Iterator[tuple]:
    """Every position in a JSON document (containers too), as key paths."""
    if path:
        yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _leaves(value, (*path, i))


def _replace(data, path, value):
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


RAW_MARK = "\x01raw\x01"


def _dumps(data) -> str:
    def mark(value):
        if isinstance(value, Raw):
            return RAW_MARK + str(value) + RAW_MARK
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(data), allow_nan=True)
    return re.sub(
        rf'"{re.escape(json.dumps(RAW_MARK)[1:-1])}(.*?){re.escape(json.dumps(RAW_MARK)[1:-1])}"', r"\1", text
    )


def _writes(world) -> Iterator[tuple[str, str, str, dict, bool]]:
    """(URL name, URL, role, data, json) for every write: the matrix's POSTs and WRITES."""
    routes = {r.name: r for r in all_routes()}
    for name, checks in RULES.items():
        for check in checks:
            if check.method == "POST" and name in routes:
                target = next(t for t in targets(world) if t.name == name and t.method == "POST")
                yield name, target.url(), target.role, check.data or {}, check.json
    for write in WRITES:
        target = next(t for t in targets(world) if t.name == write.name)
        values = {
            k: str(getattr(world, v[1:]).pk if str(v).startswith("@") else v) for k, v in write.kwargs.items()
        }
        yield write.name, target.url(**values), write.role, write.data, write.json


@pytest.mark.django_db
def test_bad_bodies(probe):
    """Every field of every write replaced by hostile values; whole hostile bodies. Never a 5xx; a
    refusal says why and stores nothing."""
    world = probe.world
    world.party.starts_at = timezone.now() - timezone.timedelta(minutes=5)  # joinable now
    world.party.save()
    for name, url, role, data, is_json in _writes(world):
        if is_json:
            for path in _leaves(data):
                for label, value in JSON_VALUES.items():
                    probe.send(
                        role, "POST", url, f"{name} {path}={label}", body=_dumps(_replace(data, path, value))
                    )
            probe.send(role, "POST", url, f"{name} unknown field", body=_dumps({**data, "zzz": "\ud800"}))
            for label, body in WHOLE_JSON_BODIES.items():
                probe.send(role, "POST", url, f"{name} body {label}", body=body)
        else:
            for key in data:
                values = {
                    **COMMON,
                    **(NUMBERS if key in NUMERIC_FIELDS else {}),
                    **(DATES if key in DATE_FIELDS else {}),
                }
                for label, value in values.items():
                    probe.send(
                        role,
                        "POST",
                        url,
                        f"{name} {key}={label}",
                        body=_form(data, {key: value}),
                        content_type="application/x-www-form-urlencoded",
                    )
                probe.send(
                    role,
                    "POST",
                    url,
                    f"{name} {key} repeated",
                    body=_form({**data, key: ["a", "b"]}),
                    content_type="application/x-www-form-urlencoded",
                )
            probe.send(
                role,
                "POST",
                url,
                f"{name} unknown field",
                body=_form(data, {"zzz": "%ED%A0%80"}),
                content_type="application/x-www-form-urlencoded",
            )
            probe.send(
                role,
                "POST",
                url,
                f"{name} body not urlencoded",
                body=b"\xff\xfe%%%&&==&=",
                content_type="application/x-www-form-urlencoded",
            )
    probe.report()


def _multipart(fields: list[tuple[str, bytes, bytes | None, bytes]], boundary: bytes = b"HOSTILE") -> bytes:
    """A multipart body written byte by byte: (name, value, filename or None, part content type)."""
    out = []
    for name, value, filename, ctype in fields:
        disposition = b'form-data; name="' + name + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
        out.append(b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n")
        if ctype:
            out.append(b"Content-Type: " + ctype + b"\r\n")
        out.append(b"\r\n" + value + b"\r\n")
    out.append(b"--" + boundary + b"--\r\n")
    return b"".join(out)


def _photo_bytes() -> dict[str, bytes]:
    import io
    import struct
    import zlib

    from PIL import Image

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    good = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(good, "JPEG")
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 65535, 65535, 1, 0, 0, 0, 0))
    bomb += chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    return {
        "good": good.getvalue(),
        "bomb": bomb,
        "truncated": good.getvalue()[:200],
        "program": b"MZ\x90\x00" + b"\x00" * 500,
        "svg": b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        "html": b"<html><script>alert(1)</script></html>",
        "empty": b"",
        "jpeg magic only": b"\xff\xd8\xff",
        "png magic only": b"\x89PNG\r\n\x1a\n",
        "webp header only": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
        "zero-size png": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)),
    }


@pytest.mark.django_db
def test_bad_photo_uploads(probe, settings):
    """The photo upload (multipart, so not covered by the urlencoded bodies above): hostile files,
    file names, part headers, keys and licences, broken multipart, a 30 MB body. Never a 5xx; a
    refusal stores no row and no file."""
    world = probe.world
    url = reverse(
        "mapping-api:party-edit-photos",
        kwargs={"party_id": world.party.pk, "edit_key": world.revision.idempotency_key},
    )
    media = Path(settings.MEDIA_ROOT)
    files_before = sorted(p for p in media.rglob("*") if p.is_file())
    ctype = "multipart/form-data; boundary=HOSTILE"
    photos = _photo_bytes()
    keys = [b"", b"a\x00b", b"\xed\xa0\x80", b"x" * 5000, b"../../etc/passwd", b"9" * 40, b"%00"]
    names = [
        b"",
        b"a\x00b.jpg",
        b"\xff\xfe.jpg",
        b"../../../../etc/passwd",
        b"x" * 5000 + b".jpg",
        b"<b>.png",
    ]
    cases: list[tuple[str, bytes, str]] = []
    for label, content in photos.items():
        if label == "good":
            continue
        fresh = str(uuid.uuid4()).encode()
        cases.append(
            (
                f"photo {label}",
                _multipart([(b"photo", content, b"p.jpg", b"image/jpeg"), (b"key", fresh, None, b"")]),
                ctype,
            )
        )
    for value in keys:
        body = _multipart([(b"photo", photos["good"], b"p.jpg", b"image/jpeg"), (b"key", value, None, b"")])
        cases.append((f"key {value[:12]!r}", body, ctype))
    for value in names:
        body = _multipart(
            [
                (b"photo", photos["program"], value, b"image/jpeg"),
                (b"key", str(uuid.uuid4()).encode(), None, b""),
            ]
        )
        cases.append((f"file name {value[:12]!r}", body, ctype))
    for value in [b"all-rights", b"\x00", b"CC-BY-SA-4.0" * 100]:
        body = _multipart(
            [
                (b"photo", photos["good"], b"p.jpg", b"image/jpeg"),
                (b"key", str(uuid.uuid4()).encode(), None, b""),
                (b"licence", value, None, b""),
            ]
        )
        cases.append((f"licence {value[:12]!r}", body, ctype))
    cases += [
        (
            "photo as a text field",
            _multipart(
                [(b"photo", photos["good"], None, b""), (b"key", str(uuid.uuid4()).encode(), None, b"")]
            ),
            ctype,
        ),
        ("no boundary", b"--HOSTILE\r\n", "multipart/form-data"),
        (
            "unterminated",
            b'--HOSTILE\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\n\xff\xd8',
            ctype,
        ),
        ("json instead", b'{"photo": "x", "key": "y"}', "application/json"),
        (
            "30 MB",
            _multipart(
                [
                    (b"photo", b"\xff\xd8\xff" + b"\x00" * (30 * 1024 * 1024), b"big.jpg", b"image/jpeg"),
                    (b"key", str(uuid.uuid4()).encode(), None, b""),
                ]
            ),
            ctype,
        ),
    ]
    for label, body, content_type in cases:
        response = probe.send(
            "res", "POST", url, f"photo upload: {label}", body=body, content_type=content_type
        )
        if response.status_code >= 400:
            assert sorted(p for p in media.rglob("*") if p.is_file()) == files_before, label
    probe.report()


def test_every_query_parameter_read_is_probed():
    """A view that starts reading a new query parameter must add it to QUERY_PARAMS (and so get probed)."""
    read = re.compile(r"""(?:request\.GET|query_params|\bquery)\.get(?:list)?\(\s*["'](\w+)["']""")
    found = set()
    for package in ("config", "mapping", "parties", "exports"):
        for path in (ROOT / package).rglob("*.py"):
            found.update(read.findall(path.read_text()))
    probed = {p for params in QUERY_PARAMS.values() for p in params}
    assert found, "the pattern no longer finds the views' query parameters"
    assert not found - probed, f"query parameters read but not probed: {sorted(found - probed)}"
