"""Photos residents attach to their edits: checked, re-encoded without EXIF, stored, and shown.

``attach_photo`` is the one writer. A photo is refused (``PhotoRefused``, HTTP 400, nothing stored)
unless it is a JPEG, PNG or WebP by its content (never its name or declared type), within
``CARTOPARTY_PHOTO_MAX_BYTES`` and ``CARTOPARTY_PHOTO_MAX_PIXELS`` (checked from the header, before
anything is decoded: Pillow's decompression-bomb warning is an error here), and decodes completely
(a truncated file is refused, never padded). What is stored is two re-encoded JPEG copies, the
orientation applied and nothing else of the metadata kept (no GPS, camera serial or maker notes).
The uploaded bytes themselves are never stored.
"""

from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageFile, ImageOps

from core.errors import Invalid, NotAllowed, NotFound
from mapping.models import Photo, Revision
from parties.models import Party, User
from parties.permissions import is_agent_of

THUMBNAIL_PX = 320
DISPLAY_PX = 1600
SIZES = ("thumb", "display")
# Magic numbers of the accepted formats: what the file is, whatever it is called.
SIGNATURES = {"JPEG": (b"\xff\xd8\xff",), "PNG": (b"\x89PNG\r\n\x1a\n",)}


class PhotoRefused(Invalid):
    """The file is not a photo we keep (HTTP 400 with the reason); nothing was stored."""


@dataclass(frozen=True)
class PhotoResult:
    photo: Photo
    replayed: bool = False


def sniff(head: bytes) -> str | None:
    """The image format the first bytes announce ("JPEG", "PNG", "WEBP"), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for fmt, magics in SIGNATURES.items():
        if any(head.startswith(m) for m in magics):
            return fmt
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "HEIC"
    return None


def _refuse_unreadable() -> PhotoRefused:
    return PhotoRefused(_("This photo could not be read: the file is damaged or incomplete. Take it again."))


def decode(stream: IO[bytes], size: int) -> Image.Image:
    """The photo decoded, its orientation applied, or PhotoRefused with the reason."""
    limit = settings.CARTOPARTY_PHOTO_MAX_BYTES
    if size > limit:
        raise PhotoRefused(_("This photo is too large (at most %(mb)d MB).") % {"mb": limit // (1024 * 1024)})
    fmt = sniff(stream.read(16))
    stream.seek(0)
    if fmt == "HEIC":
        raise PhotoRefused(
            _("HEIC photos are not accepted: choose JPEG (“Most compatible”) in the camera settings.")
        )
    if fmt is None:
        raise PhotoRefused(_("This file is not a photo: send a JPEG, PNG or WebP image."))
    max_pixels = settings.CARTOPARTY_PHOTO_MAX_PIXELS
    # WeasyPrint (the join poster) turns this on for the whole process when it is imported: a
    # truncated photo would then be padded with grey and kept. Photos must decode to the end.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(stream, formats=[fmt])
            width, height = opened.size
            if width * height > max_pixels or width < 1 or height < 1:
                raise PhotoRefused(
                    _("This photo has too many pixels (at most %(mp)d million).")
                    % {"mp": max_pixels // 1_000_000}
                )
            if fmt == "JPEG":
                # libjpeg decodes at 1/2, 1/4 or 1/8 scale when that still covers the display size:
                # a 12-megapixel photo costs half the time (every byte is still read: a truncated
                # file is still refused).
                scale = DISPLAY_PX / max(width, height)
                opened.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRefused(
            _("This photo has too many pixels (at most %(mp)d million).") % {"mp": max_pixels // 1_000_000}
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError, TypeError, IndexError, KeyError) as exc:
        raise _refuse_unreadable() from exc
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white (transparent PNGs), as JPEG stores it."""
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def encode(image: Image.Image, longest: int, quality: int) -> bytes:
    """A JPEG at most ``longest`` px on its longest side, with no metadata at all."""
    copy = _flatten(image)
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def _check_key(key: str) -> str:
    try:
        return str(uuid.UUID(str(key)))
    except (ValueError, AttributeError) as exc:
        raise Invalid(_("The photo's key must be a UUID.")) from exc


