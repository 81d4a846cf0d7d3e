"""python manage.py import_osm FILE --town SLUG [--name NAME]"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mapping.osm_import import ImportError_, import_osm


class Command(BaseCommand):
    help = "Import an OSM extract (.osm.pbf, .osm, .osm.bz2) into a town; atomic and idempotent."
    requires_system_checks: list[str] = []  # a batch job: start-up time counts in every import

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--town", required=True, help="Town slug (created if it does not exist).")
        parser.add_argument("--name", help="Town display name.")

    def handle(self, *args, **opts) -> None:
        tty = sys.stderr.isatty() and opts["verbosity"] > 0

        def progress(read: dict[str, int]) -> None:
            total = sum(read.values())
            bar = "#" * min(40, total // 50000 + 1)
            sys.stderr.write(
                f"\r  [{bar:<40}] {read['node']:>10,} nodes {read['way']:>9,} ways {read['relation']:>7,} relations"
            )
            sys.stderr.flush()

        try:
            summary = import_osm(opts["file"], opts["town"], opts.get("name"), progress if tty else None)
        except ImportError_ as exc:
            raise CommandError(f"{str(exc).rstrip('.')}. Nothing was changed.") from exc
        if tty:
            sys.stderr.write("\n")
        out = self.stdout.write
        out(
            self.style.SUCCESS(
                f"Imported {opts['file']} into town '{summary.town.slug}' in {summary.seconds:.1f} s"
            )
        )
        out(f"  {'':10} {'read':>10} {'created':>10} {'updated':>10} {'deleted':>10}")
        for kind in ("node", "way", "relation"):
            out(
                f"  {kind + 's':10} {summary.read[kind]:>10,} {summary.created[kind]:>10,} "
                f"{summary.updated[kind]:>10,} {summary.deleted[kind]:>10,}"
            )
        g = summary.geometry
        out(
            f"  geometries: {g.ok:,} valid, {g.repaired:,} repaired, {g.incomplete:,} incomplete, {g.invalid:,} skipped"
        )
        if opts["verbosity"] >= 2:
            out("  seconds: " + ", ".join(f"{name} {secs:.2f}" for name, secs in summary.phases.items()))
        if not summary.changed:
            out("  Nothing changed: this data was already imported.")
