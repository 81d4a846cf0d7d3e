"""python manage.py export_osm --town SLUG --format osm|pbf|osc|geojson -o FILE
[--party ID] [--since DATE] [--bbox w,s,e,n]"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from exports.formats import FORMATS
from exports.selectors import Scope
from exports.services import ExportError, build_export
from mapping.selectors import BadRequest, BBox
from parties.models import Party, Town


def parse_since(raw: str) -> dt.datetime:
    """An ISO date (midnight, server time zone) or date-time; naive values are server time."""
    value = parse_datetime(raw)
    if value is None:
        day = parse_date(raw)
        if day is None:
            raise ValueError(raw)
        value = dt.datetime.combine(day, dt.time())
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class Command(BaseCommand):
    help = "Export a town's data as OSM XML, .osm.pbf, osmChange or GeoJSON (ODbL attribution included)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--town", required=True, help="Town slug.")
        parser.add_argument("--format", required=True, choices=sorted(FORMATS), dest="fmt")
        parser.add_argument("-o", "--output", required=True, help="Output file.")
        parser.add_argument("--party", type=int, help="Only what this party's accepted changes touched.")
        parser.add_argument(
            "--since", help="Only changes accepted since this date (YYYY-MM-DD or ISO date-time)."
        )
        parser.add_argument("--bbox", help="Only this bounding box: west,south,east,north (degrees).")

    def handle(self, *args, **opts) -> None:
        town = Town.objects.filter(slug=opts["town"]).first()
        if town is None:
            raise CommandError(f"No town with slug '{opts['town']}'.")
        party_id = opts.get("party")
        if party_id is not None and not Party.objects.filter(town=town, pk=party_id).exists():
            raise CommandError(f"Town '{town.slug}' has no party {party_id}.")
        try:
            since = parse_since(opts["since"]) if opts.get("since") else None
        except ValueError as exc:
            raise CommandError(f"--since: not a date: {opts['since']}") from exc
        try:
            bbox = BBox.parse(opts["bbox"]) if opts.get("bbox") else None
        except BadRequest as exc:
            raise CommandError(f"--bbox: {exc}") from exc
        path = Path(opts["output"]).resolve()
        if not path.parent.is_dir():
            raise CommandError(f"Directory does not exist: {path.parent}")
        started = time.monotonic()
        try:
            result = build_export(town, opts["fmt"], path, Scope(party_id=party_id, bbox=bbox, since=since))
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        counts = result.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {counts['node']:,} nodes, {counts['way']:,} ways, {counts['relation']:,} relations "
                f"in {time.monotonic() - started:.3f} s"
            )
        )
        for written in result.paths:
            self.stdout.write(f"  {written}")
        if len(result.changesets) > 1:
            self.stdout.write(
                f"  {len(result.changesets)} changesets (at most 10,000 changes each): upload them in order."
            )
