// The selection rule (mapping/static/mapping/js/selection.js) in Node, in screen pixels with an
// identity projection (lon = x, lat = y); tests/e2e/test_selection_rules.py runs it in the browser.
import assert from "node:assert/strict";
import { test } from "node:test";

import { LARGE_LANDUSE_M2, areaM2, drawOrder, geometryKind, kind, pick, styleFor } from "../../mapping/static/mapping/js/selection.js";

const identity = (c) => c;
const point = (id, x, y, tags = {}) => ({ type: "Feature", id, geometry: { type: "Point", coordinates: [x, y] }, properties: { osm_type: "node", tags } });
const line = (id, coords, tags = {}) => ({ type: "Feature", id, geometry: { type: "LineString", coordinates: coords }, properties: { osm_type: "way", tags } });
function square(id, x0, y0, size, tags = {}, osmType = "way") {
  const ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]];
  return { type: "Feature", id, geometry: { type: "Polygon", coordinates: [ring] }, properties: { osm_type: osmType, tags } };
}
const picked = (features, x, y, tolerance = 5) => (pick(features, [x, y], identity, tolerance) || { id: null }).id;

test("points before lines before areas; an area's inside only when nothing smaller is there", () => {
  const features = [point("bench", 52, 50, { amenity: "bench" }), line("road", [[0, 50], [100, 50]], { highway: "residential" }), square("shop", 0, 0, 100, { shop: "bakery" })];
  assert.equal(picked(features, 50, 50), "bench");
  assert.equal(picked(features, 20, 51), "road");
  assert.equal(picked(features, 20, 20), "shop");
  assert.equal(picked(features, 300, 300), null);
});

test("a tagged node on a way is a vertex: a free-standing point nearby wins", () => {
  const crossing = point("crossing", 50, 50, { highway: "crossing" });
  const road = line("road", [[0, 50], [50, 50], [100, 50]], { highway: "residential" });
  const bench = point("bench", 53, 50, { amenity: "bench" });
  assert.equal(picked([crossing, road, bench], 51, 50), "bench");
  assert.equal(picked([crossing, road], 51, 50), "crossing");
});

test("boundaries, non-multipolygon relations and large landuse never catch a tap", () => {
  assert.equal(kind(square("b", 0, 0, 10, { boundary: "administrative" })), null);
  assert.equal(kind(square("r", 0, 0, 10, { type: "route" }, "relation")), null);
  assert.equal(kind(square("m", 0, 0, 10, { type: "multipolygon", building: "yes" }, "relation")), "area");
  const field = square("field", 9.5, 47.1, 0.01, { landuse: "farmland" }); // ~ 1 km²
  assert.ok(areaM2(field.geometry) > LARGE_LANDUSE_M2);
  assert.equal(kind(field), null);
  assert.equal(kind(square("garden", 9.5, 47.1, 0.0001, { landuse: "grass" })), "area");
});

test("drawing order: boundaries, then larger areas below smaller ones, then lines, then points", () => {
  const features = [point("p", 1, 1), line("l", [[0, 0], [1, 1]]), square("small", 0, 0, 1), square("big", 0, 0, 5), square("b", 0, 0, 9, { boundary: "x" })];
  assert.deepEqual(drawOrder(features).map((f) => f.id), ["b", "big", "small", "l", "p"]);
});

test("the style by category, boundaries unfilled; the shape kind presets are matched on", () => {
  const styles = { park: { color: "green" }, other: { color: "grey" } };
  assert.deepEqual(styleFor({ properties: { category: "park", tags: {} } }, styles), { color: "green", interactive: false });
  assert.deepEqual(styleFor({ properties: { category: "x", tags: { boundary: "protected_area" } } }, styles), { color: "grey", interactive: false, fill: false });
  assert.equal(geometryKind(point("p", 0, 0)), "point");
  assert.equal(geometryKind(line("l", [[0, 0], [1, 1]])), "line");
  assert.equal(geometryKind(square("s", 0, 0, 1)), "area");
});
