"""Published map data per tile, cached and invalidated exactly by ``published_change``.

Why tiles: a viewer panning the map used to send an arbitrary bbox, so every request was a fresh
PostGIS query; on a 2-core machine ~180 of them per second is the ceiling, and a busy evening offers
more. Tile-aligned requests repeat, so their answers can be shared by every viewer from the cache.

The grid is the usual Web Mercator one (``z/x/y``, y down, as the base tiles), with 512-pixel tiles
as vector tiles often are: tile ``z/x/y`` covers the area of the 256-pixel tile ``z/x/y`` and holds
the data of map zoom ``z + 1`` (its :attr:`Tile.detail_zoom`). A phone screen then needs 2-4 tiles
rather than 4-12, and a tile is hardly heavier (the town's boundaries, in every tile, are most of
its weight). Tiles exist from zoom 0 to :data:`MAX_TILE_ZOOM` = 15, whose detail is map zoom 16:
from there on the map shows every feature unsimplified (``mapping.selectors._zoom_filter``), so all
closer views share the zoom-15 tiles. A tile's body is exactly
:func:`mapping.selectors.features_geojson_for_town` for the tile's bbox at its detail zoom: features
crossing a tile edge are in every tile they touch (whole, not clipped; the page keeps one copy per id).

Cache (Django's cache: Redis in production, shared by every worker):
  * ``cp:ft:b:<slug>:<z>:<x>:<y>`` holds the answer with the version tokens it was built under;
  * ``cp:ft:v:<slug>:<z>:<x>:<y>`` holds the tile's current version token, ``cp:ft:g:<slug>`` the
    town's generation token. One ``get_many`` of the three keys serves a cached tile.
Invalidation deletes the version keys of exactly the tiles, at every data zoom, whose area meets
the changed bbox (or the generation key when a bbox spans too many tiles). The next reader mints a
new random token, so an answer built before the change can never match again, even one a slow
reader stores after the invalidation (it carries the old token). Tokens are random, never
counters, so a version key evicted by the cache cannot bring an old answer back either.
Answers expire after :data:`CACHE_SECONDS` anyway: a change that sends no ``published_change``
(a re-import today) shows within that time.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import re
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from mapping.selectors import BadRequest, BBox, TooManyFeatures, features_geojson_for_town
from parties.models import Town

MAX_TILE_ZOOM = 15  # its detail zoom, 16, shows every feature unsimplified
CACHE_SECONDS = 3600
# A bbox touching more tiles than this at one zoom (a whole-town change) renews the town's generation.
MAX_TILES_PER_ZOOM = 4096
# PostGIS compares float4 bounding boxes (rounded outwards): a feature this close to a tile edge may
# be in the neighbour tile too, so invalidation takes a margin (~1 m).
EDGE_MARGIN_DEGREES = 1e-5
MAX_LATITUDE = 85.0511287798
BUILD_WAIT_SECONDS = 2
_INTEGER = re.compile(r"[0-9]{1,9}")


class NoSuchTown(LookupError):
    """No town has this slug (404)."""


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    @classmethod
    def parse(cls, z: str, x: str, y: str) -> Tile:
        """Validate URL coordinates; raises BadRequest with the reason (400)."""
        if not all(_INTEGER.fullmatch(str(v)) for v in (z, x, y)):
            raise BadRequest(_("Tile coordinates must be whole numbers: zoom/x/y."))
        tile = cls(int(z), int(x), int(y))
        if tile.z > MAX_TILE_ZOOM:
            raise BadRequest(
                _("Map data tiles go up to zoom %(max)s: closer views use the zoom %(max)s tiles.")
                % {"max": MAX_TILE_ZOOM}
            )
        n = 1 << tile.z
        if tile.x >= n or tile.y >= n:
            raise BadRequest(
                _("At zoom %(z)s, x and y go from 0 to %(last)s.") % {"z": tile.z, "last": n - 1}
            )
        return tile

    @property
    def detail_zoom(self) -> int:
        """The map zoom whose data (filter, simplification) the 512-pixel tile holds."""
        return self.z + 1

    def bbox(self) -> BBox:
        """The tile's area in degrees (west, south, east, north)."""
        n = 1 << self.z

        def lat(row: int) -> float:
            return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

        return BBox(self.x / n * 360 - 180, lat(self.y + 1), (self.x + 1) / n * 360 - 180, lat(self.y))


def tile_zoom(zoom: int) -> int:
    """The zoom of the data tiles a map at ``zoom`` shows."""
    return max(0, min(zoom - 1, MAX_TILE_ZOOM))


def tile_ranges(bbox: tuple[float, float, float, float], z: int) -> tuple[range, range]:
    """Columns and rows of the tiles at ``z`` whose area meets the lon/lat ``bbox`` (with the edge margin)."""
    west, south, east, north = bbox
    n = 1 << z

    def col(lon: float) -> int:
        return min(n - 1, max(0, math.floor((lon + 180) / 360 * n)))

    def row(lat: float) -> int:
        lat = math.radians(max(-MAX_LATITUDE, min(MAX_LATITUDE, lat)))
        return min(n - 1, max(0, math.floor((1 - math.asinh(math.tan(lat)) / math.pi) / 2 * n)))

    m = EDGE_MARGIN_DEGREES
    return range(col(west - m), col(east + m) + 1), range(row(north + m), row(south - m) + 1)


