"""Photos attached to an edit: the upload contract, hostile files, EXIF, who sees them, and where they
never go (OSM exports)."""

from __future__ import annotations

import datetime as dt
import io
import random
import struct
import uuid
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from exports.services import build_export
from mapping.models import Photo, Revision
from review.services import accept_revision
from tests.factories import AgentFactory, PartyFactory, ResidentFactory, RevisionFactory, TownFactory

SERIAL = "SN-CAMERA-0042"


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def jpeg(size=(400, 200), *, exif: bool = False, orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1] // 4))  # a blue mark top-left
    out = io.BytesIO()
    data = image.getexif()
    if exif:
        data[0x010F] = "PhoneMaker"  # Make
        data[0x0110] = "Phone 12"  # Model
        data.get_ifd(0x8769)[0xA431] = SERIAL  # BodySerialNumber
        data.get_ifd(0x8769)[0x927C] = b"MAKERNOTE-SECRET"  # MakerNote
        gps = data.get_ifd(0x8825)
        gps[1], gps[2], gps[3], gps[4] = "N", (47.0, 8.0, 30.0), "E", (9.0, 31.0, 12.0)
    if orientation:
        data[0x0112] = orientation
    image.save(out, "JPEG", exif=data.tobytes(), quality=90)
    return out.getvalue()


def noisy_jpeg(size=(800, 600)) -> bytes:
    """A JPEG of noise: large (tens of kB), so cutting it in half really truncates the picture."""
    image = Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG announcing width x height pixels in a few bytes: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def edit(party):
    """A resident's saved edit with its idempotency key."""
    return RevisionFactory(
        party=party, author=ResidentFactory(party=party), idempotency_key=str(uuid.uuid4())
    )


def url(edit: Revision) -> str:
    return reverse(
        "mapping-api:party-edit-photos", kwargs={"party_id": edit.party_id, "edit_key": edit.idempotency_key}
    )


def upload(client, edit, content: bytes, *, key: str | None = None, name="photo.jpg", **extra):
    data = {
        "photo": SimpleUploadedFile(name, content, content_type="image/jpeg"),
        "key": key or str(uuid.uuid4()),
    }
    data.update(extra)
    return client.post(url(edit), data, HTTP_ACCEPT_LANGUAGE="en")


