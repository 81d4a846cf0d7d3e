// What "Download the party" fetches, and how big it will be, before anything is fetched. Pure:
// tests/js/offline-plan.test.js runs it in Node. Base tiles (our own tile server, /tiles/z/x/y.png,
// @2x on high-density screens as map-base.js asks) at zooms 13-19 over the party area; the
// published data tiles (mapping.feature_tiles: zoom z holds the map's zoom z + 1, up to 15) that the
// party map asks for at those zooms; then the party's own URLs (presets, pending, contributions).

export const BASE_ZOOMS = [13, 19];
export const DATA_ZOOMS = [12, 15];
// A phone's view of a small party at a low zoom reaches past the area: the map data gets one more
// tile on each side (few, small), so the map opens offline without a load error. Base tiles do not
// (measured: the margin doubled the download of 1 km² of Vaduz, 3.4 -> 9.4 MB): past the area the
// base map is blank offline.
export const DATA_MARGIN = 1;
// The cap on one download (docs/offline.md): a party whose estimate exceeds it is refused (the
// agent should draw a smaller area). One downloaded party at a time: a new download replaces it.
export const CAP_BYTES = 80 * 1024 * 1024;
// Average sizes measured on the demo town (bench/offline.py; docs/benchmarks.md), with a margin.
export const BASE_TILE_BYTES = { 1: 7000, 2: 11000 };
export const DATA_TILE_BYTES = 15000;
export const OTHER_BYTES = 200000;

function lon2x(lon, n) {
  return Math.floor(((lon + 180) / 360) * n);
}
function lat2y(lat, n) {
  const r = (lat * Math.PI) / 180;
  return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
}

// The tiles of zoom z covering `bbox` {west, south, east, north}, as [z, x, y], with `margin`
// more tiles on each side.
export function tilesFor(bbox, z, margin = 0) {
  const n = 2 ** z;
  const clamp = (v) => Math.max(0, Math.min(n - 1, v));
  const [x0, x1] = [clamp(lon2x(bbox.west, n) - margin), clamp(lon2x(bbox.east, n) + margin)];
  const [y0, y1] = [clamp(lat2y(bbox.north, n) - margin), clamp(lat2y(bbox.south, n) + margin)];
  const out = [];
  for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) out.push([z, x, y]);
  return out;
}

function range([a, b]) {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

// {urls, baseTiles, dataTiles, estimate, tooBig}: `featureTiles` is the published data's
// ".../tiles/{z}/{x}/{y}" template, `extra` the party's own URLs, `retina` as map-base.js decides.
export function planDownload({ bbox, retina, featureTiles, extra = [] }) {
  const suffix = retina ? "@2x.png" : ".png";
  const base = range(BASE_ZOOMS).flatMap((z) => tilesFor(bbox, z)).map(([z, x, y]) => `/tiles/${z}/${x}/${y}${suffix}`);
  const data = range(DATA_ZOOMS).flatMap((z) => tilesFor(bbox, z, DATA_MARGIN))
    .map(([z, x, y]) => featureTiles.replace("{z}", z).replace("{x}", x).replace("{y}", y));
  const estimate = base.length * BASE_TILE_BYTES[retina ? 2 : 1] + data.length * DATA_TILE_BYTES + OTHER_BYTES;
  return { urls: [...extra, ...data, ...base], baseTiles: base.length, dataTiles: data.length, estimate, tooBig: estimate > CAP_BYTES };
}

// "12.3 MB" / "12,3 Mo": the number in the reader's language; `unit` is the translated unit.
export function formatSize(bytes, lang, unit) {
  const mb = bytes / (1024 * 1024);
  const digits = mb < 10 ? 1 : 0;
  return `${new Intl.NumberFormat(lang || "en", { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(mb)} ${unit}`;
}

// {west, south, east, north} of a GeoJSON geometry (the party area).
export function geojsonBounds(geometry) {
  const b = { west: Infinity, south: Infinity, east: -Infinity, north: -Infinity };
  const walk = (c) => {
    if (typeof c[0] === "number") {
      b.west = Math.min(b.west, c[0]); b.east = Math.max(b.east, c[0]);
      b.south = Math.min(b.south, c[1]); b.north = Math.max(b.north, c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return b;
}
