// Coordinates between Leaflet and the edit payloads (mapping/static/mapping/js/party-map/geometry.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  bboxParam, nodeLatLngs, parseViewHash, pointGeometry, round7, viewHash, wayNodes,
} from "../../mapping/static/mapping/js/party-map/geometry.js";

test("coordinates keep 7 decimals, as OSM stores them, lon before lat", () => {
  assert.equal(round7(9.123456789), 9.1234568);
  assert.deepEqual(pointGeometry({ lat: 47.123456789, lng: 9.5 }), { type: "Point", coordinates: [9.5, 47.1234568] });
});

test("reshaped vertices keep their node id; new vertices are sent as new nodes (null)", () => {
  const lls = nodeLatLngs([[11, 9.5, 47.1], [12, 9.6, 47.2]], (lat, lng) => ({ lat, lng }));
  assert.deepEqual(lls.map((ll) => [ll.osmId, ll.lat, ll.lng]), [[11, 47.1, 9.5], [12, 47.2, 9.6]]);
  lls[1].lat = 47.25;
  const middle = { lat: 47.15, lng: 9.55 }; // Leaflet.draw's middle handle: no id
  assert.deepEqual(wayNodes([lls[0], middle, lls[1]]), [[11, 9.5, 47.1], [null, 9.55, 47.15], [12, 9.6, 47.25]]);
});

test("the party area's box is rounded outwards, so it still covers the area", () => {
  assert.equal(bboxParam({ west: 9.1234567, south: 47.1234567, east: 9.2345671, north: 47.2345671 }), "9.123456,47.123456,9.234568,47.234568");
});

test("the view in the address: #zoom/lat/lon, anything else is no view", () => {
  assert.deepEqual(parseViewHash("#17/47.14/9.52"), [17, 47.14, 9.52]);
  assert.equal(parseViewHash(""), null);
  assert.equal(parseViewHash("#17/47.14"), null);
  assert.equal(parseViewHash("#a/b/c"), null);
  assert.equal(viewHash(18, { lat: 47.1, lng: 9.5222222 }), "#18/47.100000/9.522222");
});
