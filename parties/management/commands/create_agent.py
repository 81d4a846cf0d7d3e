"""python manage.py create_agent USERNAME --town SLUG: an agent account for a town."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from parties.models import Town
from parties.services import create_agent


class Command(BaseCommand):
    help = (
        "Create an agent account of a town. The password is asked for, or read from "
        "CARTOPARTY_AGENT_PASSWORD with --no-input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--town", required=True, help="The town's slug.")
        parser.add_argument("--no-input", action="store_true", help="Read the password from the environment.")

    def handle(self, *args: Any, **opts: Any) -> None:
        town = Town.objects.filter(slug=opts["town"]).first()
        if town is None:
            raise CommandError(f"No town with the slug {opts['town']!r}.")
        if opts["no_input"]:
            password = os.environ.get("CARTOPARTY_AGENT_PASSWORD", "")
            if not password:
                raise CommandError("Set CARTOPARTY_AGENT_PASSWORD to use --no-input.")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        try:
            agent = create_agent(opts["username"], town, password)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Agent {agent.username!r} of {town.name} created."))
