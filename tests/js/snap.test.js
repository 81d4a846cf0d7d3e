// Snapping while drawing (mapping/static/mapping/js/party-map/snap.js): node ids reused, joins onto
// segments, vertex presets on a way, the way payload built from the taps.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  metres, placeOnWay, projectOnSegment, resolveVertices, snapVertex, wayGeometry,
} from "../../mapping/static/mapping/js/party-map/snap.js";

// A road along the equator-ish latitude of Vaduz: three nodes 100 m apart, west to east.
const ROAD = { id: 7, version: 4, tags: { highway: "residential" }, nodes: [[1, 9.52, 47.14], [2, 9.5213, 47.14], [3, 9.5226, 47.14]] };
// 1 px = 1e-6 degree (about 8 cm east-west, 11 cm north-south): a zoom-19-like screen.
const toPx = (lon, lat) => ({ x: lon * 1e6, y: -lat * 1e6 });

test("projection onto a segment stays on it and rounds to 7 decimals", () => {
  const { point, t } = projectOnSegment([9.5206, 47.1401], [9.52, 47.14], [9.5213, 47.14]);
  assert.deepEqual(point, [9.5206, 47.14]);
  assert.ok(t > 0.4 && t < 0.5);
  assert.deepEqual(projectOnSegment([9.5, 47.14], [9.52, 47.14], [9.5213, 47.14]).point, [9.52, 47.14]);
  assert.ok(Math.abs(metres([9.52, 47.14], [9.5213, 47.14]) - 98.3) < 1);
});

test("a tap near a node reuses its id; near a segment it joins it; elsewhere it stays free", () => {
  assert.deepEqual(snapVertex([9.52131, 47.14001], [ROAD], toPx, 18), { lon: 9.5213, lat: 47.14, osmId: 2 });
  assert.deepEqual(snapVertex([9.5206, 47.14001], [ROAD], toPx, 18), {
    lon: 9.5206, lat: 47.14, join: { way: 7, base_version: 4, segment: 0 },
  });
  assert.deepEqual(snapVertex([9.5206, 47.1403], [ROAD], toPx, 18), { lon: 9.5206, lat: 47.1403 });
  assert.deepEqual(snapVertex([9.5206, 47.14001], [ROAD], toPx, 18, { except: 7 }), { lon: 9.5206, lat: 47.14001 });
  assert.deepEqual(snapVertex([9.5206, 47.14001], [ROAD], toPx, 18, { nodesOnly: true }), { lon: 9.5206, lat: 47.14001 });
});

test("the way payload carries the reused ids and the joins with their vertex index", () => {
  const taps = [
    { lon: 9.5206, lat: 47.1395 },
    snapVertex([9.5206, 47.14001], [ROAD], toPx, 18),
    snapVertex([9.52261, 47.14], [ROAD], toPx, 18),
    snapVertex([9.52261, 47.14], [ROAD], toPx, 18), // the same node twice: kept once
  ];
  assert.deepEqual(wayGeometry(taps, false), {
    nodes: [[null, 9.5206, 47.1395], [null, 9.5206, 47.14], [3, 9.5226, 47.14]],
    closed: false,
    joins: [{ way: 7, base_version: 4, segment: 0, vertex: 1 }],
  });
  assert.deepEqual(wayGeometry([{ lon: 1, lat: 2 }, { lon: 3, lat: 4 }], false), { nodes: [[null, 1, 2], [null, 3, 4]], closed: false });
});

test("a vertex preset is placed on the nearest segment, or nowhere", () => {
  assert.deepEqual(placeOnWay([9.5219, 47.13999], [ROAD], toPx, 24), {
    lon: 9.5219, lat: 47.14, join: { way: 7, base_version: 4, segment: 1 },
  });
  assert.equal(placeOnWay([9.5219, 47.141], [ROAD], toPx, 24), null);
  // Near a vertex of the road, it still goes on the segment beside it (not onto the existing node).
  assert.deepEqual(placeOnWay([9.52132, 47.14001], [ROAD], toPx, 24).join, { way: 7, base_version: 4, segment: 1 });
});

test("after reshaping, a new vertex Geoman snapped onto a road gets its id or a join; old ones keep theirs", () => {
  const lls = [{ lat: 47.139, lng: 9.52, osmId: 50 }, { lat: 47.14, lng: 9.5213 }, { lat: 47.14, lng: 9.5219 }, { lat: 47.1395, lng: 9.523 }];
  assert.deepEqual(resolveVertices(lls, [ROAD], 99), [
    { lon: 9.52, lat: 47.139, osmId: 50 },
    { lon: 9.5213, lat: 47.14, osmId: 2 },
    { lon: 9.5219, lat: 47.14, join: { way: 7, base_version: 4, segment: 1 } },
    { lon: 9.523, lat: 47.1395 },
  ]);
});
