// What a tap or a click selects, as in iD: what is under the finger. The one place of that rule;
// pure functions (no Leaflet, no page), tested in tests/js/selection.test.js and, in the browser,
// tests/e2e/test_selection_rules.py.
//
// * Points before vertices before lines before areas. An area is picked by its outline, or by its
//   inside only when nothing smaller is under the finger (the smallest area then).
// * Boundaries (boundary=*), relations that are not multipolygons (routes, route masters, sites...)
//   and large landuse (whole fields, forests, residential zones) never catch a tap: they are what a
//   tap lands "through".
// * Drawing order follows the same ranks, so what is drawn on top is what a tap takes.

// Landuse and land cover larger than this (m²) never catch a tap: 1 ha is a large park or field.
export const LARGE_LANDUSE_M2 = 10000;
const LANDCOVER_NATURAL = new Set(["wood", "scrub", "grassland", "heath", "wetland", "meadow", "bare_rock", "scree", "sand", "beach", "glacier"]);
const TOUCH_TOLERANCE_PX = 18;
const MOUSE_TOLERANCE_PX = 8;
const RANK = { point: 0, vertex: 1, line: 2, outline: 3, inside: 4 };
const EARTH_RADIUS = 6378137;

function polygons(geometry) {
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  return [];
}
function lines(geometry) {
  if (geometry.type === "LineString") return [geometry.coordinates];
  if (geometry.type === "MultiLineString") return geometry.coordinates;
  return polygons(geometry).flat();
}

// Area in m² of a (Multi)Polygon in lon/lat (spherical excess, as d3 and Turf compute it).
export function areaM2(geometry) {
  const ring = (coords) => {
    let sum = 0;
    for (let i = 0; i < coords.length - 1; i++) {
      const [x1, y1] = coords[i];
      const [x2, y2] = coords[i + 1];
      sum += ((x2 - x1) * Math.PI / 180) * (2 + Math.sin(y1 * Math.PI / 180) + Math.sin(y2 * Math.PI / 180));
    }
    return Math.abs(sum * EARTH_RADIUS * EARTH_RADIUS / 2);
  };
  return polygons(geometry).reduce((total, poly) => total + ring(poly[0]) - poly.slice(1).reduce((h, r) => h + ring(r), 0), 0);
}

function isLanduse(tags) {
  return "landuse" in tags || LANDCOVER_NATURAL.has(tags.natural);
}

// "point", "vertex", "line", "area", or null when the feature never catches a tap.
export function kind(feature) {
  const props = feature.properties || {};
  const tags = props.tags || {};
  const geometry = feature.geometry;
  if (!geometry || "boundary" in tags) return null;
  if (props.osm_type === "relation" && tags.type !== "multipolygon") return null;
  if (geometry.type === "Point") return "point";
  if (geometry.type === "LineString" || geometry.type === "MultiLineString") return "line";
  if (geometry.type !== "Polygon" && geometry.type !== "MultiPolygon") return null;
  if (isLanduse(tags) && areaOf(feature) > LARGE_LANDUSE_M2) return null;
  return "area";
}
function areaOf(feature) {
  if (feature._areaM2 === undefined) {
    Object.defineProperty(feature, "_areaM2", { value: areaM2(feature.geometry), enumerable: false });
  }
  return feature._areaM2;
}
function bboxOf(feature) {
  if (feature._bbox === undefined) {
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    const walk = (c) => {
      if (typeof c[0] === "number") {
        b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
        b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
      } else c.forEach(walk);
    };
    walk(feature.geometry.coordinates);
    Object.defineProperty(feature, "_bbox", { value: b, enumerable: false });
  }
  return feature._bbox;
}

function segmentDistance(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = dx * dx + dy * dy;
  const t = len ? Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len)) : 0;
  return Math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy);
}
function lineDistance(p, pts) {
  let best = Infinity;
  for (let i = 0; i < pts.length - 1; i++) best = Math.min(best, segmentDistance(p, pts[i], pts[i + 1]));
  return pts.length === 1 ? Math.hypot(p[0] - pts[0][0], p[1] - pts[0][1]) : best;
}
function insideRing(p, pts) {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    if ((pts[i][1] > p[1]) !== (pts[j][1] > p[1]) &&
        p[0] < ((pts[j][0] - pts[i][0]) * (p[1] - pts[i][1])) / (pts[j][1] - pts[i][1]) + pts[i][0]) inside = !inside;
  }
  return inside;
}

