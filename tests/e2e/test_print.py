"""An agent orders an A3 print in French in a real browser, follows it and downloads the PDF."""

from __future__ import annotations

import pytest
from pypdf import PdfReader

from exports import jobs
from exports.models import Job
from exports.printing import services
from mapping.osm_import import import_osm
from tests.conftest import CENTRE_PBF
from tests.e2e.conftest import sign_in
from tests.factories import AgentFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_agent_orders_an_a3_print_in_french_and_downloads_it(
    live_server, desktop_page, browser_log, settings, tmp_path, monkeypatch
):
    settings.CARTOPARTY_EXPORT_DIR = tmp_path / "exports"
    # The job runs here, eagerly, instead of in a Celery worker (another test drives a real worker).
    monkeypatch.setattr(services, "_enqueue", lambda job: None)
    town = import_osm(CENTRE_PBF, "centre", "Vaduz centre").town
    agent = AgentFactory(town=town)
    page = desktop_page
    sign_in(page, live_server, agent, "/manage/prints/")
    page.wait_for_url("**/manage/prints/")
    assert page.get_by_text("No print yet").is_visible()

    page.get_by_label("Paper").select_option("A3")
    page.get_by_label("Language of the map").select_option("fr")
    page.get_by_label("Area (west,south,east,north)").fill("9.518,47.137,9.526,47.142")
    page.get_by_label("Title", exact=True).fill("Plan du centre de Vaduz")
    page.get_by_role("button", name="Order the print").click()
    page.wait_for_url("**/manage/prints/")
    assert page.locator("[data-print-job]").first.get_attribute("data-status") == "queued"

    job = Job.objects.get(town=town, kind=Job.Kind.PRINT)
    assert job.params["paper"] == "A3" and job.params["lang"] == "fr"
    assert jobs.run_job(job.pk).status == Job.Status.DONE
    # The page polls the job and shows the download once it is done.
    link = page.get_by_role("link", name="Download edition 1 (PDF)")
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "centre-edition-1.pdf"
    reader = PdfReader(download.path())
    width_mm = float(reader.pages[0].mediabox.width) * 25.4 / 72
    assert round(width_mm) == 297  # A3 portrait
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Plan du centre de Vaduz" in text and "Städtle" in text
    assert browser_log.external_requests == []
    assert browser_log.errors == []
