// What "Download the party" fetches and how big it is said to be (mapping/static/mapping/js/offline-plan.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { BASE_TILE_BYTES, CAP_BYTES, formatSize, geojsonBounds, planDownload, tilesFor } from "../../mapping/static/mapping/js/offline-plan.js";

const VADUZ = { west: 9.516, south: 47.136, east: 9.5292, north: 47.145 }; // about 1 km²
const TEMPLATE = "/api/towns/vaduz/features/tiles/{z}/{x}/{y}";

test("the tiles covering an area: one at low zoom, a grid at high zoom, as the tile server counts (exports.tiles.tiles_for_bbox: 420 at zoom 19)", () => {
  assert.deepEqual(tilesFor(VADUZ, 13), [[13, 4312, 2876]]);
  const z19 = tilesFor(VADUZ, 19);
  assert.equal(z19.length, 420);
  assert.ok(z19.every(([z]) => z === 19));
  assert.equal(tilesFor(VADUZ, 13, 1).length, 9); // one more tile on each side
  assert.equal(tilesFor({ west: -180, south: 84, east: -179.9, north: 85 }, 2, 1).length, 4); // clamped at the edge
});

test("the plan: zooms 13-19 of base tiles, 12-15 of map data, the party's own URLs first", () => {
  const plan = planDownload({ bbox: VADUZ, retina: false, featureTiles: TEMPLATE, extra: ["/api/parties/1/presets/"] });
  assert.equal(plan.urls[0], "/api/parties/1/presets/");
  assert.ok(plan.urls.includes("/tiles/13/4312/2876.png"));
  assert.ok(plan.urls.some((u) => u.startsWith("/tiles/19/")));
  assert.ok(!plan.urls.some((u) => u.startsWith("/tiles/20/") || u.startsWith("/tiles/12/")));
  assert.ok(plan.urls.includes("/api/towns/vaduz/features/tiles/12/2155/1437")); // map data: a margin
  assert.ok(!plan.urls.includes("/tiles/13/4311/2875.png")); // base tiles: none
  assert.equal(plan.urls.filter((u) => u.startsWith("/tiles/19/")).length, 420);
  assert.ok(plan.urls.includes("/api/towns/vaduz/features/tiles/12/2156/1438"));
  assert.equal(new Set(plan.urls).size, plan.urls.length);
  assert.equal(plan.urls.length, 1 + plan.baseTiles + plan.dataTiles);
  assert.ok(plan.estimate > plan.baseTiles * BASE_TILE_BYTES[1] && !plan.tooBig);
});

test("high-density screens get the @2x tiles, and a larger estimate", () => {
  const one = planDownload({ bbox: VADUZ, retina: false, featureTiles: TEMPLATE });
  const two = planDownload({ bbox: VADUZ, retina: true, featureTiles: TEMPLATE });
  assert.ok(two.urls.some((u) => u.endsWith("@2x.png")));
  assert.ok(two.estimate > one.estimate);
});

test("an area whose estimate is over the cap is refused before anything is fetched", () => {
  const town = { west: 9.45, south: 47.05, east: 9.6, north: 47.25 };
  const plan = planDownload({ bbox: town, retina: false, featureTiles: TEMPLATE });
  assert.ok(plan.estimate > CAP_BYTES);
  assert.equal(plan.tooBig, true);
});

test("the party area's bounds and the size in the reader's language", () => {
  const area = { type: "Polygon", coordinates: [[[9.5, 47.1], [9.6, 47.1], [9.6, 47.2], [9.5, 47.1]]] };
  assert.deepEqual(geojsonBounds(area), { west: 9.5, south: 47.1, east: 9.6, north: 47.2 });
  assert.equal(formatSize(5.5 * 1024 * 1024, "fr", "Mo"), "5,5 Mo");
  assert.equal(formatSize(12.4 * 1024 * 1024, "en", "MB"), "12 MB");
});
