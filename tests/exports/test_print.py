"""Printed maps: a valid vector PDF with embedded fonts, a correct street index, editions, limits, jobs."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection
from django.utils import timezone
from PIL import Image, ImageStat
from pypdf import PdfReader

from exports import jobs
from exports.models import Edition, Job
from exports.printing import compose, index, services
from exports.printing.sheet import Sheet, fit_grid, ground_size_km
from mapping.models import Node, Way
from mapping.store import apply_change, next_local_id
from tests.factories import PartyFactory, RevisionFactory, publish

# A small part of central Vaduz (lon/lat), inside the centre_town extract.
SMALL = "9.518,47.137,9.526,47.142"
pytestmark = pytest.mark.usefixtures("export_dir")  # tests/conftest.py


def print_now(town, **params) -> Edition:
    clean = services.validate_print_request(town, {"paper": "A4", "lang": "fr", "bbox": SMALL, **params})
    return services.make_print(town, clean)


def add_way(town, name: str | None, coords: list[tuple[float, float]], highway: str = "residential"):
    tags = {"highway": highway} | ({"name": name} if name else {})
    return apply_change(
        town=town,
        element_type="way",
        element_id=next_local_id(),
        action="create",
        after={"tags": tags, "nodes": [[None, lon, lat] for lon, lat in coords], "closed": False},
        base_version=None,
    )


def pdf_text(path: str) -> str:
    """All the text of the PDF, whitespace and line wraps collapsed to single spaces."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


def fonts_of(resources, seen=None) -> list:
    """Every font dictionary used on a page, including inside form XObjects (the map)."""
    seen = seen if seen is not None else set()
    found = []
    if resources is None:
        return found
    resources = resources.get_object()
    for font in (resources.get("/Font") or {}).values():
        found.append(font.get_object())
    for xobject in (resources.get("/XObject") or {}).values():
        ref = getattr(xobject, "idnum", id(xobject))
        if ref in seen:
            continue
        seen.add(ref)
        found += fonts_of(xobject.get_object().get("/Resources"), seen)
    return found


def is_embedded(font) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True  # glyphs drawn as PDF paths inside the file
    if font.get("/Subtype") == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font["/FontDescriptor"].get_object()
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def test_pdf_is_valid_with_embedded_fonts_title_attribution_and_index(centre_town):
    edition = print_now(centre_town, title="Plan de Vaduz centre")
    reader = PdfReader(edition.file_path)
    assert len(reader.pages) == edition.pages >= 2
    fonts = [f for page in reader.pages for f in fonts_of(page.get("/Resources"))]
    assert fonts and all(is_embedded(f) for f in fonts)
    # The map itself is a vector form XObject on the first page, with its own (embedded) fonts.
    first = reader.pages[0]["/Resources"]["/XObject"]
    assert "/CartopartyMap" in first
    text = pdf_text(edition.file_path)
    assert "Plan de Vaduz centre" in text
    assert "© OpenStreetMap contributors, ODbL" in text
    assert "Städtle" in text
    assert edition.data_as_of <= timezone.now()


def _named_street_cells(town, grid, lang="fr") -> dict[str, set[str]]:
    """Independently, in PostGIS: every (street name, grid square) pair that really intersects."""
    pairs: dict[str, set[str]] = {}
    highways = "(" + ",".join(f"'{v}'" for v in index.style.STREET_HIGHWAYS) + ")"
    with connection.cursor() as cur:
        for i in range(grid.columns):
            for j in range(grid.rows):
                x0, y0, x1, y1 = grid.cell_box(i, j)
                cur.execute(
                    f"""SELECT DISTINCT COALESCE(NULLIF(tags->>'name:fr', ''), tags->>'name') FROM mapping_way
                        WHERE town_id = %s AND visible AND tags->>'highway' IN {highways}
                          AND COALESCE(tags->>'name', '') <> ''
                          AND ST_Intersects(ST_Transform(geom, 3857), ST_MakeEnvelope(%s, %s, %s, %s, 3857))""",
                    [town.pk, x0, y0, x1, y1],
                )
                for (name,) in cur.fetchall():
                    pairs.setdefault(name, set()).add(grid.label(i, j))
    return pairs


