"""Ordering, running and keeping printed maps.

- :func:`validate_print_request` normalises the parameters and refuses, with the reason, what is
  over the limits (an area over 20 km a side, more than 16 pages) BEFORE anything is queued. A
  town print without an area is never refused for its size: :func:`town_print_area` chooses one.
- :func:`request_print` queues a ``Job(kind="print")`` for the Celery worker; :func:`retry_print`
  queues a failed one again.
- :func:`print_job` (the registered job handler) reads everything in one REPEATABLE READ
  transaction (map layers, index, legend, changes, contributors: one "data as of"), renders and
  keeps the result as an :class:`~exports.models.Edition`. Temporary files are listed in
  ``progress.temp_files`` so a failed job leaves nothing behind; a killed job's leftovers are
  removed when it is retried.
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.errors import Invalid
from exports import jobs
from exports.models import Edition, Job
from exports.printing import compose, index, sources, style
from exports.printing.sheet import (
    MAX_PAGES,
    MAX_SIDE_KM,
    PAPERS_MM,
    Sheet,
    fit_grid,
    ground_size_km,
    lonlat,
    mercator,
)
from parties.models import Party, Town

LANGS = ("fr", "en")
# A town too large to print whole is printed around its centre at the first of these scales whose
# indexes fit the page limit (1:10,000 on the ground: every street readable, the centre of a small
# town on an A3 sheet).
TOWN_CENTRE_SCALES = (10_000, 5_000, 2_500)
# Places that can be a town's centre, most important first.
CENTRE_PLACES = ("city", "town", "village", "suburb", "hamlet")


class PrintRefused(Invalid):
    """The request is over a limit or invalid; the message says why (shown to the agent)."""


def prints_dir(town: Town) -> Path:
    return Path(settings.CARTOPARTY_EXPORT_DIR) / "prints" / town.slug


def _parse_bbox(value) -> tuple[float, float, float, float]:
    if isinstance(value, str):
        value = value.split(",")
    try:
        west, south, east, north = (float(v) for v in value)
    except (TypeError, ValueError):
        raise PrintRefused(_("The area must be four numbers: west,south,east,north.")) from None
    if not (-180 <= west < east <= 180 and -85 <= south < north <= 85):
        raise PrintRefused(_("The area is not a valid west,south,east,north box in degrees."))
    return west, south, east, north


def validate_print_request(town: Town, params: dict) -> dict:
    """Normalised print parameters, or PrintRefused with the reason (limits checked here, before queueing).

    Tenant scope: a party must belong to ``town``.
    """
    paper = str(params.get("paper") or "A3").upper()
    if paper not in PAPERS_MM:
        raise PrintRefused(_("Unknown paper size %(paper)s.") % {"paper": paper})
    lang = params.get("lang") or "fr"
    if lang not in LANGS:
        raise PrintRefused(_("Unknown language %(lang)s.") % {"lang": lang})
    landscape = bool(params.get("landscape"))
    title = (params.get("title") or "").strip()[:200]
    subtitle = ""
    bbox = None  # None: the town's own print area (town_print_area)
    party_id = params.get("party")
    if party_id:
        party = Party.objects.filter(town=town, pk=party_id).first()
        if party is None:
            raise PrintRefused(_("This party does not exist in %(town)s.") % {"town": town.name})
        bbox = party.area.extent
        title = title or (party.title_fr if lang == "fr" else (party.title_en or party.title_fr))
        subtitle = town.name
    elif params.get("bbox"):
        bbox = _parse_bbox(params["bbox"])
    sheet = Sheet.for_paper(paper, landscape)
    changes_page = bool(params.get("changes_page"))
    if bbox is None:
        bbox, pages = town_print_area(town, sheet, changes_page)
    else:
        pages = _check_limits(town, bbox, sheet, changes_page)
    return {
        "paper": paper,
        "landscape": landscape,
        "lang": lang,
        "bbox": [round(v, 7) for v in bbox],
        "party": int(party_id) if party_id else None,
        "title": title or town.name,
        "subtitle": subtitle or _town_map(lang),
        "changes_page": changes_page,
        "estimated_pages": pages,
    }


def _check_limits(town: Town, bbox, sheet: Sheet, changes_page: bool) -> int:
    """The estimated page count of printing ``bbox`` on ``sheet``, or PrintRefused (size, pages)."""
    grid = fit_grid(bbox, sheet)
    x0, y0, x1, y1 = grid.extent
    printed = (*lonlat(x0, y0), *lonlat(x1, y1))
    for width_km, height_km in (ground_size_km(bbox), ground_size_km(printed)):
        if max(width_km, height_km) > MAX_SIDE_KM:
            raise PrintRefused(
                _("The area is %(w).1f × %(h).1f km; a print covers at most %(max)d km a side.")
                % {"w": width_km, "h": height_km, "max": MAX_SIDE_KM}
            )
    lines = index.count_index_entries(town.pk, printed)
    columns, per_column = compose.index_geometry(sheet)
    headings = 2 + len(style.POI_CATEGORIES)
    pages = (
        1 + max(1, math.ceil((lines + 2 * headings) / (columns * per_column))) + (1 if changes_page else 0)
    )
    if pages > MAX_PAGES:
        raise PrintRefused(
            _("This print would need about %(pages)d pages (at most %(max)d): choose a smaller area.")
            % {"pages": pages, "max": MAX_PAGES}
        )
    return pages


def town_print_area(town: Town, sheet: Sheet, changes_page: bool = False) -> tuple[tuple, int]:
    """The area a town print covers when no area is given, and its estimated page count.

    Why not simply the town's extent: an extract carries every way that crosses its edge (the
    demo town's data runs 82 km north to south), so "the whole town" is often far over the limits,
    and a print of the town must print the town, not refuse. The whole extent when it fits the
    limits; otherwise the area around the town's centre (:func:`town_centre`) that fills the map
    frame at 1:10,000 (at 1:5,000 or 1:2,500, a smaller area, if its indexes would need more than
    16 pages).
    """
    if town.boundary is None:
        raise PrintRefused(_("This town has no map data yet: give an area to print."))
    try:
        return town.boundary.extent, _check_limits(town, town.boundary.extent, sheet, changes_page)
    except PrintRefused:
        pass
    lon, lat = town_centre(town)
    cx, cy = mercator(lon, lat)
    frame_w, frame_h = sheet.frame_mm[2:]
    for scale in TOWN_CENTRE_SCALES:
        # The frame's width on the ground, in mercator units (cos(lat) ground metres per unit).
        half_w = frame_w * scale / 1000 / 2 / math.cos(math.radians(lat))
        half_h = half_w * frame_h / frame_w
        bbox = (*lonlat(cx - half_w, cy - half_h), *lonlat(cx + half_w, cy + half_h))
        try:
            return bbox, _check_limits(town, bbox, sheet, changes_page)
        except PrintRefused as exc:
            refused = exc
    raise refused  # denser than any town: the agent is told the page count


def town_centre(town: Town) -> tuple[float, float]:
    """(lon, lat) of the town's centre: its main place node, else the middle of its data.

    The main place is the one named like the town (the demo town "Vaduz" is in an extract of all
    Liechtenstein, with eleven villages), else the most important one (city, town, village...),
    the most populated first.
    """
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT ST_X(geom), ST_Y(geom) FROM mapping_node
            WHERE town_id = %s AND visible AND tags <> '{}'::jsonb AND tags->>'place' = ANY(%s)
            ORDER BY (lower(tags->>'name') = lower(%s)) IS TRUE DESC, array_position(%s, tags->>'place'),
                     CASE WHEN tags->>'population' ~ '^[0-9]{1,9}$' THEN (tags->>'population')::int END
                       DESC NULLS LAST,
                     osm_id
            LIMIT 1
            """,
            [town.pk, list(CENTRE_PLACES), town.name, list(CENTRE_PLACES)],
        )
        row = cur.fetchone()
    if row:
        return row[0], row[1]
    assert town.boundary is not None  # town_print_area refuses a town without one first
    west, south, east, north = town.boundary.extent
    return (west + east) / 2, (south + north) / 2


