"""Where the style's layers read their data from, and building a ready mapnik.Map.

Two feeds, one set of SQL queries (:func:`exports.printing.style.layer_queries`):

- ``postgis``: Mapnik's own PostGIS plugin, connected to Django's database (the socket directory
  as host, port, name, user). Used for base tiles: Mapnik fetches exactly the tile's bbox with its
  own pooled connections, so a tile never waits on Django's connection.
- ``snapshot``: the queries run through Django's connection for a fixed extent and are handed to
  Mapnik as in-memory features (WKB geometry, text attributes). Used for prints: every layer, the index and the legend read the same
  transaction, so an edition has one exact "data as of" (and tests see their own transaction).
"""

from __future__ import annotations

from django.db import connection

from exports.printing import style

MERCATOR_EXTENT = style.WORLD_EXTENT


def new_map(width: int, height: int):
    """An empty mapnik.Map with the style loaded (layers have no datasource yet)."""
    import mapnik

    style.register_fonts()
    m = mapnik.Map(width, height)
    mapnik.load_map_from_string(m, style.style_xml())
    return m


#: How long a Mapnik query waits for a table lock before giving up (milliseconds).
LOCK_TIMEOUT_MS = 3000


def _conninfo_value(value: str) -> str:
    """``value`` quoted for a libpq connection string."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def postgis_params() -> dict[str, str]:
    """Connection parameters of Django's default database for Mapnik's PostGIS plugin.

    The plugin's connections get a ``lock_timeout``. Why: building a PostGIS datasource runs a
    query (``SELECT ... LIMIT 0``) while python-mapnik holds the GIL. If another thread of the same
    process holds a lock on a table that query reads (a test's flush, a migration run in-process),
    that thread can never run again to release it, and the process freezes: a deadlock PostgreSQL
    cannot see. With the timeout Mapnik gives up, the tile is a 503 with Retry-After, and the
    process goes on. The plugin takes no ``options`` parameter; it writes ``dbname=<value>`` into
    the libpq connection string, so the value carries the quoted name and the options.
    """
    db = connection.settings_dict
    dbname = f"{_conninfo_value(db['NAME'])} options='-c lock_timeout={LOCK_TIMEOUT_MS}'"
    params = {"dbname": dbname, "user": db.get("USER") or "", "port": str(db.get("PORT") or "5432")}
    if db.get("HOST"):
        params["host"] = db["HOST"]
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    return params


def attach_postgis(m, *, town_id: int | None, lang: str) -> None:
    """Point every layer of ``m`` at PostGIS (tiles: all towns when ``town_id`` is None)."""
    import mapnik

    queries = style.layer_queries(town_id, lang)
    base = postgis_params()
    for layer in m.layers:
        layer.datasource = mapnik.PostGIS(
            table=f"({queries[layer.name]}) AS t",
            geometry_field="geom",
            srid=3857,
            extent=MERCATOR_EXTENT,
            estimate_extent="false",
            persist_connection="true",
            max_size=8,
            **base,
        )


def attach_snapshot(
    m, extent: tuple[float, float, float, float], *, town_id: int | None, lang: str
) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Read every layer for ``extent`` (EPSG:3857) through Django's connection.

    Returns the feature count and the distinct ``kind`` values of each layer (for the legend).
    Rows come as WKB and text columns and are handed to Mapnik as in-memory features (cheaper
    for PostgreSQL and for Mapnik than building and parsing GeoJSON; the map drawn is the same).

    Precondition: the caller controls the transaction (a print reads inside one so that the map,
    its index and its legend see the same data).
    """
    import mapnik

    x0, y0, x1, y1 = (float(v) for v in extent)
    envelope = f"ST_MakeEnvelope({x0!r}, {y0!r}, {x1!r}, {y1!r}, 3857)"
    counts: dict[str, int] = {}
    kinds: dict[str, list[str]] = {}
    queries = style.layer_queries(town_id, lang)
    with connection.cursor() as cur:
        for layer in m.layers:
            sql = queries[layer.name].replace("!bbox!", envelope)
            cur.execute(f"SELECT ST_AsBinary(t.geom), t.* FROM ({sql}) t")
            columns = [(i, d.name) for i, d in enumerate(cur.description) if i > 0 and d.name != "geom"]
            rows = cur.fetchall()
            counts[layer.name] = len(rows)
            kinds[layer.name] = sorted(
                {row[i] for row in rows for i, name in columns if name == "kind"} - {None}
            )
            if not rows:
                layer.active = False
                continue
            context = mapnik.Context()
            for _, name in columns:
                context.push(name)
            datasource = mapnik.MemoryDatasource()
            for fid, row in enumerate(rows, 1):
                feature = mapnik.Feature(context, fid)
                feature.geometry = mapnik.Geometry.from_wkb(bytes(row[0]))
                for i, name in columns:
                    if row[i] is not None:
                        feature[name] = row[i]
                datasource.add_feature(feature)
            layer.datasource = datasource
    return counts, kinds