def test_every_named_street_is_indexed_with_the_squares_it_really_crosses(centre_town):
    sheet = Sheet.for_paper("A4", False)
    grid = fit_grid(tuple(float(v) for v in SMALL.split(",")), sheet)
    entries = index.street_index(centre_town.pk, grid, "fr")
    expected = _named_street_cells(centre_town, grid)
    indexed: dict[str, set[str]] = {}
    for entry in entries:
        assert entry.name.strip()
        indexed.setdefault(entry.name, set()).update(entry.squares)
    assert len(expected) > 10
    assert indexed == expected
    # And the printed PDF lists them.
    text = pdf_text(print_now(centre_town).file_path)
    for name in list(expected)[:15]:
        assert name in text


def test_street_without_name_is_not_indexed(centre_town):
    grid = fit_grid(tuple(float(v) for v in SMALL.split(",")), Sheet.for_paper("A4", False))
    before = index.street_index(centre_town.pk, grid, "fr")
    add_way(centre_town, None, [(9.5200, 47.1390), (9.5210, 47.1392)])
    add_way(centre_town, "Chemin Nommé", [(9.5200, 47.1395), (9.5210, 47.1397)])
    after = index.street_index(centre_town.pk, grid, "fr")
    assert len(after) == len(before) + 1
    assert "Chemin Nommé" in [e.name for e in after]
    assert all(e.name.strip() for e in after)


def test_same_named_distant_streets_are_two_entries_and_a_cut_street_is_one(centre_town):
    grid = fit_grid(tuple(float(v) for v in SMALL.split(",")), Sheet.for_paper("A4", False))
    # Two pieces of one street, end to end: one entry.
    add_way(centre_town, "Rue Coupée", [(9.5190, 47.1380), (9.5195, 47.1381)])
    add_way(centre_town, "Rue Coupée", [(9.5195, 47.1381), (9.5200, 47.1382)])
    # Two streets of one name about 600 m apart: two entries.
    add_way(centre_town, "Rue des Écoles", [(9.5190, 47.1376), (9.5194, 47.1377)])
    add_way(centre_town, "Rue des Écoles", [(9.5250, 47.1412), (9.5254, 47.1413)])
    entries = index.street_index(centre_town.pk, grid, "fr")
    names = [e.name for e in entries]
    assert names.count("Rue Coupée") == 1
    assert names.count("Rue des Écoles") == 2
    squares = [set(e.squares) for e in entries if e.name == "Rue des Écoles"]
    assert not squares[0] & squares[1]


def test_index_is_sorted_the_french_way():
    """Accents and case do not push names to the end (a byte sort would put "Égalité" after "Z")."""
    entries = [index.Entry(name=n, squares=["A1"]) for n in ["Zollstrasse", "eglise", "Égalité", "Ecole"]]
    assert [e.name for e in index.sort_entries(entries, "fr")] == [
        "Ecole",
        "Égalité",
        "eglise",
        "Zollstrasse",
    ]


def test_png_preview_is_a_real_picture(centre_town):
    edition = print_now(centre_town)
    image = Image.open(edition.preview_path).convert("RGB")
    assert image.width == 1200
    assert len(image.getcolors(maxcolors=1 << 20)) > 50
    assert max(ImageStat.Stat(image).stddev) > 10


def test_labels_follow_the_chosen_language(centre_town):
    add_way(centre_town, "Hauptweg", [(9.5200, 47.1400), (9.5212, 47.1402)])
    way = Way.objects.get(town=centre_town, tags__name="Hauptweg")
    way.tags = {**way.tags, "name:fr": "Chemin principal", "name:en": "Main walk"}
    way.save()
    assert "Chemin principal" in pdf_text(print_now(centre_town, lang="fr").file_path)
    assert "Main walk" in pdf_text(print_now(centre_town, lang="en").file_path)


def test_area_over_20_km_is_refused_before_queueing(centre_town):
    with pytest.raises(services.PrintRefused, match="20 km"):
        services.request_print(centre_town, {"bbox": "9.40,47.00,9.70,47.20"})
    assert not Job.objects.filter(town=centre_town).exists()


def test_a_town_too_large_to_print_whole_is_printed_around_its_centre_at_1_to_10000(vaduz):
    """The demo extract runs 82 km north to south: its print is central Vaduz, not a refusal."""
    from django.core.management import CommandError, call_command

    assert max(ground_size_km(vaduz.boundary.extent)) > 20
    clean = services.validate_print_request(vaduz, {"paper": "A3", "lang": "fr"})
    west, south, east, north = clean["bbox"]
    town_node = Node.objects.get(town=vaduz, tags__place="town", tags__name="Vaduz").geom
    assert west < town_node.x < east and south < town_node.y < north
    assert (west + east) / 2 == pytest.approx(town_node.x, abs=1e-6)
    sheet = Sheet.for_paper("A3", False)
    grid = fit_grid(tuple(clean["bbox"]), sheet)
    assert grid.scale == pytest.approx(10_000, rel=1e-3)
    assert ground_size_km(clean["bbox"])[0] == pytest.approx(sheet.frame_mm[2] * 10 / 1000, rel=1e-3)
    # A genuinely too large explicit area is still refused, with the reason.
    with pytest.raises(CommandError, match="at most 20 km a side"):
        call_command("print_map", town="vaduz", output="/dev/null", bbox="9.40,47.00,9.70,47.30")


