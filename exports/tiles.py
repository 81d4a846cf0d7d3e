"""Base tiles: ``/tiles/{z}/{x}/{y}.png`` (256 px) and ``@2x`` (512 px), drawn with the print style.

Tiles are global (every town's published data): the map pages of all towns share one URL template
and one cache, and towns never overlap in practice. A tile is rendered once by Mapnik from PostGIS
and kept on disk under ``settings.CARTOPARTY_TILE_DIR/{z}/{x}/{y}[@2x].png``; an accepted edit
deletes exactly the cached tiles whose area (plus the style's label margin) meets the edit's bbox
(:func:`invalidate_bbox`, called on ``mapping.signals.published_change``).

Thread safety: Mapnik maps are not shareable between threads, so each thread (gunicorn gthread
worker or Django dev server thread) keeps its own ``mapnik.Map`` per tile size.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import connection

from core.errors import Invalid, NotFound, Unavailable
from exports.printing import sources, style

MAX_ZOOM = 19
TILE_SIZE = 256
HALF_WORLD = 20037508.342789244
# Labels, icons and wide roads drawn near an edit can spill this many pixels into neighbour tiles.
LABEL_MARGIN_PX = 64
# Tiles showing nothing remembered per process (keys only: ~100 bytes each).
NOTHING_TILES_REMEMBERED = 50_000
logger = logging.getLogger(__name__)
_local = threading.local()


class BadTile(Invalid):
    """Coordinates that are not numbers (400)."""


class NoSuchTile(NotFound):
    """Coordinates outside the tile pyramid (404)."""


class RenderFailed(Unavailable):
    """Mapnik could not read the database for this tile (a connection lost to a restart, a lock
    given up): 503 with Retry-After. Mapnik's pool drops the dead connection, so the next try
    renders again."""


def parse_tile(z: str, x: str, y: str) -> tuple[int, int, int]:
    """Validate tile coordinates: non-numbers raise BadTile, out-of-range ones NoSuchTile."""
    try:
        zi, xi, yi = int(z), int(x), int(y)
    except (TypeError, ValueError):
        raise BadTile("Tile coordinates must be integers.") from None
    if not 0 <= zi <= MAX_ZOOM:
        raise NoSuchTile(f"Zoom must be between 0 and {MAX_ZOOM}.")
    n = 1 << zi
    if not (0 <= xi < n and 0 <= yi < n):
        raise NoSuchTile("Tile outside the map.")
    return zi, xi, yi


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of a tile in EPSG:3857."""
    size = 2 * HALF_WORLD / (1 << z)
    return (
        -HALF_WORLD + x * size,
        HALF_WORLD - (y + 1) * size,
        -HALF_WORLD + (x + 1) * size,
        HALF_WORLD - y * size,
    )


def lonlat_to_mercator(lon: float, lat: float) -> tuple[float, float]:
    lat = max(-85.0511287798, min(85.0511287798, lat))
    return (
        math.radians(lon) * 6378137.0,
        math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * 6378137.0,
    )


def tiles_for_bbox(bbox: tuple[float, float, float, float], z: int, margin_px: int = 0):
    """Tile (x, y) ranges at ``z`` whose area, grown by ``margin_px``, meets the lon/lat bbox."""
    west, south, east, north = bbox
    x0, y0 = lonlat_to_mercator(west, south)
    x1, y1 = lonlat_to_mercator(east, north)
    size = 2 * HALF_WORLD / (1 << z)
    margin = margin_px * size / TILE_SIZE
    n = 1 << z

    def col(v: float) -> int:
        return min(n - 1, max(0, math.floor((v + HALF_WORLD) / size)))

    def row(v: float) -> int:
        return min(n - 1, max(0, math.floor((HALF_WORLD - v) / size)))

    return range(col(x0 - margin), col(x1 + margin) + 1), range(row(y1 + margin), row(y0 - margin) + 1)


def tile_path(z: int, x: int, y: int, retina: bool) -> Path:
    return Path(settings.CARTOPARTY_TILE_DIR) / str(z) / str(x) / f"{y}{'@2x' if retina else ''}.png"