# ---------------------------------------------------------------- the cache


def _generation_key(slug: str) -> str:
    return f"cp:ft:g:{slug}"


def _version_key(slug: str, tile: Tile) -> str:
    return f"cp:ft:v:{slug}:{tile.z}:{tile.x}:{tile.y}"


def _body_key(slug: str, tile: Tile) -> str:
    return f"cp:ft:b:{slug}:{tile.z}:{tile.x}:{tile.y}"


def _mint(key: str) -> str:
    """A new random token for a missing version key (atomically: add, else read the winner's)."""
    token = None
    while token is None:
        fresh = secrets.token_hex(8)
        token = fresh if cache.add(key, fresh, CACHE_SECONDS * 2) else cache.get(key)
    return token


@dataclass(frozen=True)
class TileAnswer:
    """A tile's GeoJSON, gzipped (``gzipped``, with its ``etag``), or None when over the feature cap.

    Kept compressed: a zoom-16 tile is ~150 kB of GeoJSON (the town's boundaries cross every tile)
    and ~5x less gzipped, which is what browsers ask for; the cache moves and holds the small form.
    """

    gzipped: bytes | None
    etag: str

    @property
    def too_many(self) -> bool:
        return self.gzipped is None

    def body(self) -> bytes:
        """The GeoJSON itself, for a client that does not take gzip (not for a tile with too many)."""
        assert self.gzipped is not None  # the view answers too_many before asking for the body
        return gzip.decompress(self.gzipped)


def feature_tile(slug: str, tile: Tile) -> TileAnswer:
    """The published features of town ``slug`` in ``tile``, from the cache or built and cached.

    A cached tile costs one cache round trip and no database query (the town is looked up only on a
    miss). Raises NoSuchTown. Over ``CARTOPARTY_MAX_FEATURES`` features the answer is "too many"
    (cached too: crowded tiles stay crowded until data changes).
    """
    gen_key, ver_key, body_key = _generation_key(slug), _version_key(slug, tile), _body_key(slug, tile)
    got = cache.get_many([gen_key, ver_key, body_key])
    cap = settings.CARTOPARTY_MAX_FEATURES
    cached = got.get(body_key)
    if cached is not None and cached[0] == (got.get(gen_key), got.get(ver_key), cap):
        return cached[1]
    town = Town.objects.filter(slug=slug).only("pk").first()
    if town is None:  # checked before minting tokens: unknown slugs leave nothing in the cache
        raise NoSuchTown(slug)
    stamp = (got.get(gen_key) or _mint(gen_key), got.get(ver_key) or _mint(ver_key), cap)
    # One build per tile version: when many viewers ask for the same missing tile at once (a cold
    # start, a tile just changed), the others wait for the first one's answer instead of running
    # the same query side by side. They stop waiting when the builder is done (or gone, at worst
    # after BUILD_WAIT_SECONDS).
    build_key = f"{body_key}:building:{stamp[0]}:{stamp[1]}"
    builder = cache.add(build_key, 1, BUILD_WAIT_SECONDS)
    if not builder:
        deadline = time.monotonic() + BUILD_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.02)
            got = cache.get_many([body_key, build_key])
            if body_key in got and got[body_key][0] == stamp:
                return got[body_key][1]
            if build_key not in got:
                break
    try:
        return _build(town, tile, stamp, body_key)
    finally:
        if builder:
            cache.delete(build_key)


def _build(town: Town, tile: Tile, stamp: tuple, body_key: str) -> TileAnswer:
    try:
        body = features_geojson_for_town(town, tile.bbox(), tile.detail_zoom, stamp[2]).encode()
    except TooManyFeatures:
        answer = TileAnswer(None, "")
    else:
        # A weak ETag: the gzipped and the plain answers are the same data.
        etag = 'W/"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        answer = TileAnswer(gzip.compress(body, compresslevel=6, mtime=0), etag)
    cache.set(body_key, (stamp, answer), CACHE_SECONDS)
    return answer


def invalidate_bbox(slug: str, bbox: tuple[float, float, float, float]) -> int:
    """Forget the cached tiles of town ``slug``, at every data zoom, whose area meets ``bbox``.

    Returns the number of tile versions dropped (or -1 when the whole town's generation moved).
    """
    keys = []
    for z in range(MAX_TILE_ZOOM + 1):
        xs, ys = tile_ranges(bbox, z)
        if len(xs) * len(ys) > MAX_TILES_PER_ZOOM:
            invalidate_town(slug)
            return -1
        keys += [_version_key(slug, Tile(z, x, y)) for x in xs for y in ys]
    cache.delete_many(keys)
    return len(keys)


def invalidate_town(slug: str) -> None:
    """Forget every cached tile of town ``slug``."""
    cache.delete(_generation_key(slug))


def on_published_change(sender, town: Town | None = None, bbox=None, **kwargs) -> None:
    """Receiver of mapping.signals.published_change (sent after commit; connected in MappingConfig.ready)."""
    if town is None:
        return
    if bbox:
        invalidate_bbox(town.slug, tuple(bbox))
    else:
        invalidate_town(town.slug)