def _town_map(lang: str) -> str:
    with translation.override(lang):
        return _("Town map")


def request_print(town: Town, params: dict, user=None) -> Job:
    """Validate (PrintRefused before anything is queued) and queue a print job for the worker."""
    clean = validate_print_request(town, params)
    job = Job.objects.create(
        town=town,
        kind=Job.Kind.PRINT,
        params=clean,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    _enqueue(job)
    return job


def retry_print(job: Job) -> Job:
    """Queue a failed print again (its leftovers, if the worker was killed, are removed first)."""
    if job.kind != Job.Kind.PRINT or job.status != Job.Status.FAILED:
        raise PrintRefused(_("Only a failed print can be retried."))
    _remove_leftovers(job)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED, progress=0, message="", error="")
    job.refresh_from_db()
    _enqueue(job)
    return job


def _enqueue(job: Job) -> None:
    from exports.tasks import run_job_task

    transaction.on_commit(lambda: run_job_task.delay(job.pk))


def _temp(town: Town, key: str, suffix: str) -> Path:
    return prints_dir(town) / f".job-{key}-{suffix}"


@jobs.register_leftovers(Job.Kind.PRINT)
def _remove_leftovers(job: Job) -> None:
    """A print's ``.job-<id>-*`` files (a killed worker's, or a retry's before it starts again)."""
    directory = prints_dir(job.town)
    if directory.exists():
        for path in directory.glob(f".job-{job.pk}-*"):
            path.unlink(missing_ok=True)