def _generation_file() -> Path:
    return Path(settings.CARTOPARTY_TILE_DIR) / ".generation"


def _generation() -> int:
    try:
        return _generation_file().stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _thread_map(retina: bool):
    """This thread's mapnik.Map for the current database (tests switch to the test database)."""
    key = (connection.settings_dict["NAME"], retina)
    maps = getattr(_local, "maps", None)
    if maps is None:
        maps = _local.maps = {}
    if key not in maps:
        size = TILE_SIZE * (2 if retina else 1)
        m = sources.new_map(size, size)
        try:
            sources.attach_postgis(m, town_id=None, lang="")
        except RuntimeError as exc:  # the datasource's set-up query: a lock given up, no connection
            logger.warning("tile map not built: %s", exc)
            raise RenderFailed(retry_after=2) from exc
        maps[key] = m
    return maps[key]


@cache
def _paper_pixel() -> int:
    """The map's background colour as Mapnik reads an image pixel."""
    import mapnik

    image = mapnik.Image(1, 1)
    image.fill(mapnik.Color(style.PAPER))
    return image.get_pixel(0, 0)


def render_tile(z: int, x: int, y: int, retina: bool = False) -> tuple[bytes, bool]:
    """Draw one tile: (PNG bytes, True when it shows nothing: bare paper, no data).

    A tile of one colour that is not the paper (inside a forest, a lake, a big field) shows data:
    it is cached like any other (it used to be redrawn on every request).
    """
    import mapnik

    m = _thread_map(retina)
    m.zoom_to_box(mapnik.Box2d(*tile_bounds(z, x, y)))
    image = mapnik.Image(m.width, m.height)
    try:
        mapnik.render(m, image, 2.0 if retina else 1.0)
    except RuntimeError as exc:  # Mapnik's PostGIS plugin: the only errors it raises are its queries'
        logger.warning("tile %s/%s/%s not rendered: %s", z, x, y, exc)
        raise RenderFailed(retry_after=2) from exc
    nothing = image.is_solid() and image.get_pixel(0, 0) == _paper_pixel()
    return image.to_string("png256:z=6"), nothing


def _body_etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'


def cached_tile(z: int, x: int, y: int, retina: bool = False) -> tuple[bytes, str] | None:
    """The cached tile's PNG and ETag, or None when it is not cached.

    The hot path of every map: one open, one fstat of the open file and one read (no stat of the
    path first, no database, no Mapnik). The ETag comes from the same fstat as the body, so a tile
    replaced in between cannot be served with the other version's ETag.
    """
    try:
        fh = open(tile_path(z, x, y, retina), "rb")  # noqa: SIM115 (closed below; fstat needs the fd)
    except FileNotFoundError:
        return None
    with fh:
        st = os.fstat(fh.fileno())
        return fh.read(), _stat_etag(st)


class _NothingTiles:
    """Tiles known to show nothing (bare paper), remembered in memory for one cache generation.

    They are never written to disk (crawling the empty world must not fill it), but drawing one
    again on every request cost a render each time (~5–50 ms: a town's bare corners at z15–z17).
    Every such tile of one size has the same bytes, kept once. The memory is per process, bounded
    (least recently used keys go first), and forgotten as soon as the generation marker moves,
    i.e. after any invalidation in any process: an edit that maps something there is drawn.
    """

    def __init__(self, size: int):
        self.size = size
        self.lock = threading.Lock()
        self.generation: tuple | None = None
        self.keys: OrderedDict[tuple[int, int, int, bool], None] = OrderedDict()
        self.bodies: dict[bool, tuple[bytes, str]] = {}

    @staticmethod
    def generation_now() -> tuple:
        """What the memory is valid for: this cache directory and database, this generation."""
        return settings.CARTOPARTY_TILE_DIR, connection.settings_dict["NAME"], _generation()

    def get(self, key: tuple[int, int, int, bool]) -> tuple[bytes, str] | None:
        generation = self.generation_now()
        with self.lock:
            if generation != self.generation:
                self.generation = generation
                self.keys.clear()
                return None
            if key not in self.keys:
                return None
            self.keys.move_to_end(key)
            return self.bodies[key[3]]

    def remember(self, key: tuple[int, int, int, bool], body: bytes, generation: tuple) -> tuple[bytes, str]:
        with self.lock:
            answer = self.bodies.setdefault(key[3], (body, _body_etag(body)))
            if generation == self.generation:
                self.keys[key] = None
                if len(self.keys) > self.size:
                    self.keys.popitem(last=False)
            return answer


