"""python manage.py setup_demo: the demo town "Vaduz" and a demo agent (idempotent, fast on re-run)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from mapping.models import Node
from parties.models import Town, User

DEMO_EXTRACT = Path(settings.BASE_DIR) / "tests/data/extract/liechtenstein-2013-08-03.osm.pbf"
DEMO_AGENT = ("agent", "cartoparty-demo")


class Command(BaseCommand):
    help = "Import the demo extract as the town 'Vaduz' (once) and create the demo agent account."

    def handle(self, *args, **opts) -> None:
        town = Town.objects.filter(slug="vaduz").first()
        if town is None or not Node.objects.filter(town=town).exists():
            self.stdout.write(
                "==> Importing the demo extract (Liechtenstein, © OpenStreetMap contributors, ODbL)"
            )
            call_command("import_osm", str(DEMO_EXTRACT), town="vaduz", name="Vaduz", stdout=self.stdout)
            town = Town.objects.get(slug="vaduz")
        else:
            self.stdout.write("==> Demo town already imported")
        username, password = DEMO_AGENT
        agent = User.objects.filter(username=username).first()
        if agent is None:
            agent = User.objects.create_user(username, password=password, role=User.Role.AGENT, town=town)
        self.stdout.write(
            self.style.SUCCESS(
                f"==> Demo agent: username '{username}', password '{password}' (town {town.name}); "
                f"log in at {settings.CARTOPARTY_PUBLIC_URL}/accounts/login/"
            )
        )
