// Connected geometry while drawing, as iD does, with OSM identity kept here (pure: tests/js/snap.test.js).
// `ways` come from the snap API: [{id, version, tags, nodes: [[id, lon, lat], ...]}] (a closed way
// repeats its first node). A vertex near an existing node snaps to it and reuses its id; near a
// segment it is projected onto it and carries a join {way, base_version, segment}: saving inserts a
// new node into that way (docs/editing.md#connected-geometry). `toPx(lon, lat)` -> {x, y} measures
// on screen, so the snapping distance is a finger's width whatever the zoom.

const R = 6371008.8;

function round7(v) {
  return +v.toFixed(7);
}

// The point of segment a-b nearest to p ([lon, lat] each) and t along it: an equirectangular
// projection around p, as mapping/connectivity.py does.
export function projectOnSegment(p, a, b) {
  const k = Math.cos((p[1] * Math.PI) / 180);
  const [ax, ay, bx, by, px, py] = [a[0] * k, a[1], b[0] * k, b[1], p[0] * k, p[1]];
  const len = (bx - ax) ** 2 + (by - ay) ** 2;
  const t = len === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len));
  return { point: [round7(a[0] + t * (b[0] - a[0])), round7(a[1] + t * (b[1] - a[1]))], t };
}

export function metres(a, b) {
  const lat = ((a[1] + b[1]) / 2) * (Math.PI / 180);
  const dx = ((b[0] - a[0]) * Math.PI) / 180 * Math.cos(lat);
  const dy = ((b[1] - a[1]) * Math.PI) / 180;
  return R * Math.hypot(dx, dy);
}

function px(toPx, a, b) {
  const p = toPx(a[0], a[1]);
  const q = toPx(b[0], b[1]);
  return Math.hypot(p.x - q.x, p.y - q.y);
}

// What a tap at [lon, lat] becomes: {lon, lat, osmId} on an existing node, {lon, lat, join} on a
// segment, or {lon, lat} where it is (nothing within `radius` px). `except` is a way id not to snap
// to (the way being reshaped); `nodesOnly` never joins a segment.
export function snapVertex(lonlat, ways, toPx, radius, { except = null, nodesOnly = false, segmentsOnly = false } = {}) {
  let node = null;
  let seg = null;
  for (const way of ways) {
    if (way.id === except) continue;
    for (const [id, lon, lat] of segmentsOnly ? [] : way.nodes) {
      const d = px(toPx, lonlat, [lon, lat]);
      if (d <= radius && (!node || d < node.d)) node = { d, lon, lat, osmId: id };
    }
    if (nodesOnly) continue;
    for (let i = 0; i < way.nodes.length - 1; i++) {
      const { point, t } = projectOnSegment(lonlat, way.nodes[i].slice(1), way.nodes[i + 1].slice(1));
      if (t <= 0 || t >= 1) continue; // an end: that is a node
      const d = px(toPx, lonlat, point);
      if (d <= radius && (!seg || d < seg.d)) {
        seg = { d, lon: point[0], lat: point[1], join: { way: way.id, base_version: way.version, segment: i } };
      }
    }
  }
  // A node wins when it is about as near as the segment (iD: vertices before lines).
  if (node && (!seg || node.d <= seg.d + radius / 2)) return { lon: node.lon, lat: node.lat, osmId: node.osmId };
  if (seg) return { lon: seg.lon, lat: seg.lat, join: seg.join };
  return { lon: round7(lonlat[0]), lat: round7(lonlat[1]) };
}

// A vertex preset (crossing, entrance...) goes on the nearest segment within `radius` px: its
// position and join, or null when no line is there.
// (Right on an existing vertex there is no segment inside reach: null, the page asks again.)
export function placeOnWay(lonlat, ways, toPx, radius) {
  const snapped = snapVertex(lonlat, ways, toPx, radius, { segmentsOnly: true });
  return snapped.join ? snapped : null;
}

// The way payload of drawn vertices [{lon, lat, osmId?, join?}]: nodes [[id|null, lon, lat]] and
// joins with the index of their vertex. A node used twice (two taps on one junction) is kept once.
export function wayGeometry(vertices, closed) {
  const nodes = [];
  const joins = [];
  const used = new Set();
  for (const v of vertices) {
    if (v.osmId !== undefined && v.osmId !== null) {
      if (used.has(v.osmId)) continue;
      used.add(v.osmId);
    }
    if (v.join && joins.some((j) => j.way === v.join.way && j.segment === v.join.segment)) {
      nodes.push([null, v.lon, v.lat]); // one junction per segment and change: the rest stay free
      continue;
    }
    if (v.join) joins.push({ ...v.join, vertex: nodes.length });
    nodes.push([v.osmId === undefined ? null : v.osmId, v.lon, v.lat]);
  }
  const geometry = { nodes, closed };
  if (joins.length) geometry.joins = joins;
  return geometry;
}

// After reshaping: new vertices (no node id) lying on another way's node or segment (Geoman snapped
// them there) get that node's id or a join. `tolerance` in metres.
export function resolveVertices(latlngs, ways, except, tolerance = 0.2) {
  return latlngs.map((ll) => {
    const lonlat = [round7(ll.lng), round7(ll.lat)];
    if (ll.osmId !== undefined && ll.osmId !== null) return { lon: lonlat[0], lat: lonlat[1], osmId: ll.osmId };
    const fake = (lon, lat) => ({ x: lon * 1e7, y: lat * 1e7 }); // about 1 cm per unit: exact matches only
    const snapped = snapVertex(lonlat, ways, fake, 30, { except });
    if (snapped.osmId !== undefined || snapped.join) {
      if (metres(lonlat, [snapped.lon, snapped.lat]) <= tolerance) return snapped;
    }
    return { lon: lonlat[0], lat: lonlat[1] };
  });
}
