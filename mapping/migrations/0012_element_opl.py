"""Each element row keeps the OPL text of its content as the OSM file gave it (``opl``), for exports.

Why: writing a town's .osm.pbf, PostgreSQL formatted every element's tags, node references and
members as OPL text on every export (a subquery per element); for a 1M-object town that was most
of the export's database time. The importer has that text already (it reads the file as OPL):
it stores it once, and exports read it back (exports.selectors). The column is
``' T<tags> x<lon> y<lat>'`` for a node, ``' T<tags> N<node refs>'`` for a way and
``' T<tags> M<members>'`` for a relation, in OPL's escaping. The importer leaves untagged nodes'
NULL (storing 1.3M more texts cost a large import a seventh of its time; a bare location is cheap
to format).

Not a model field on purpose: Django never reads or writes it, so no ORM save can write back a
copy that has gone stale. The trigger below keeps it honest for every other writer: an update that
changes an element's content without writing a new ``opl`` sets it to NULL, and exports then
format that element from its columns, as they do for elements created here (always NULL).
"""

from django.db import migrations

CONTENT = {
    "mapping_node": ("tags", "geom"),
    "mapping_way": ("tags", "nodes"),
    "mapping_relation": ("tags", "members"),
}

FUNCTION = """
CREATE OR REPLACE FUNCTION mapping_opl_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.opl := NULL;
  RETURN NEW;
END $$;
"""


def _forward() -> str:
    parts = [FUNCTION]
    for table, columns in CONTENT.items():
        # Geometries compared as their bytes: a restore (pg_restore, empty search_path) cannot
        # resolve PostGIS's "=" in a trigger condition; casts are found without the path.
        changed = " OR ".join(
            f"NEW.{c}::bytea IS DISTINCT FROM OLD.{c}::bytea"
            if c == "geom"
            else f"NEW.{c} IS DISTINCT FROM OLD.{c}"
            for c in columns
        )
        parts.append(
            f"""
ALTER TABLE {table} ADD COLUMN opl text;
CREATE TRIGGER {table}_opl_stale BEFORE UPDATE OF {", ".join(columns)} ON {table}
  FOR EACH ROW WHEN (NEW.opl IS NOT NULL AND NEW.opl IS NOT DISTINCT FROM OLD.opl AND ({changed}))
  EXECUTE FUNCTION mapping_opl_stale();
"""
        )
    return "".join(parts)


def _backward() -> str:
    drops = [f"DROP TRIGGER {t}_opl_stale ON {t}; ALTER TABLE {t} DROP COLUMN opl;" for t in CONTENT]
    return "\n".join([*drops, "DROP FUNCTION mapping_opl_stale();"])


class Migration(migrations.Migration):
    dependencies = [("mapping", "0011_photo")]

    operations = [migrations.RunSQL(_forward(), _backward())]