def _check_author(author: User, party: Party) -> None:
    if not (
        getattr(author, "is_authenticated", False)
        and author.role == User.Role.RESIDENT
        and author.party_id == party.pk
    ):
        raise NotAllowed(_("Only the author of an edit can add photos to it."))
    now = timezone.now()
    if not party.starts_at <= now <= party.ends_at:
        raise NotAllowed(_("This party is not open: photos can no longer be added."))


@transaction.atomic
def attach_photo(
    *,
    author: User,
    party: Party,
    edit_key: str,
    key: str,
    upload: IO[bytes] | None,
    size: int,
    licence: str = "",
) -> PhotoResult:
    """Store a photo of the author's edit saved with ``edit_key`` (its idempotency key).

    Raises NotAllowed (403: not the author, party closed), NotFound (404: no edit of the author has
    that key), Invalid / PhotoRefused (400). The same ``key`` again returns the photo stored the
    first time (``replayed``), whatever the file: nothing is stored twice.
    """
    _check_author(author, party)
    revision = Revision.objects.filter(author=author, party=party, idempotency_key=edit_key).first()
    if revision is None:
        raise NotFound(_("You have no edit with this key in this party."))
    key = _check_key(key)
    existing = Photo.objects.filter(author=author, key=key).first()
    if existing is not None:
        return PhotoResult(existing, replayed=True)
    if licence not in Photo.Licence.values:
        raise Invalid(_("Unknown licence."))
    if upload is None:
        raise PhotoRefused(_("Choose a photo to send."))
    if revision.photos.count() >= settings.CARTOPARTY_PHOTOS_PER_EDIT:
        raise PhotoRefused(
            _("An edit has at most %(n)d photos.") % {"n": settings.CARTOPARTY_PHOTOS_PER_EDIT}
        )
    image = decode(upload, size)
    stem = f"photos/{party.town_id}/{uuid.uuid4().hex}"
    names: list[str] = []
    try:
        names.append(default_storage.save(f"{stem}-t.jpg", ContentFile(encode(image, THUMBNAIL_PX, 78))))
        names.append(default_storage.save(f"{stem}-d.jpg", ContentFile(encode(image, DISPLAY_PX, 85))))
        with transaction.atomic():
            photo = Photo.objects.create(
                town_id=party.town_id,
                revision=revision,
                author=author,
                key=key,
                thumbnail=names[0],
                display=names[1],
                width=image.width,
                height=image.height,
                licence=licence,
            )
    except IntegrityError:
        _delete(names)
        existing = Photo.objects.filter(author=author, key=key).first()
        if existing is None:
            raise
        return PhotoResult(existing, replayed=True)
    except BaseException:
        _delete(names)
        raise
    return PhotoResult(photo)


def _delete(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def can_see(user: Any, photo: Photo) -> bool:
    """The author and the town's agents; anyone once the edit is accepted under an open licence."""
    if photo.licence and photo.revision.status == Revision.Status.ACCEPTED:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(photo.author_id == user.pk or is_agent_of(user, photo.town))


def open_file(user: Any, photo_id: int, size: str) -> IO[bytes]:
    """The stored file of one size of a photo the user may see; NotFound otherwise (never 403: a
    photo's existence is not told to those who may not see it)."""
    photo = Photo.objects.select_related("revision", "town").filter(pk=photo_id).first()
    if photo is None or size not in SIZES or not can_see(user, photo):
        raise NotFound(_("No such photo."))
    return default_storage.open(photo.thumbnail if size == "thumb" else photo.display, "rb")


def licensed(town_id: int) -> QuerySet[Photo]:
    """Photos anyone may reuse: of accepted edits, under the licence their author chose."""
    return Photo.objects.filter(
        ~Q(licence=""), town_id=town_id, revision__status=Revision.Status.ACCEPTED
    ).select_related("revision", "author")
