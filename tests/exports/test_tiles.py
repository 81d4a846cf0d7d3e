"""Base tiles: rendered from PostGIS with the print style, cached, invalidated by accepted edits."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image

from exports import tiles
from mapping.store import apply_change, next_local_id
from tests.factories import TownFactory

VADUZ = (9.5215, 47.1395)  # lon, lat: Städtle


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture(autouse=True)
def tile_dir(settings, tmp_path):
    settings.CARTOPARTY_TILE_DIR = tmp_path / "tiles"
    return settings.CARTOPARTY_TILE_DIR


def picture(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image.convert("RGB")


def test_tile_over_vaduz_is_a_real_map(client, vaduz, tile_dir):
    """A z16 tile over Vaduz is a PNG with many colours (roads, buildings, labels), cached on disk."""
    x, y = tile_xy(*VADUZ, 16)
    response = client.get(f"/tiles/16/{x}/{y}.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "max-age" in response["Cache-Control"]
    image = picture(response.content)
    assert image.size == (256, 256)
    assert len(image.getcolors(maxcolors=65536) or []) > 20
    assert (tile_dir / "16" / str(x) / f"{y}.png").exists()


def test_retina_tile_is_512_pixels(client, vaduz):
    x, y = tile_xy(*VADUZ, 15)
    response = client.get(f"/tiles/15/{x}/{y}@2x.png")
    assert response.status_code == 200
    assert picture(response.content).size == (512, 512)


def test_cached_tile_answers_304_to_its_etag(client, vaduz):
    x, y = tile_xy(*VADUZ, 14)
    first = client.get(f"/tiles/14/{x}/{y}.png")
    second = client.get(f"/tiles/14/{x}/{y}.png", HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 304
    assert second["ETag"] == first["ETag"]


def test_cached_tile_is_one_file_read_with_no_query_no_session_and_no_render(
    client, vaduz, monkeypatch, django_assert_num_queries
):
    """The hot path of every map: a cached tile is read from disk, nothing else (even for a signed-in
    user's browser sending its session cookie), and browsers may keep it a minute."""
    x, y = tile_xy(*VADUZ, 15)
    first = client.get(f"/tiles/15/{x}/{y}.png")
    assert first.status_code == 200
    client.cookies["sessionid"] = "a-session-the-tile-never-looks-up"

    def no_render(*args, **kwargs):
        raise AssertionError("a cached tile must not be rendered again")

    monkeypatch.setattr(tiles, "render_tile", no_render)
    with django_assert_num_queries(0):
        again = client.get(f"/tiles/15/{x}/{y}.png")
        revalidated = client.get(f"/tiles/15/{x}/{y}.png", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == "public, max-age=60"
    assert "Cookie" not in again.get("Vary", "") and "sessionid" not in again.cookies
    assert revalidated.status_code == 304 and revalidated.content == b""
    assert again["Server-Timing"].startswith("tile;dur=")


def test_a_tile_replaced_on_disk_gets_a_new_etag(client, vaduz, tile_dir):
    """An invalidated and redrawn tile has another ETag, so a browser's copy is not kept by mistake."""
    x, y = tile_xy(*VADUZ, 16)
    first = client.get(f"/tiles/16/{x}/{y}.png")
    tiles.invalidate_bbox((9.52, 47.139, 9.523, 47.141))
    redrawn = client.get(f"/tiles/16/{x}/{y}.png", HTTP_IF_NONE_MATCH=first["ETag"])
    assert redrawn.status_code == 200 and redrawn["ETag"] != first["ETag"]
    assert client.get(f"/tiles/16/{x}/{y}.png")["ETag"] == redrawn["ETag"]  # from the cache now


def test_empty_tile_is_served_but_not_written(client, db, tile_dir):
    """A tile of the empty world (mid-Atlantic) is plain background and is not cached on disk."""
    response = client.get("/tiles/10/400/380.png")
    assert response.status_code == 200
    assert len(picture(response.content).getcolors()) == 1
    assert not tiles.tile_path(10, 400, 380, False).exists()


def test_a_tile_showing_nothing_is_drawn_once_then_remembered_until_an_invalidation(
    client, db, tile_dir, monkeypatch
):
    """Bare tiles are not written to disk, but neither are they drawn again on every request."""
    drawn = []
    real = tiles.render_tile
    monkeypatch.setattr(tiles, "render_tile", lambda *args: drawn.append(args) or real(*args))
    first = client.get("/tiles/10/401/380.png")
    again = client.get("/tiles/10/401/380.png")
    assert again.status_code == 200 and again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert len(drawn) == 1 and not tiles.tile_path(10, 401, 380, False).exists()
    tiles.invalidate_bbox((-40.0, 30.0, -39.9, 30.1))  # an edit anywhere: the memory is forgotten
    client.get("/tiles/10/401/380.png")
    assert len(drawn) == 2


def test_a_tile_inside_a_forest_is_one_colour_and_still_cached(client, vaduz, tile_dir):
    """Inside the forest above Vaduz a z17 tile is one flat green: it shows data, so it is cached
    (only bare paper counts as "nothing")."""
    response = client.get("/tiles/17/69005/46021.png")
    assert response.status_code == 200
    colours = picture(response.content).getcolors()
    assert len(colours) == 1 and colours[0][1] != (0xF4, 0xF1, 0xEA)  # not the paper
    assert tiles.tile_path(17, 69005, 46021, False).exists()


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/tiles/a/1/1.png", 400),
        ("/tiles/3/x/1.png", 400),
        ("/tiles/3/1/1.5.png", 400),
        ("/tiles/20/0/0.png", 404),
        ("/tiles/-1/0/0.png", 404),
        ("/tiles/2/4/0.png", 404),
        ("/tiles/2/0/4.png", 404),
        ("/tiles/2/-1/0.png", 404),
    ],
)
def test_bad_tile_coordinates_are_refused(client, db, url, status):
    assert client.get(url).status_code == status


