// Published map data by tile (mapping/feature_tiles.py), like a GeoJSON tile layer: the tiles covering
// the view are fetched once and kept while in view; a tile older than a minute is asked for again,
// which the browser turns into a revalidation (ETag, 304 when unchanged). Features crossing tile
// edges come in several tiles: one copy per id is kept.
const GRID = 256; // tile z/x/y covers the 256-px tile z/x/y and holds the data of zoom z + 1 (512 px)
const MAX_TILE_ZOOM = 15; // mapping.feature_tiles.MAX_TILE_ZOOM: closer views share the zoom-15 tiles
const REVALIDATE_MS = 60000;
const KEEP = 96; // tiles kept in memory once out of view (panning back costs no request)

// urlTemplate: ".../tiles/{z}/{x}/{y}"; onData(features or null, state) with state "loaded",
// "zoom-in" (a tile holds too many features), or "error"; onLoading() when requests start.
export function featureTiles(map, urlTemplate, onData, onLoading) {
  const tiles = new Map(); // "z/x/y" -> {features, state, at}; insertion order = least recently used first
  const inflight = new Map(); // "z/x/y" -> {controller, promise}
  let round = 0;

  function visibleKeys() {
    const z = Math.max(0, Math.min(Math.round(map.getZoom()) - 1, MAX_TILE_ZOOM));
    const bounds = map.getBounds();
    const nw = map.project(bounds.getNorthWest(), z).divideBy(GRID).floor();
    const se = map.project(bounds.getSouthEast(), z).divideBy(GRID).floor();
    const last = Math.pow(2, z) - 1;
    const keys = [];
    for (let x = Math.max(0, nw.x); x <= Math.min(last, se.x); x++) {
      for (let y = Math.max(0, nw.y); y <= Math.min(last, se.y); y++) keys.push(`${z}/${x}/${y}`);
    }
    return keys;
  }

  function fetchTile(key) {
    const controller = new AbortController();
    const [z, x, y] = key.split("/");
    const url = urlTemplate.replace("{z}", z).replace("{x}", x).replace("{y}", y);
    const promise = fetch(url, { signal: controller.signal, headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
      .then(async (resp) => {
        if (resp.status === 400) return { features: [], state: "zoom-in" };
        if (!resp.ok) throw new Error(String(resp.status));
        return { features: (await resp.json()).features, state: "loaded" };
      })
      .then((entry) => {
        tiles.delete(key);
        tiles.set(key, { ...entry, at: Date.now() });
      })
      .catch((err) => {
        if (err.name !== "AbortError") tiles.set(key, { features: [], state: "error", at: 0 });
      })
      .finally(() => {
        if (inflight.get(key) && inflight.get(key).controller === controller) inflight.delete(key);
      });
    inflight.set(key, { controller, promise });
    return promise;
  }

  async function update() {
    const mine = ++round;
    const keys = visibleKeys();
    const wanted = new Set(keys);
    inflight.forEach((job, key) => {
      if (wanted.has(key)) return;
      job.controller.abort();
      inflight.delete(key);
    });
    const now = Date.now();
    const jobs = keys
      .filter((key) => !tiles.has(key) || now - tiles.get(key).at > REVALIDATE_MS)
      .map((key) => (inflight.has(key) ? inflight.get(key).promise : fetchTile(key)));
    if (jobs.length) onLoading();
    await Promise.all(jobs);
    if (mine !== round) return; // the view moved on meanwhile: the newer update answers
    for (const key of tiles.keys()) {
      if (tiles.size <= KEEP + keys.length) break;
      if (!wanted.has(key)) tiles.delete(key);
    }
    const entries = keys.map((key) => tiles.get(key)).filter(Boolean);
    if (entries.some((e) => e.state === "zoom-in")) {
      onData(null, "zoom-in");
      return;
    }
    const byId = new Map();
    entries.forEach((e) => e.features.forEach((f) => byId.has(f.id) || byId.set(f.id, f)));
    onData(Array.from(byId.values()), entries.length < keys.length || entries.some((e) => e.state === "error") ? "error" : "loaded");
  }

  map.on("moveend", update);
  return { update };
}