_nothing = _NothingTiles(NOTHING_TILES_REMEMBERED)


def get_tile(z: int, x: int, y: int, retina: bool = False) -> tuple[bytes, str]:
    """The tile's PNG and its ETag, rendered and cached first if needed.

    A tile rendered while an edit was being invalidated is served but not cached (the generation
    marker moved), so the cache never keeps a tile drawn before an invalidation.
    """
    cached = cached_tile(z, x, y, retina)
    if cached is not None:
        return cached
    key = (z, x, y, retina)
    known = _nothing.get(key)
    if known is not None:
        return known
    path = tile_path(z, x, y, retina)
    generation = _nothing.generation_now()
    body, nothing = render_tile(z, x, y, retina)
    if nothing:
        return _nothing.remember(key, body, generation)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tile-", suffix=".png")
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
        st = os.fstat(fh.fileno())
    if _nothing.generation_now() != generation:
        os.unlink(tmp)
        return body, _body_etag(body)
    os.replace(tmp, path)  # the same inode: its mtime and size make the ETag cached_tile gives later
    return body, _stat_etag(st)


def tile_etag(z: int, x: int, y: int, retina: bool = False) -> str | None:
    """The ETag of a cached tile (None when not cached): lets a 304 skip reading the file."""
    try:
        return _stat_etag(os.stat(tile_path(z, x, y, retina)))
    except FileNotFoundError:
        return None


def _stat_etag(st: os.stat_result) -> str:
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


def invalidate_bbox(bbox: tuple[float, float, float, float]) -> int:
    """Delete the cached tiles (both sizes, every zoom) that show anything inside ``bbox``; returns how many.

    A small box (an edit) tries its few tile paths; a large one (an import: a whole town, up to
    millions of tile positions at z19) walks the cache directories instead, so the cost follows
    the tiles actually cached, not the area.
    """
    marker = _generation_file()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    deleted = 0
    for z in range(MAX_ZOOM + 1):
        xs, ys = tiles_for_bbox(bbox, z, LABEL_MARGIN_PX)
        column_dir = Path(settings.CARTOPARTY_TILE_DIR) / str(z)
        if not column_dir.exists():
            continue
        if len(xs) * len(ys) > 256:
            deleted += _delete_cached_in(column_dir, xs, ys)
            continue
        for x in xs:
            if not (column_dir / str(x)).exists():
                continue
            for y in ys:
                for retina in (False, True):
                    try:
                        tile_path(z, x, y, retina).unlink()
                        deleted += 1
                    except FileNotFoundError:
                        pass
    return deleted


def _delete_cached_in(column_dir: Path, xs: range, ys: range) -> int:
    """Delete the cached tiles of one zoom's directory whose column is in ``xs`` and row in ``ys``."""
    deleted = 0
    with os.scandir(column_dir) as columns:
        for column in columns:
            if not (column.name.isdigit() and int(column.name) in xs):
                continue
            with os.scandir(column.path) as files:
                for tile in files:
                    row = tile.name.split("@")[0].split(".")[0]
                    if row.isdigit() and int(row) in ys:
                        try:
                            os.unlink(tile.path)
                            deleted += 1
                        except FileNotFoundError:
                            pass
    return deleted


def on_published_change(sender, town=None, bbox=None, **kwargs) -> None:
    """Receiver of mapping.signals.published_change (connected in ExportsConfig.ready)."""
    if bbox:
        invalidate_bbox(tuple(bbox))