@jobs.register(Job.Kind.PRINT)
def print_job(job: Job, progress: jobs.Progress) -> Path:
    """Job handler: render the print described by ``job.params``; returns the PDF's path."""
    edition = make_print(job.town, job.params, progress=progress, job=job)
    return Path(edition.file_path)


def make_print(
    town: Town, params: dict, *, progress: jobs.Progress | None = None, job: Job | None = None
) -> Edition:
    """Render one print and keep it as the town's next Edition.

    Preconditions: ``params`` come from :func:`validate_print_request`. Reads in its own REPEATABLE
    READ transaction when not already inside one (tests call it inside theirs).
    """
    report = progress or (lambda percent, message="": None)
    temp_files = progress.temp_files if progress is not None else []
    directory = prints_dir(town)
    directory.mkdir(parents=True, exist_ok=True)
    if job is not None:
        _remove_leftovers(job)
    key = str(job.pk) if job is not None else f"direct-{uuid.uuid4().hex}"
    map_pdf, pdf, png = (_temp(town, key, s) for s in ("map.pdf", "print.pdf", "preview.png"))
    temp_files.extend([map_pdf, pdf, png])
    try:
        return _make_print(town, params, report, job, map_pdf, pdf, png, directory)
    finally:
        map_pdf.unlink(missing_ok=True)
        if progress is None:  # no run_job to clean up after us
            pdf.unlink(missing_ok=True)
            png.unlink(missing_ok=True)


def _make_print(town, params, report, job, map_pdf: Path, pdf: Path, png: Path, directory: Path) -> Edition:
    sheet = Sheet.for_paper(params["paper"], params["landscape"])
    grid = fit_grid(tuple(params["bbox"]), sheet)
    lang = params["lang"]
    width, height = compose.map_pixels(sheet)
    import mapnik

    from exports.printing import pages  # ReportLab: loaded by the worker, not by every web process

    m = sources.new_map(width, height)
    report(5, _("Reading the map data"))
    owns = not connection.in_atomic_block
    with transaction.atomic():
        if owns:
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        data_as_of = timezone.now()
        counts, kinds = sources.attach_snapshot(m, grid.extent, town_id=town.pk, lang=lang)
        m.zoom_to_box(mapnik.Box2d(*grid.extent))
        report(25, _("Drawing the map and laying out the pages"))
        # The map is drawn (PDF and preview, in forked children) while this process reads the
        # indexes in the same transaction and lays out the pages.
        with compose.drawing_map(m, map_pdf, png):
            streets = index.street_index(town.pk, grid, lang)
            pois = index.poi_index(town.pk, grid, lang)
            previous = (
                Edition.objects.filter(town=town, data_as_of__lt=data_as_of).order_by("-number").first()
            )
            with translation.override(lang):  # "Town agent" for an agent without a public name
                changes = index.changes_between(
                    town.pk, previous.data_as_of if previous else None, data_as_of, grid
                )
                people = index.contributors(town.pk, data_as_of)
            page = compose.Page(
                sheet=sheet,
                grid=grid,
                lang=lang,
                title=params["title"],
                subtitle=params.get("subtitle") or "",
                date=timezone.localdate(),
                data_as_of=data_as_of,
                legend=index.legend_for(kinds, counts, m.scale_denominator()),
                streets=streets,
                pois=pois,
                changes=changes,
                previous_date=previous.data_as_of if previous else None,
                contributors=people,
                url=settings.CARTOPARTY_PUBLIC_URL.rstrip("/") + town.get_absolute_url(),
                changes_page=params.get("changes_page", False),
                attribution="© OpenStreetMap contributors, ODbL",
            )
            layout = pages.layout_pdf(page)
    report(85, _("Assembling the PDF"))
    page_count = compose.compose_pdf(page, layout, map_pdf, pdf)
    if page_count > MAX_PAGES:
        raise PrintRefused(
            _("This print needs %(pages)d pages (at most %(max)d): choose a smaller area.")
            % {"pages": page_count, "max": MAX_PAGES}
        )
    with transaction.atomic():
        Town.objects.select_for_update().filter(pk=town.pk).first()
        last = Edition.objects.filter(town=town).order_by("-number").first()
        number = (last.number if last else 0) + 1
        final_pdf = directory / f"edition-{number}.pdf"
        final_png = directory / f"edition-{number}.png"
        edition = Edition.objects.create(
            town=town,
            number=number,
            job=job,
            previous=previous,
            title=params["title"],
            params=params,
            data_as_of=data_as_of,
            file_path=str(final_pdf),
            preview_path=str(final_png),
            pages=page_count,
            changes=changes,
            created_by=job.created_by if job else None,
        )
        os.replace(pdf, final_pdf)
        os.replace(png, final_png)
    report(100, _("Done"))
    return edition
