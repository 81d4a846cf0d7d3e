"""Print a town's map to PDF: ``manage.py print_map --town SLUG -o FILE.pdf [options]``."""

from __future__ import annotations

import shutil

from django.core.management.base import BaseCommand, CommandError

from exports.jobs import run_job
from exports.models import Edition, Job
from exports.printing.services import PrintRefused, validate_print_request
from exports.printing.sheet import PAPERS_MM
from parties.models import Town


class Command(BaseCommand):
    help = "Print a town's map (title, grid, legend, street and POI indexes) to a PDF, kept as an edition."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--town", required=True, help="Town slug.")
        parser.add_argument("-o", "--output", required=True, help="PDF file to write.")
        parser.add_argument("--paper", default="A3", choices=sorted(PAPERS_MM))
        parser.add_argument("--landscape", action="store_true")
        parser.add_argument("--lang", default="fr", choices=["fr", "en"])
        area = parser.add_mutually_exclusive_group()
        area.add_argument(
            "--bbox",
            help="west,south,east,north in degrees (default: the whole town if it fits the limits, "
            "else the area around its centre at 1:10,000; see docs/printing.md).",
        )
        area.add_argument("--party", type=int, help="Print the area of this party (id).")
        parser.add_argument("--title", default="")
        parser.add_argument("--changes-page", action="store_true", help="Add the list of changes as a page.")

    def handle(self, *args, **opts) -> None:
        town = Town.objects.filter(slug=opts["town"]).first()
        if town is None:
            raise CommandError(f"No town {opts['town']!r}.")
        params = {
            "paper": opts["paper"],
            "landscape": opts["landscape"],
            "lang": opts["lang"],
            "bbox": opts["bbox"],
            "party": opts["party"],
            "title": opts["title"],
            "changes_page": opts["changes_page"],
        }
        try:
            clean = validate_print_request(town, params)
        except PrintRefused as exc:
            raise CommandError(str(exc)) from exc
        # The same job path as the web (progress, clean failure), run here instead of in a worker.
        job = Job.objects.create(town=town, kind=Job.Kind.PRINT, params=clean)
        job = run_job(job.pk)
        if job.status != Job.Status.DONE:
            raise CommandError(f"Print failed: {job.error}")
        edition = Edition.objects.get(job=job)
        shutil.copyfile(edition.file_path, opts["output"])
        area = ",".join(f"{v:.5f}" for v in clean["bbox"])
        self.stdout.write(
            f"Edition {edition.number} of {town.name}: {edition.pages} pages, area {area}, data as of "
            f"{edition.data_as_of:%Y-%m-%d %H:%M} -> {opts['output']}"
        )
