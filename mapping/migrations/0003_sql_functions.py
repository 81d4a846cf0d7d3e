"""SQL helpers used to derive geometry in bulk: OSM's area rules, map categories, geometry repair.

They mirror mapping/geometry.py (is_area, category), which is the Python side used by the services;
tests check both agree.
"""

from django.db import migrations

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION cartoparty_is_area(tags jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
  WHEN tags->>'area' = 'no' THEN false
  WHEN tags->>'area' = 'yes' THEN true
  WHEN tags ?| array['building','building:part','landuse','amenity','leisure','shop','tourism','place',
                     'historic','military','office','craft','area:highway','healthcare','water',
                     'boundary_area'] THEN true
  WHEN tags->>'natural' IS NOT NULL
       AND tags->>'natural' NOT IN ('coastline','cliff','ridge','arete','tree_row','valley','earth_bank') THEN true
  WHEN tags->>'waterway' IN ('riverbank','dock','boatyard','dam') THEN true
  WHEN tags->>'man_made' IS NOT NULL
       AND tags->>'man_made' NOT IN ('cutline','embankment','pipeline','breakwater','groyne','dyke') THEN true
  WHEN tags->>'aeroway' IS NOT NULL AND tags->>'aeroway' NOT IN ('taxiway','runway','parking_position') THEN true
  WHEN tags->>'power' IN ('plant','substation','generator','transformer') THEN true
  WHEN tags->>'highway' IN ('rest_area','services') THEN true
  WHEN tags->>'public_transport' = 'platform' AND tags->>'highway' IS NULL THEN true
  ELSE false END
$$;

CREATE OR REPLACE FUNCTION cartoparty_category(tags jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
  WHEN tags ? 'building' THEN 'building'
  WHEN tags->>'natural' = 'water' OR tags ? 'waterway' OR tags ? 'water'
       OR tags->>'landuse' IN ('reservoir','basin') THEN 'water'
  WHEN tags->>'highway' IN ('footway','path','steps','cycleway','bridleway','pedestrian','track',
                            'corridor','crossing') THEN 'path'
  WHEN tags ? 'highway' THEN 'road'
  WHEN tags ? 'railway' THEN 'railway'
  WHEN tags ? 'amenity' OR tags ? 'shop' OR tags ? 'tourism' OR tags ? 'emergency'
       OR tags ? 'healthcare' OR tags ? 'office' OR tags ? 'craft' OR tags ? 'historic' THEN 'poi'
  WHEN tags ? 'landuse' OR tags ? 'leisure'
       OR tags->>'natural' IN ('wood','scrub','grassland','heath','wetland','meadow','bare_rock','scree') THEN 'landuse'
  WHEN tags ? 'boundary' THEN 'boundary'
  ELSE 'other' END
$$;

-- Make a geometry valid, keeping its dimension; NULL when nothing sensible is left.
CREATE OR REPLACE FUNCTION cartoparty_repair(g geometry) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  dim int := ST_Dimension(g);
  r geometry;
BEGIN
  IF g IS NULL THEN RETURN NULL; END IF;
  IF dim = 1 THEN
    r := ST_RemoveRepeatedPoints(g);
    IF ST_NPoints(r) < 2 THEN RETURN NULL; END IF;
  ELSE
    r := ST_MakeValid(g);
  END IF;
  r := ST_CollectionExtract(r, dim + 1);
  IF r IS NULL OR ST_IsEmpty(r) OR NOT ST_IsValid(r) THEN RETURN NULL; END IF;
  IF ST_NumGeometries(r) = 1 THEN r := ST_GeometryN(r, 1); END IF;
  RETURN r;
END
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS cartoparty_is_area(jsonb);
DROP FUNCTION IF EXISTS cartoparty_category(jsonb);
DROP FUNCTION IF EXISTS cartoparty_repair(geometry);
"""

APPEND_ONLY = r"""
CREATE SEQUENCE IF NOT EXISTS cartoparty_local_id START 1;

-- History is append-only: no DELETE, and an UPDATE may only move the review columns.
CREATE OR REPLACE FUNCTION cartoparty_revision_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'revisions are append-only: delete refused' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (NEW.town_id, NEW.party_id, NEW.author_id, NEW.element_type, NEW.element_id, NEW.action,
      NEW.base_version, NEW.before, NEW.after, NEW.created_at, NEW.reverts_id)
     IS DISTINCT FROM
     (OLD.town_id, OLD.party_id, OLD.author_id, OLD.element_type, OLD.element_id, OLD.action,
      OLD.base_version, OLD.before, OLD.after, OLD.created_at, OLD.reverts_id) THEN
    RAISE EXCEPTION 'revisions are append-only: only the review columns may change'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER revision_append_only BEFORE UPDATE OR DELETE ON mapping_revision
  FOR EACH ROW EXECUTE FUNCTION cartoparty_revision_append_only();
"""

APPEND_ONLY_DROP = """
DROP TRIGGER IF EXISTS revision_append_only ON mapping_revision;
DROP FUNCTION IF EXISTS cartoparty_revision_append_only();
DROP SEQUENCE IF EXISTS cartoparty_local_id;
"""


class Migration(migrations.Migration):
    dependencies = [("mapping", "0002_revision_people")]

    operations = [
        migrations.RunSQL(FUNCTIONS, DROP),
        migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_DROP),
    ]