def test_a_town_that_fits_is_printed_whole(centre_town):
    box = Polygon.from_bbox(tuple(float(v) for v in SMALL.split(",")))
    centre_town.boundary = MultiPolygon(box, srid=4326)
    centre_town.save()
    clean = services.validate_print_request(centre_town, {"paper": "A4"})
    assert clean["bbox"] == [round(v, 7) for v in centre_town.boundary.extent]


def test_a_town_centre_too_dense_for_16_pages_is_printed_at_a_larger_scale(vaduz, monkeypatch):
    real = index.count_index_entries
    # Any area wider than 2 km "has" 50,000 names: 1:10,000 on A3 (2.6 km) is over 16 pages.
    monkeypatch.setattr(
        index,
        "count_index_entries",
        lambda town_id, bbox: 50_000 if ground_size_km(bbox)[0] > 2 else real(town_id, bbox),
    )
    clean = services.validate_print_request(vaduz, {"paper": "A3"})
    assert fit_grid(tuple(clean["bbox"]), Sheet.for_paper("A3", False)).scale == pytest.approx(
        5_000, rel=1e-3
    )
    monkeypatch.setattr(index, "count_index_entries", lambda town_id, bbox: 50_000)
    with pytest.raises(services.PrintRefused, match="16"):
        services.validate_print_request(vaduz, {"paper": "A3"})


def test_the_centre_is_the_place_named_like_the_town_else_the_most_important_place(centre_town):
    vaduz_node = (9.5227962, 47.1392862)  # place=town, name=Vaduz
    elsewhere = (9.52, 47.141)
    for tags in ({"place": "hamlet"}, {"place": "city", "name": "Elsewhere"}):
        publish(centre_town, "node", {"tags": tags, "geometry": {"type": "Point", "coordinates": elsewhere}})
    centre_town.name = "VADUZ"  # named like the town (any case): before a city, before an unnamed place
    assert services.town_centre(centre_town) == pytest.approx(vaduz_node)
    centre_town.name = "Vaduz centre"  # no place of that name: the most important place, the city
    assert services.town_centre(centre_town) == pytest.approx(elsewhere)
    Node.objects.filter(town=centre_town, tags__has_key="place").update(tags={"name": "not a place"})
    centre_town.refresh_from_db()
    west, south, east, north = centre_town.boundary.extent
    assert services.town_centre(centre_town) == pytest.approx(((west + east) / 2, (south + north) / 2))


def test_more_than_16_pages_is_refused_before_queueing(centre_town, monkeypatch):
    monkeypatch.setattr(index, "count_index_entries", lambda town_id, bbox: 50_000)
    with pytest.raises(services.PrintRefused, match="16"):
        services.request_print(centre_town, {"bbox": SMALL, "paper": "A4"})
    assert not Job.objects.filter(town=centre_town).exists()


def test_party_of_another_town_is_refused(centre_town):
    other = PartyFactory()
    with pytest.raises(services.PrintRefused):
        services.validate_print_request(centre_town, {"party": other.pk})


