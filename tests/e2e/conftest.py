"""Playwright in Debian's chromium against the live test server.

Never downloads a browser: the executable is `which chromium`. Every request that leaves
localhost is blocked and recorded, and console errors are collected, so tests can assert on both.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
TIMEOUT_MS = int(os.environ.get("E2E_TIMEOUT_MS", "15000"))


@dataclass
class BrowserLog:
    errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required (scripts/bootstrap.sh installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


# A 1x1 transparent PNG, what the pages get for every base-map tile (see route() below).
BLANK_TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def _new_page(browser, log: BrowserLog, **context_args):
    # Playwright's wait_for_function evaluates its predicate with eval, which the app's CSP forbids
    # (script-src 'self'): the tests bypass the CSP; tests/e2e/test_csp.py loads the pages with it enforced.
    context_args.setdefault("bypass_csp", True)
    context = browser.new_context(**context_args)
    context.set_default_timeout(TIMEOUT_MS)

    def route(route):
        url = urlparse(route.request.url)
        host = url.hostname or ""
        if host in LOCAL_HOSTS and url.path.startswith("/tiles/"):
            # Base-map tiles: a blank one, not Mapnik. A render still running on the server when a
            # test ends held its tables against the next test's flush (a deadlock, then 15 s waits
            # in the next test); the tile server has its own tests (tests/exports/test_tiles.py).
            route.fulfill(status=200, content_type="image/png", body=BLANK_TILE)
        elif route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            log.external_requests.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda msg: _console(log, msg))
    page.on("pageerror", lambda exc: log.errors.append(str(exc)))
    return context, page


def _console(log: BrowserLog, msg) -> None:
    """Console errors, with the resource's address when one failed to load. Base-map tiles are left
    out (pages get blank ones, route() above; pages under test/offline load them through their own
    service worker); the tile server is tested in tests/exports/test_tiles.py."""
    if msg.type != "error":
        return
    url = (msg.location or {}).get("url", "")
    if "/tiles/" in url and msg.text.startswith("Failed to load resource"):
        return
    log.errors.append(f"{msg.text} ({url})" if msg.text.startswith("Failed to load resource") else msg.text)


def _close(context) -> None:
    """Close the browser context, then wait until the live server has finished what it was asked.

    A request still running when pytest-django truncates the tables can deadlock with the TRUNCATE
    (seen in CI: a map tile's Mapnik query held mapping_way and waited for mapping_relation, which
    the TRUNCATE held while it waited for mapping_way).
    """
    from django.db import connection

    context.close()
    deadline = time.monotonic() + 15
    with connection.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND state = 'active'"
            )
            if not cur.fetchone()[0]:
                return
            time.sleep(0.05)


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def phone_page(browser, browser_log):
    """A 360x740 touch phone viewport."""
    context, page = _new_page(
        browser,
        browser_log,
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
    )
    yield page
    _close(context)


@pytest.fixture
def desktop_page(browser, browser_log):
    context, page = _new_page(browser, browser_log, viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield page
    _close(context)


@pytest.fixture
def new_page(browser, browser_log):
    """Factory for extra pages (e.g. two residents at once)."""
    contexts = []

    def make(**kwargs):
        context, page = _new_page(browser, browser_log, **kwargs)
        contexts.append(context)
        return page

    yield make
    for c in contexts:
        _close(c)


AGENT_PASSWORD = "agent-password-123"  # tests.factories.AgentFactory's password


def sign_in(page, live_server, user, next_url: str = "") -> None:
    """Sign an agent in through the real sign-in page (labels as a person reads them)."""
    page.goto(f"{live_server.url}/accounts/login/" + (f"?next={next_url}" if next_url else ""))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