def test_photo_is_stored_in_two_sizes_without_exif_but_oriented(client, edit, media):
    client.force_login(edit.author)
    resp = upload(client, edit, jpeg((2400, 1200), exif=True, orientation=6))
    assert resp.status_code == 201, resp.content
    body = resp.json()
    photo = Photo.objects.get()
    assert body == {
        "id": photo.pk,
        "thumbnail": f"/photos/{photo.pk}/thumb.jpg",
        "display": f"/photos/{photo.pk}/display.jpg",
    }
    assert photo.revision == edit and photo.author == edit.author and photo.licence == ""
    assert len(stored_files(media)) == 2
    for size, longest in (("thumb", 320), ("display", 1600)):
        raw = client.get(body["thumbnail" if size == "thumb" else "display"]).content
        assert SERIAL.encode() not in raw and b"MAKERNOTE" not in raw and b"PhoneMaker" not in raw
        image = Image.open(io.BytesIO(raw))
        assert image.format == "JPEG"
        exif = image.getexif()
        assert not exif.get_ifd(0x8825) and not exif.get_ifd(0x8769) and 0x0110 not in exif
        # Orientation 6 (rotate 90°) applied: the landscape photo is stored upright, as portrait.
        assert image.size == (longest // 2, longest)
        assert exif.get(0x0112) in (None, 1)
        # The blue mark was top-left; turned a quarter clockwise it is top-right.
        r, g, b = image.convert("RGB").getpixel((image.width - 3, 3))
        assert b > 150 and r < 100


def test_same_key_twice_stores_one_photo(client, edit, media):
    client.force_login(edit.author)
    key = str(uuid.uuid4())
    first = upload(client, edit, jpeg(), key=key)
    again = upload(client, edit, jpeg((50, 50)), key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert Photo.objects.count() == 1 and len(stored_files(media)) == 2


@pytest.mark.parametrize(
    "content, name, message",
    [
        (png_header_only(30000, 30000), "bomb.png", "too many pixels"),
        (b"MZ\x90\x00 this is a program, not a photo" * 100, "holiday.jpg", "not a photo"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "icon.png", "not a photo"),
        (noisy_jpeg()[: len(noisy_jpeg()) // 2], "truncated.jpg", "damaged or incomplete"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "IMG_0001.HEIC", "HEIC"),
        (b"", "empty.jpg", "not a photo"),
    ],
    ids=["decompression bomb", "program named .jpg", "svg named .png", "truncated jpeg", "heic", "empty"],
)
def test_hostile_photos_are_refused_and_nothing_is_stored(client, edit, media, content, name, message):
    client.force_login(edit.author)
    resp = upload(client, edit, content, name=name)
    assert resp.status_code == 400, resp.content
    assert message in resp.json()["detail"]
    assert Photo.objects.count() == 0 and stored_files(media) == []


def test_truncated_photo_is_refused_even_after_weasyprint_allowed_truncated_images(client, edit, media):
    import weasyprint  # noqa: F401  (imported for its effect: it sets ImageFile.LOAD_TRUNCATED_IMAGES)
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True
    client.force_login(edit.author)
    whole = noisy_jpeg()
    resp = upload(client, edit, whole[: len(whole) // 2], name="cut.jpg")
    assert resp.status_code == 400 and "damaged or incomplete" in resp.json()["detail"]
    assert Photo.objects.count() == 0 and stored_files(media) == []


def test_pillow_bomb_guard_is_an_error_even_above_our_own_limit(client, edit, media, settings):
    """Were CARTOPARTY_PHOTO_MAX_PIXELS set very high, Pillow's DecompressionBombWarning still refuses."""
    settings.CARTOPARTY_PHOTO_MAX_PIXELS = 10**12
    client.force_login(edit.author)
    resp = upload(client, edit, png_header_only(12000, 12000), name="bomb.png")
    assert resp.status_code == 400 and "too many pixels" in resp.json()["detail"]
    assert Photo.objects.count() == 0 and stored_files(media) == []


def test_a_30_mb_file_is_refused_before_it_is_read(client, edit, media):
    client.force_login(edit.author)
    resp = upload(client, edit, b"\xff\xd8\xff" + b"\x00" * (30 * 1024 * 1024), name="big.jpg")
    assert resp.status_code == 413
    assert "too large" in resp.json()["detail"]
    assert Photo.objects.count() == 0 and stored_files(media) == []


def test_the_french_refusal_is_translated(client, edit):
    client.force_login(edit.author)
    resp = client.post(
        url(edit),
        {"photo": SimpleUploadedFile("x.jpg", b"not an image"), "key": str(uuid.uuid4())},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert resp.status_code == 400 and "photo" in resp.json()["detail"]
    assert "This file is not a photo" not in resp.json()["detail"]


def test_bad_key_licence_and_missing_file_are_400(client, edit):
    client.force_login(edit.author)
    assert upload(client, edit, jpeg(), key="not-a-uuid").status_code == 400
    assert upload(client, edit, jpeg(), licence="all-rights-reserved").status_code == 400
    assert client.post(url(edit), {"key": str(uuid.uuid4())}).status_code == 400
    assert Photo.objects.count() == 0


def test_photos_per_edit_are_limited(client, edit, settings):
    settings.CARTOPARTY_PHOTOS_PER_EDIT = 2
    client.force_login(edit.author)
    assert [upload(client, edit, jpeg((40, 40))).status_code for _ in range(3)] == [201, 201, 400]


def test_only_the_author_while_the_party_is_open(client, edit):
    party = edit.party
    other = ResidentFactory(party=party)
    client.force_login(other)
    assert upload(client, edit, jpeg()).status_code == 404  # no edit of *this* resident has that key
    client.force_login(AgentFactory(town=party.town))
    assert upload(client, edit, jpeg()).status_code == 403
    client.force_login(AgentFactory(town=TownFactory()))
    assert upload(client, edit, jpeg()).status_code == 404
    client.logout()
    assert upload(client, edit, jpeg()).status_code == 403
    client.force_login(edit.author)
    wrong = reverse("mapping-api:party-edit-photos", kwargs={"party_id": party.pk, "edit_key": "nope"})
    assert (
        client.post(
            wrong, {"photo": SimpleUploadedFile("a.jpg", jpeg()), "key": str(uuid.uuid4())}
        ).status_code
        == 404
    )
    party.ends_at = timezone.now() - dt.timedelta(minutes=1)
    party.save()
    assert upload(client, edit, jpeg()).status_code == 403
    assert Photo.objects.count() == 0


def test_who_sees_a_photo(client, edit):
    client.force_login(edit.author)
    thumb = upload(client, edit, jpeg()).json()["thumbnail"]
    assert client.get(thumb).status_code == 200
    assert client.get(thumb)["Cache-Control"].startswith("private")
    client.force_login(AgentFactory(town=edit.town))
    assert client.get(thumb).status_code == 200
    for someone in (ResidentFactory(party=edit.party), AgentFactory(town=TownFactory())):
        client.force_login(someone)
        assert client.get(thumb).status_code == 404
    client.logout()
    assert client.get(thumb).status_code == 404
    assert client.get(thumb.replace("thumb", "original")).status_code == 404


def test_licensed_photo_of_an_accepted_edit_is_public(client, edit):
    client.force_login(edit.author)
    thumb = upload(client, edit, jpeg(), licence="CC-BY-SA-4.0").json()["thumbnail"]
    client.logout()
    assert client.get(thumb).status_code == 404  # not yet reviewed
    open_data = reverse("exports:open-data", kwargs={"slug": edit.town.slug})
    assert thumb not in client.get(open_data).content.decode()
    accept_revision(edit, AgentFactory(town=edit.town))
    assert client.get(thumb).status_code == 200
    page = client.get(open_data).content.decode()
    assert thumb in page and "CC BY-SA 4.0" in page and edit.author.display_name in page


def test_open_data_lists_no_photo_without_a_licence(client, edit):
    client.force_login(edit.author)
    thumb = upload(client, edit, jpeg()).json()["thumbnail"]
    accept_revision(edit, AgentFactory(town=edit.town))
    client.logout()
    assert client.get(thumb).status_code == 404
    assert (
        thumb
        not in client.get(reverse("exports:open-data", kwargs={"slug": edit.town.slug})).content.decode()
    )


def test_review_page_and_my_contributions_show_the_photo(client, edit):
    client.force_login(edit.author)
    body = upload(client, edit, jpeg()).json()
    mine = client.get(reverse("review:my-contributions")).content.decode()
    assert body["thumbnail"] in mine and body["display"] in mine
    client.force_login(AgentFactory(town=edit.town))
    page = client.get(reverse("review:review-revision", args=[edit.pk])).content.decode()
    assert body["thumbnail"] in page and body["display"] in page
    assert "Photos from the contributor" in page
    api = client.get(f"/api/review/revisions/{edit.pk}/").json()
    assert api["photos"] == [body]


def test_party_gps_threshold_is_on_the_map_page(client, edit):
    party = edit.party
    party.gps_accuracy_m = 35
    party.save()
    client.force_login(edit.author)
    page = client.get(reverse("parties:map", kwargs={"party_id": party.pk})).content.decode()
    assert 'data-gps-accuracy="35"' in page and 'capture="environment"' in page


@pytest.mark.django_db
def test_osm_exports_never_carry_photos(centre_town, client, tmp_path, settings):
    settings.CARTOPARTY_EXPORT_DIR = tmp_path / "exports"
    party = PartyFactory(town=centre_town)
    edit = RevisionFactory(
        party=party, author=ResidentFactory(party=party), idempotency_key=str(uuid.uuid4())
    )
    accept_revision(edit, AgentFactory(town=centre_town))
    before = {}
    for fmt in ("osc", "osm"):
        build_export(centre_town, fmt, tmp_path / f"before.{fmt}")
        before[fmt] = (tmp_path / f"before.{fmt}").read_bytes()
    client.force_login(edit.author)
    assert upload(client, edit, jpeg(), licence="CC0-1.0").status_code == 201
    for fmt in ("osc", "osm"):
        build_export(centre_town, fmt, tmp_path / f"after.{fmt}")
        after = (tmp_path / f"after.{fmt}").read_bytes()
        assert after == before[fmt]
        assert b"photo" not in after.lower()
