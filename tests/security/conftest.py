"""A small world with every role of the permission matrix: town A (the centre of Vaduz) with two
parties, town B, and one user per role."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from exports.models import Edition, Job
from exports.selectors import Scope
from exports.services import download_name
from mapping.models import Node, Photo, Revision, UpstreamConflict
from mapping.photos import attach_photo
from parties.models import Party, Town, User
from tests.factories import AgentFactory, PartyFactory, ResidentFactory, RevisionFactory, TownFactory


@dataclass
class World:
    town: Town
    party: Party
    other_town: Town
    users: dict[str, User | None]
    node: Node
    revision: Revision
    job: Job
    conflict: UpstreamConflict
    print_job: Job
    edition: Edition
    photo: Photo | None = None

    def url_kwargs(self, name: str) -> dict[str, object]:
        """Values for every URL keyword the URL conf uses, all pointing into town A."""
        scope = Scope(party_id=self.party.pk) if name == "exports:party-download" else Scope()
        return {
            "filename": download_name(self.town, "osm", scope),
            "slug": self.town.slug,
            "party_id": self.party.pk,
            "pk": self.revision.pk,
            "conflict_id": self.conflict.pk,
            "job_id": self.job.pk,
            "join_code": self.party.join_code,
            "kind": "svg",
            "element_type": "node",
            "element_id": self.node.osm_id,
            "date": "2030-01-01",
            "action": "reject",
            "z": 16,  # a base tile over the centre of Vaduz
            "x": 34501,
            "y": 23013,
            "edit_key": self.revision.idempotency_key,
            "photo_id": self.photo.pk if self.photo else 0,
            "size": "thumb",
        }

    def client(self, role: str) -> Client:
        client = Client()
        user = self.users[role]
        if user is not None:
            client.force_login(user)
        return client


@pytest.fixture
def world(centre_town, tmp_path, settings) -> World:
    # Files the requests write (export cache, tiles, prints) stay in the test's own directory.
    settings.CARTOPARTY_EXPORT_DIR = tmp_path / "exports"
    settings.CARTOPARTY_TILE_DIR = tmp_path / "tiles"
    settings.MEDIA_ROOT = tmp_path / "media"
    party = PartyFactory(town=centre_town)
    other_party = PartyFactory(town=centre_town)
    other_town = TownFactory()
    resident = ResidentFactory(party=party)
    node = Node.objects.filter(town=centre_town, visible=True).exclude(tags={}).order_by("osm_id").first()
    revision = RevisionFactory(party=party, author=resident, idempotency_key="9f4c2a52-edit-key")
    users = {
        "anon": None,
        "res": resident,
        "ores": ResidentFactory(party=other_party),
        "agent": AgentFactory(town=centre_town),
        "oagent": AgentFactory(town=other_town),
        "staff": User.objects.create_user(
            "staff", password="staff-password-123", role=User.Role.STAFF, is_staff=True, is_superuser=True
        ),
    }
    job = Job.objects.create(town=centre_town, kind=Job.Kind.EXPORT, status=Job.Status.QUEUED)
    state = {"tags": {"amenity": "bench"}, "shape": [9.52, 47.14]}
    conflict = UpstreamConflict.objects.create(
        town=centre_town,
        element_type="node",
        element_id=node.osm_id,
        kind=UpstreamConflict.Kind.EDITED,
        base=state,
        local=state,
        upstream=state,
    )
    print_job = Job.objects.create(town=centre_town, kind=Job.Kind.PRINT, status=Job.Status.FAILED)
    pdf, png = tmp_path / "edition.pdf", tmp_path / "edition.png"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    edition = Edition.objects.create(
        town=centre_town,
        number=1,
        job=print_job,
        title="Edition",
        data_as_of=timezone.now(),
        file_path=str(pdf),
        preview_path=str(png),
    )
    world = World(centre_town, party, other_town, users, node, revision, job, conflict, print_job, edition)
    # A photo of the resident's edit (a tiny JPEG through the one writer): the photo routes' object.
    image = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 30)).save(image, "JPEG")
    world.photo = attach_photo(
        author=resident,
        party=party,
        edit_key=revision.idempotency_key,
        key="5b0c9c1e-3f0e-4c55-9b7a-0d2f1e6a7c11",
        upload=io.BytesIO(image.getvalue()),
        size=len(image.getvalue()),
    ).photo
    return world