def _mercator_box(z: int, x: int, y: int, margin_px: int) -> tuple[float, float, float, float]:
    size = 2 * tiles.HALF_WORLD / 2**z
    m = margin_px * size / 256
    x0 = -tiles.HALF_WORLD + x * size
    y1 = tiles.HALF_WORLD - y * size
    return x0 - m, y1 - size - m, x0 + size + m, y1 + m


def test_accepted_edit_invalidates_exactly_the_tiles_it_touches(
    db, tile_dir, django_capture_on_commit_callbacks
):
    """Seeded tiles around a new point: those showing it (with the label margin) go, the rest stay."""
    town = TownFactory()
    lon, lat = 9.52101, 47.14003
    seeded = []
    for z in range(12, 20):
        cx, cy = tile_xy(lon, lat, z)
        for dx in range(-2, 3):
            for dy in range(-2, 3):
                for retina in (False, True):
                    path = tiles.tile_path(z, cx + dx, cy + dy, retina)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(b"png")
                    seeded.append((z, cx + dx, cy + dy, path))
    far = tiles.tile_path(16, 0, 0, False)
    far.parent.mkdir(parents=True, exist_ok=True)
    far.write_bytes(b"png")

    with django_capture_on_commit_callbacks(execute=True):
        apply_change(
            town=town,
            element_type="node",
            element_id=next_local_id(),
            action="create",
            after={"tags": {"amenity": "bench"}, "geometry": {"type": "Point", "coordinates": [lon, lat]}},
            base_version=None,
        )

    px, py = tiles.lonlat_to_mercator(lon, lat)
    for z, x, y, path in seeded:
        x0, y0, x1, y1 = _mercator_box(z, x, y, tiles.LABEL_MARGIN_PX)
        shows_edit = x0 <= px <= x1 and y0 <= py <= y1
        assert path.exists() != shows_edit, (z, x, y)
    assert far.exists()
    # The tile holding the point is gone at every zoom, and tiles two columns away survive at z19.
    assert not tiles.tile_path(19, *tile_xy(lon, lat, 19), False).exists()
    cx, cy = tile_xy(lon, lat, 19)
    assert tiles.tile_path(19, cx + 2, cy, False).exists()


def test_a_town_wide_invalidation_deletes_the_cached_tiles_inside_only(db, tile_dir):
    """An import announces a whole town: the cache directories are walked, not millions of positions."""
    town = (9.47, 47.04, 9.64, 47.27)  # Liechtenstein: ~500 x 700 tile positions at z19
    inside_xs, inside_ys = tiles.tiles_for_bbox((9.52, 47.14, 9.521, 47.141), 19)
    outside_xs, outside_ys = tiles.tiles_for_bbox((9.9, 47.5, 9.901, 47.501), 19)
    inside = tiles.tile_path(19, inside_xs[0], inside_ys[0], True)
    outside = tiles.tile_path(19, outside_xs[0], outside_ys[0], False)
    for path in (inside, outside):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")
    assert tiles.invalidate_bbox(town) == 1
    assert not inside.exists() and outside.exists()


@pytest.mark.django_db(transaction=True)
def test_a_tile_whose_database_connection_died_is_a_503_then_renders_again(client, vaduz):
    """A database restart kills Mapnik's pooled connection: that tile answers 503 with Retry-After
    (not a 500), and the next request renders (the pool opened a new connection)."""
    from django.db import connection

    x, y = tile_xy(*VADUZ, 18)
    assert client.get(f"/tiles/18/{x}/{y}.png").status_code == 200
    with connection.cursor() as cursor:  # as a restart would: every other backend of this database
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database()"
        )
    response = client.get(f"/tiles/18/{x + 1}/{y}.png")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert client.get(f"/tiles/18/{x + 2}/{y}.png").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_tile_whose_tables_another_transaction_locks_gives_up_the_lock_with_a_503(
    client, vaduz, monkeypatch
):
    """Building Mapnik's PostGIS datasource queries the database while python-mapnik holds the GIL.
    When a thread of the same process held a lock on the tables (a test's flush, a migration), that
    thread could never run to release it and the process froze. The plugin's connections now give
    up a lock after a few seconds: 503 with Retry-After, then the tile renders.

    The lock here is held by a session the server ends after 8 s idle, so that without the lock
    timeout the tile waits for that end and renders (200) instead of hanging the suite."""
    import psycopg
    from django.db import connection

    from mapping.models import Node

    monkeypatch.setattr(tiles._local, "maps", {}, raising=False)  # this thread builds a new map
    db = connection.settings_dict
    x, y = tile_xy(*VADUZ, 18)
    holder = psycopg.connect(host=db["HOST"], port=db["PORT"], dbname=db["NAME"], user=db["USER"])
    try:
        holder.execute("SET idle_in_transaction_session_timeout = '8s'")
        holder.execute(f"LOCK TABLE {Node._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        response = client.get(f"/tiles/18/{x}/{y}.png")
    finally:
        holder.close()
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert client.get(f"/tiles/18/{x}/{y}.png").status_code == 200