def test_print_job_runs_keeps_an_edition_and_changes_since_the_previous_one(
    centre_town, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        job = services.request_print(centre_town, {"bbox": SMALL, "paper": "A4", "changes_page": True})
    assert job.status == Job.Status.QUEUED and len(queued) == 1  # sent to the worker on commit
    job = jobs.run_job(job.pk)
    assert job.status == Job.Status.DONE and Path(job.result_path).exists()
    first = Edition.objects.get(job=job)
    assert first.number == 1

    party = PartyFactory(town=centre_town)
    RevisionFactory(
        party=party,
        author__nickname="Fleur des champs",
        status="accepted",
        reviewed_at=timezone.now(),
        after={
            "tags": {"amenity": "bench", "name": "Banc du tilleul"},
            "geometry": {"type": "Point", "coordinates": [9.5215, 47.1395]},
        },
    )
    job2 = jobs.run_job(
        services.request_print(centre_town, {"bbox": SMALL, "paper": "A4", "changes_page": True}).pk
    )
    second = Edition.objects.get(job=job2)
    assert second.number == 2 and second.previous == first
    assert second.changes["created"] == 1 and second.changes["items"][0]["name"] == "Banc du tilleul"
    text = pdf_text(second.file_path)
    assert "Fleur des champs" in text  # contributors
    assert "Banc du tilleul" in text  # the insert page of changes


def test_failed_print_leaves_no_file_and_can_be_retried(centre_town, monkeypatch, export_dir):
    job = services.request_print(centre_town, {"bbox": SMALL, "paper": "A4"})
    real = compose.compose_pdf

    def broken(page, layout, map_pdf, out):
        Path(out).write_bytes(b"half a pdf")
        raise RuntimeError("disk full")

    monkeypatch.setattr(compose, "compose_pdf", broken)
    job = jobs.run_job(job.pk)
    assert job.status == Job.Status.FAILED and "disk full" in job.error
    assert [p for p in Path(export_dir).rglob("*") if p.is_file()] == []
    assert not Edition.objects.filter(town=centre_town).exists()

    monkeypatch.setattr(compose, "compose_pdf", real)
    services.retry_print(job)
    job = jobs.run_job(job.pk)
    assert job.status == Job.Status.DONE
    assert Edition.objects.filter(job=job).count() == 1


def test_print_map_command_writes_the_pdf(centre_town, call, tmp_path):
    out = tmp_path / "vaduz.pdf"
    text = call(
        "print_map", "--town", "centre", "-o", str(out), "--paper", "A4", "--bbox", SMALL, "--lang", "en"
    )
    assert "Edition 1" in text
    assert PdfReader(out).pages and "Town map" in pdf_text(str(out))


def test_system_checks_report_missing_icons_and_unwritable_tile_cache(settings, monkeypatch):
    from exports.printing import checks, style

    assert checks.check_printing() == []
    monkeypatch.setattr(style, "ICON_NAMES", ("no-such-icon",))
    settings.CARTOPARTY_TILE_DIR = "/proc/no-such-dir/tiles"
    assert {e.id for e in checks.check_printing()} == {"cartoparty.E102", "cartoparty.E103"}


def test_qr_code_on_the_sheet_decodes_to_the_online_map(centre_town, tmp_path):
    """The QR code (drawn as vector modules) scans back to the town's public map."""

    import zxingcpp
    from django.conf import settings

    edition = print_now(centre_town)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-f", "1", "-l", "1", "-png", edition.file_path, str(tmp_path / "page")],
        check=True,
    )
    (picture,) = tmp_path.glob("page*.png")
    codes = [
        c.text
        for c in zxingcpp.read_barcodes(Image.open(picture))
        if c.format == zxingcpp.BarcodeFormat.QRCode
    ]
    assert codes == [settings.CARTOPARTY_PUBLIC_URL.rstrip("/") + centre_town.get_absolute_url()]


def test_sheet_has_its_legend_scale_about_and_grid_labels_in_the_print_language(centre_town):
    text = pdf_text(print_now(centre_town, lang="en").file_path)
    for expected in ("LEGEND", "Street", "SCALE", "Grid squares of", "ABOUT THIS MAP", "Online map"):
        assert expected in text
    assert "Contributors: none yet" in text
    first_page = PdfReader(print_now(centre_town, lang="fr").file_path).pages[0].extract_text()
    assert "LÉGENDE" in first_page and "Rue" in first_page
    assert {"A", "B", "1", "2"} <= set(first_page.split())  # grid labels around the frame


def _bare_page(sheet: Sheet, bbox: str, **overrides) -> compose.Page:
    """A sheet's content with no map data: for layout tests that need no database."""
    now = timezone.now()
    fields = {
        "sheet": sheet,
        "grid": fit_grid(tuple(float(v) for v in bbox.split(",")), sheet),
        "lang": "en",
        "title": "Essai",
        "subtitle": "",
        "date": now.date(),
        "data_as_of": now,
        "legend": index.Legend(),
        "streets": [],
        "pois": {},
        "changes": {"since": None, "created": 0, "modified": 0, "deleted": 0, "items": []},
        "previous_date": None,
        "contributors": [],
        "url": "http://127.0.0.1:8000/t/essai/",
        "changes_page": False,
        "attribution": "© OpenStreetMap contributors, ODbL",
    }
    return compose.Page(**{**fields, **overrides})


