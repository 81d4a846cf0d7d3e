"""Offline-first: a resident downloads the party, goes offline, maps, reloads, restarts the browser
with the same profile (IndexedDB and the service worker kept), comes back online: every change
arrives once. A change that conflicts on replay opens the conflict screen.

These tests run the real service worker: a persistent browser profile (user data dir) restarted
for real, not storage_state (which keeps no IndexedDB). External requests are blocked by the
context's route as in conftest.py; Playwright routes the service worker's requests too.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest
from django.contrib.gis.geos import Point, Polygon
from playwright.sync_api import expect

from mapping.models import Photo, Revision
from mapping.services import submit_edit
from mapping.store import apply_change
from tests.e2e.conftest import LOCAL_HOSTS, TIMEOUT_MS, BrowserLog, sign_in
from tests.e2e.test_gps_photos import jpeg_file
from tests.e2e.test_resident import join
from tests.factories import AgentFactory, NodeFactory, PartyFactory, ResidentFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
BENCH = (9.5209, 47.1410)
SHOTS = os.environ.get("OFFLINE_SHOTS")  # a folder: the journey's screenshots go there


def small_area() -> Polygon:
    """A party of about 300 m x 220 m around the bench (a quick download in tests)."""
    area = Polygon.from_bbox((9.519, 47.140, 9.523, 47.142))
    area.srid = 4326
    return area


def launch(browser, profile, log: BrowserLog, locale: str = "en-GB", offline: bool = False):
    """The phone's browser on its persistent profile (closing and launching again = a restart).

    ``offline``: the browser starts with no network. A restart restores the last tab, which loads
    and flushes the outbox at once: set offline after the launch, that page could still reach the
    server first (a revision before the test went online: seen in CI)."""
    from urllib.parse import urlparse

    context = browser.browser_type.launch_persistent_context(
        str(profile), executable_path=shutil.which("chromium"), headless=True, args=ARGS,
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale=locale, bypass_csp=True,
        offline=offline,
    )  # fmt: skip
    context.set_default_timeout(TIMEOUT_MS)

    def route(route):
        if (urlparse(route.request.url).hostname or "") in LOCAL_HOSTS:
            route.continue_()
        else:
            log.external_requests.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.pages[0] if context.pages else context.new_page()
    page.on("pageerror", lambda exc: log.errors.append(str(exc)))
    return context, page


def ready(page) -> None:
    page.wait_for_function("document.getElementById('party-map').dataset.outbox === 'ready'")


def shot(page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


def download(page, texts) -> None:
    page.wait_for_function("document.getElementById('party-map').dataset.worker === 'ready'")
    page.locator("#offline-button").click()  # "Download" (French "Télécharger")
    expect(page.locator("#offline-estimate")).to_contain_text(texts["estimate"])
    shot(page, "1-download-size")
    page.locator("#offline-download").click()
    page.wait_for_function("document.getElementById('party-map').dataset.download === 'running'")
    shot(page, "2-download-progress")
    page.wait_for_function("document.getElementById('party-map').dataset.download === 'done'", timeout=120000)
    expect(page.locator("#offline-progress-text")).to_contain_text(texts["done"])
    shot(page, "3-downloaded")
    page.locator('[data-action="close-sheet"]').click()


def add_bench(page, name: str, texts, photo=None) -> None:
    page.locator('#toolbar [data-action="add-point"]').click()
    page.locator('#drawbar [data-action="place-point"]').click()
    page.locator("#preset-search").fill(texts["bench_search"])
    page.get_by_role("button", name=texts["bench"], exact=True).click()
    page.get_by_label(texts["name"], exact=True).fill(name)
    if photo:  # the phone's camera: the editor's photo input
        page.locator("#photo-input").set_input_files(str(photo))
        expect(page.locator("#photo-list img")).to_have_count(1)
    page.locator("#save-button").click()
    expect(page.locator("#map-status")).to_have_text(texts["saved_offline"])


EN = {
    "estimate": "map tiles", "done": "Downloaded", "bench_search": "bench", "bench": "Bench", "name": "Name",
    "saved_offline": "Saved on this device: it will be sent when the network returns.",
    "waiting": "{n} changes waiting to be sent",
}  # fmt: skip
FR = {
    "estimate": "tuiles", "done": "Téléchargé", "bench_search": "banc", "bench": "Banc", "name": "Nom",
    "saved_offline": "Enregistré sur cet appareil : ce sera envoyé au retour du réseau.",
    "waiting": "{n} modifications en attente d’envoi",
}  # fmt: skip


@pytest.mark.parametrize("texts", [EN, FR], ids=["en", "fr"])
def test_five_changes_made_offline_survive_reload_and_restart_and_arrive_once(
    live_server, browser, tmp_path, texts, settings
):
    """Five benches, the first with a photo, made offline: the outbox keeps them (six items) through a
    reload and a restart, then sends each once: five revisions and one photo, on the first bench."""
    settings.MEDIA_ROOT = tmp_path / "media"
    log = BrowserLog()
    party = PartyFactory(area=small_area())
    profile = tmp_path / "profile"
    locale = "fr-FR" if texts is FR else "en-GB"
    context, page = launch(browser, profile, log, locale)
    join(page, live_server, party, "Camille")
    ready(page)
    download(page, texts)

    context.set_offline(True)
    expect(page.locator("#offline-banner")).to_be_visible()
    for i in range(5):
        add_bench(page, f"Banc {i + 1}", texts, photo=jpeg_file(tmp_path) if i == 0 else None)
    waiting = texts["waiting"].format(n=6)  # five changes and the photo of the first
    expect(page.locator("#outbox-status")).to_have_text(waiting)
    page.wait_for_function("document.getElementById('party-map').dataset.pending === '5'")
    shot(page, "4-offline-waiting")
    assert not Revision.objects.exists()

    response = page.reload()  # offline: the service worker serves the page, the outbox is IndexedDB
    assert response.from_service_worker and response.ok
    ready(page)
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    expect(page.locator("#outbox-status")).to_have_text(waiting)
    page.wait_for_function("document.getElementById('party-map').dataset.pending === '5'")
    context.close()

    context, page = launch(browser, profile, log, locale, offline=True)  # the phone restarted
    response = page.goto(f"{live_server.url}/parties/{party.pk}/map/")
    assert response.from_service_worker
    ready(page)
    expect(page.locator("#outbox-status")).to_have_text(waiting)
    assert not Revision.objects.exists()

    context.set_offline(False)
    page.wait_for_function("document.getElementById('party-map').dataset.queued === '0'", timeout=60000)
    expect(page.locator("#outbox-status")).to_be_hidden()
    page.wait_for_function("document.getElementById('party-map').dataset.pending === '5'")
    shot(page, "5-after-reconnect")
    revisions = Revision.objects.filter(party=party)
    assert revisions.count() == 5
    assert sorted(r.after["tags"]["name"] for r in revisions) == [f"Banc {i}" for i in range(1, 6)]
    assert len({r.idempotency_key for r in revisions}) == 5
    photo = Photo.objects.get()  # once, on its own edit
    assert photo.revision.after["tags"]["name"] == "Banc 1"
    context.close()
    assert log.external_requests == []
    assert log.errors == []


def test_a_conflict_on_replay_opens_the_conflict_screen(live_server, browser, tmp_path):
    log = BrowserLog()
    party = PartyFactory(area=small_area())
    bench = NodeFactory(
        town=party.town, tags={"amenity": "bench", "name": "Banc"}, geom=Point(*BENCH, srid=4326)
    )
    context, page = launch(browser, tmp_path / "profile", log)
    join(page, live_server, party, "Camille")
    page.goto(f"{live_server.url}/parties/{party.pk}/map/#19/{BENCH[1]}/{BENCH[0]}")
    ready(page)
    page.wait_for_function("document.getElementById('party-map').dataset.features === '1'")
    box = page.locator("#party-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # the bench, online
    expect(page.get_by_label("Name", exact=True)).to_have_value("Banc")

    context.set_offline(True)
    page.get_by_label("Name", exact=True).fill("Banc du matin")
    page.locator("#save-button").click()
    expect(page.locator("#outbox-status")).to_have_text("1 change waiting to be sent")
    # Meanwhile another resident renames it and an agent accepts that: the bench is at version 2.
    theirs = submit_edit(
        author=ResidentFactory(party=party, nickname="Dominique"), party=party, element_type="node",
        element_id=bench.osm_id, action="modify", base_version=bench.version, preset="", idempotency_key="theirs",
        after={"tags": [["amenity", "bench"], ["name", "Banc du soir"]], "geometry": {"type": "Point", "coordinates": list(BENCH)}},
    ).revision  # fmt: skip
    apply_change(
        town=party.town, element_type="node", element_id=bench.osm_id, action="modify",
        after=theirs.after, base_version=theirs.base_version,
    )  # fmt: skip

    context.set_offline(False)
    expect(page.get_by_role("heading", name="Someone else changed this")).to_be_visible()
    conflict = page.locator("#conflict-rows fieldset")
    expect(conflict).to_contain_text("Banc du soir")
    expect(conflict).to_contain_text("Banc du matin")
    assert not Revision.objects.filter(party=party, author__nickname="Camille").exists()
    shot(page, "6-conflict-on-replay")
    page.get_by_role("button", name="Save my choices").click()
    expect(page.locator("#map-status")).to_have_text(re.compile("Saved"))
    page.wait_for_function("document.getElementById('party-map').dataset.queued === '0'")
    mine = Revision.objects.get(party=party, author__nickname="Camille")
    assert mine.base_version == 2 and mine.after["tags"]["name"] == "Banc du matin"
    context.close()
    assert log.external_requests == []


def test_the_agent_prepares_a_shared_tablet_and_the_party_map_opens_offline(live_server, browser, tmp_path):
    log = BrowserLog()
    party = PartyFactory(area=small_area())
    agent = AgentFactory(town=party.town)
    context, page = launch(browser, tmp_path / "profile", log)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, agent, f"/manage/parties/{party.pk}/")
    card = page.locator("#warm-cache")
    expect(card.locator("#warm-estimate")).to_contain_text("map tiles")
    card.get_by_role("button", name="Prepare this device for offline use").click()
    page.wait_for_function("document.getElementById('warm-cache').dataset.state === 'done'", timeout=120000)
    expect(card.locator("#warm-status")).to_contain_text("Downloaded")
    card.scroll_into_view_if_needed()
    shot(page, "7-agent-tablet")
    kept = page.evaluate(
        "caches.open('cartoparty-download').then((c) => c.keys()).then((k) => k.map((r) => r.url))"
    )
    assert any(f"/api/parties/{party.pk}/presets/" in u for u in kept)
    assert any("/tiles/19/" in u for u in kept)
    assert not any("/contributions/" in u for u in kept)  # no resident's own data on a shared tablet

    context.set_offline(True)
    response = page.goto(f"{live_server.url}/parties/{party.pk}/map/")
    assert response.from_service_worker and response.ok
    page.wait_for_function("document.getElementById('party-map').dataset.state !== 'loading'")
    expect(page.locator("#offline-banner")).to_be_visible()
    context.close()
    assert log.external_requests == []