// How `feature` is under the tap: {rank, distance} or null. `project([lon, lat])` gives screen
// pixels; `tap` is in pixels; `tolerance` is how far (px) from a point or a line a tap still hits it.
// `vertices` (a Set of "lon,lat") holds the vertices of the lines and areas around: a tagged node
// there (a crossing, an entrance) is a vertex, after free-standing points.
export function hit(feature, tap, project, tolerance, vertices) {
  const k = kind(feature);
  if (!k) return null;
  const geometry = feature.geometry;
  if (k === "point") {
    const d = lineDistance(tap, [project(geometry.coordinates)]);
    if (d > tolerance) return null;
    const onWay = vertices && vertices.has(String(geometry.coordinates));
    return { rank: onWay ? RANK.vertex : RANK.point, distance: d };
  }
  const d = Math.min(...lines(geometry).map((l) => lineDistance(tap, l.map(project))));
  if (d <= tolerance) return { rank: k === "line" ? RANK.line : RANK.outline, distance: d };
  if (k === "line") return null;
  const inside = polygons(geometry).some((poly) => insideRing(tap, poly[0].map(project)) &&
    !poly.slice(1).some((hole) => insideRing(tap, hole.map(project))));
  return inside ? { rank: RANK.inside, distance: areaOf(feature) } : null;
}

// The feature a tap at `tap` (px) selects among `features`, or null. `near([lon, lat] bbox)` is
// optional: the lon/lat box around the tap (tolerance included), to skip far features cheaply.
export function pick(features, tap, project, tolerance, near) {
  const around = features.filter((f) => {
    if (near) {
      const b = bboxOf(f);
      if (b[2] < near[0] || b[0] > near[2] || b[3] < near[1] || b[1] > near[3]) return false;
    }
    return kind(f) !== null; // boundaries are not even looked at (they hold thousands of vertices)
  });
  const vertices = new Set();
  around.forEach((f) => {
    if (f.geometry.type !== "Point") lines(f.geometry).forEach((l) => l.forEach((c) => vertices.add(String(c))));
  });
  let best = null;
  let bestHit = null;
  around.forEach((f) => {
    const h = hit(f, tap, project, tolerance, vertices);
    if (h && (!bestHit || h.rank < bestHit.rank || (h.rank === bestHit.rank && h.distance < bestHit.distance))) {
      best = f;
      bestHit = h;
    }
  });
  return best;
}

// Features in drawing order: large areas first (at the bottom), then smaller areas, lines, points.
export function drawOrder(features) {
  const order = (f) => {
    const t = f.geometry && f.geometry.type;
    if (t === "Point") return [3, 0];
    if (t === "LineString" || t === "MultiLineString") return [2, 0];
    return [("boundary" in ((f.properties || {}).tags || {})) ? 0 : 1, -areaOf(f)];
  };
  return features.map((f) => [order(f), f]).sort((a, b) => a[0][0] - b[0][0] || a[0][1] - b[0][1]).map((x) => x[1]);
}

// The Leaflet side: the feature a map "click" event `e` selects among `features` (as drawn).
// A finger is wider than a mouse pointer: touch taps reach further.
export function pickOnMap(map, features, e) {
  const oe = e.originalEvent || {};
  const touch = oe.pointerType === "touch" || (oe.sourceCapabilities && oe.sourceCapabilities.firesTouchEvents);
  const tolerance = touch ? TOUCH_TOLERANCE_PX : MOUSE_TOLERANCE_PX;
  const tap = [e.containerPoint.x, e.containerPoint.y];
  const project = ([lon, lat]) => {
    const p = map.latLngToContainerPoint([lat, lon]);
    return [p.x, p.y];
  };
  const sw = map.containerPointToLatLng([tap[0] - tolerance, tap[1] + tolerance]);
  const ne = map.containerPointToLatLng([tap[0] + tolerance, tap[1] - tolerance]);
  return pick(features, tap, project, tolerance, [sw.lng, sw.lat, ne.lng, ne.lat]);
}

// The look of a published feature (map-base.js featureStyles by category), drawn without events of
// its own (pickOnMap selects); boundaries are outlines only, whatever else they are tagged with.
export function styleFor(feature, styles) {
  const props = feature.properties || {};
  const style = { ...(styles[props.category] || styles.other), interactive: false };
  if ("boundary" in (props.tags || {})) style.fill = false;
  return style;
}

// What kind of shape a feature is drawn as, for preset matching ("point", "line", "area").
export function geometryKind(feature) {
  const t = feature.geometry && feature.geometry.type;
  if (t === "Point") return "point";
  return t === "Polygon" || t === "MultiPolygon" ? "area" : "line";
}