def test_a_long_list_of_changes_runs_over_several_insert_pages(centre_town):
    """The changes insert is paginated: every change is listed, none drawn past the page."""
    from exports.printing import pages

    now = timezone.now()
    items = [
        {
            "action": "modify",
            "type": "node",
            "id": i,
            "name": f"Banc numéro {i}",
            "author": "Fleur",
            "date": now.isoformat(),
        }
        for i in range(1, 181)
    ]
    page = _bare_page(
        Sheet.for_paper("A4", False),
        SMALL,
        lang="fr",
        changes={"since": None, "created": 0, "modified": 180, "deleted": 0, "items": items},
        changes_page=True,
    )
    reader = PdfReader(io.BytesIO(pages.layout_pdf(page)))
    assert len(reader.pages) >= 5  # sheet, index, at least three pages of changes
    text = " ".join(p.extract_text() for p in reader.pages)
    for i in (1, 90, 180):
        assert f"Banc numéro {i}" in text
    assert "(node " not in text  # features are named, never "node 5258"
    assert str(len(reader.pages)) in reader.pages[-1].extract_text().split()  # numbered pages


@pytest.mark.parametrize("paper", ["A4", "A3", "A2", "A1", "A0"])
@pytest.mark.parametrize("landscape", [False, True])
def test_the_scale_bar_stays_in_its_column(paper, landscape, monkeypatch):
    """On every paper and orientation the bar is drawn inside the scale column, clear of "About"."""
    from exports.printing import pages

    drawn: list[tuple[float, float]] = []
    columns: list[tuple[float, float]] = []
    real_scale, real_rect = pages._scale, pages.Sheet.rect

    def scale(s, page, fs, x, top, width, bottom):
        columns.append((x, x + width))
        monkeypatch.setattr(pages.Sheet, "rect", lambda self, x, top, w, h, **kw: drawn.append((x, x + w)))
        real_scale(s, page, fs, x, top, width, bottom)
        monkeypatch.setattr(pages.Sheet, "rect", real_rect)

    monkeypatch.setattr(pages, "_scale", scale)
    sheet = Sheet.for_paper(paper, landscape)
    for bbox in (SMALL, "9.47,47.05,9.64,47.27"):  # a few streets, the whole of Liechtenstein
        pages.layout_pdf(_bare_page(sheet, bbox))
    assert len(columns) == 2 and len(drawn) == 4  # two halves of the bar per sheet
    for (left, right), (start, end) in zip([c for c in columns for _ in (0, 1)], drawn, strict=True):
        assert left <= start < end <= right


def test_maki_icons_become_closed_vector_paths_inside_their_box():
    from exports.printing import icons, style

    for name in style.ICON_NAMES:
        ops = icons.icon_path_ops(name)
        assert ops and ops[0][0] == "M", name
        ends = [op[-2:] for op in ops if op[0] != "Z"]  # curve control points may lie outside
        xs, ys = [x for x, _ in ends], [y for _, y in ends]
        assert all(-0.5 <= v <= 15.5 for v in xs + ys), name
    # A half circle from (0, 5) to (10, 5) through (5, 0) (relative commands, arcs as curves).
    arc = icons.parse_path("M0 5a5 5 0 0 1 10 0z")
    assert arc[0] == ("M", 0.0, 5.0) and arc[-1] == ("Z",)
    assert arc[-2][-2:] == (10.0, 5.0)
    assert min(y for op in arc[1:-1] for y in op[2::2]) == pytest.approx(0.0, abs=0.1)


def test_a_map_child_that_fails_fails_the_job_and_leaves_no_file(centre_town, monkeypatch, export_dir):
    """The preview is drawn in a forked child: if it fails, the job fails cleanly (both children reaped)."""
    job = services.request_print(centre_town, {"bbox": SMALL, "paper": "A4"})

    def broken(m, path, width_px=1200):
        raise RuntimeError("no preview")

    monkeypatch.setattr(compose, "render_map_png", broken)
    job = jobs.run_job(job.pk)
    assert job.status == Job.Status.FAILED
    assert [p for p in Path(export_dir).rglob("*") if p.is_file()] == []
    assert not Edition.objects.filter(town=centre_town).exists()


def test_a_long_title_gets_smaller_rather_than_cut_in_landscape(centre_town):
    title = "Plan du centre de Vaduz, imprimé pour chaque foyer de la commune et ses environs"
    edition = print_now(centre_town, title=title, landscape=True)
    first = PdfReader(edition.file_path).pages[0]
    assert float(first.mediabox.width) > float(first.mediabox.height)
    assert title in " ".join(first.extract_text().split())
