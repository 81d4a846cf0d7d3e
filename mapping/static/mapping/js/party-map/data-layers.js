// What the map shows. Published data: the town's shared map-data tiles (feature-tiles.js), loaded as
// the view moves; published features catch no event (a tap picks among them, selection.js). My
// pending changes: one small request for the whole party area, made again only after a save or an
// undo (the published data does not change then: changes wait for review).
import { featureStyles } from "../../../js/map-base.js";
import { featureTiles } from "../feature-tiles.js";
import { drawOrder, styleFor } from "../selection.js";
import { bboxParam } from "./geometry.js";
import { say } from "./page.js";
import { mergePending } from "./queued.js";

// The published and pending layers on ctx.map; `onPendingTap(feature, latlng)` when a pending
// change is tapped (they are drawn as SVG, above, and catch their own taps).
export function addLayers(ctx, onPendingTap) {
  const L = window.L;
  const PENDING = ctx.styles.pending;
  ctx.published = L.geoJSON(null, {
    interactive: false,
    style: (f) => styleFor(f, featureStyles),
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 8, ...(featureStyles[f.properties.category] || featureStyles.poi), interactive: false }),
  }).addTo(ctx.map);
  ctx.pending = L.geoJSON(null, {
    renderer: ctx.pendingRenderer,
    style: () => PENDING,
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 10, renderer: ctx.pendingRenderer, ...PENDING, color: "#e65100", weight: 3, dashArray: null }),
    onEachFeature: (f, layer) => {
      layer.on("click", (e) => {
        L.DomEvent.stop(e);
        onPendingTap(f, e.latlng);
      });
      layer.on("add", () => {
        const path = layer.getElement && layer.getElement();
        if (path) path.setAttribute("data-pending", f.properties.action);
      });
    },
  }).addTo(ctx.map);
}

// The page's data-state and status line from both loads. Loading messages never hide a message the
// resident has not read yet (saved, undone...).
function showState(ctx) {
  const { T, el, load } = ctx;
  const text = ctx.statusEl.textContent;
  const quiet = text && ![T.loading, T.empty, T.zoomIn, T.loadError].includes(text);
  if (load.tiles === "loading" || load.pending === "loading") {
    el.dataset.state = "loading";
    if (!quiet) say(ctx, T.loading);
    return;
  }
  const state = load.tiles === "zoom-in" ? "zoom-in" : load.tiles === "error" || load.pending === "error" ? "error" : "loaded";
  el.dataset.state = state;
  if (quiet) return;
  if (state === "zoom-in") say(ctx, T.zoomIn);
  else if (state === "error") say(ctx, T.loadError);
  else say(ctx, Number(el.dataset.features) || ctx.pendingByElement.size ? "" : T.empty);
}

// Published data by tile; returns the loader ({update}) that follows the view.
export function publishedTiles(ctx) {
  return featureTiles(
    ctx.map,
    ctx.el.dataset.tilesUrl,
    (features, state) => {
      ctx.published.clearLayers();
      ctx.drawn = drawOrder(features || []);
      ctx.published.addData({ type: "FeatureCollection", features: ctx.drawn });
      ctx.el.dataset.features = String(features ? features.length : 0);
      ctx.load.tiles = state;
      showState(ctx);
    },
    () => {
      ctx.load.tiles = "loading";
      showState(ctx);
    },
  );
}

// My pending changes: the server's (newest first, as last loaded) with the outbox's queued ones
// over them (queued.js), the latest change of each element.
export function drawPending(ctx) {
  ctx.pending.clearLayers();
  ctx.pendingByElement = mergePending(ctx.serverPending || [], ctx.queued || []);
  ctx.pending.addData({ type: "FeatureCollection", features: Array.from(ctx.pendingByElement.values()) });
  ctx.el.dataset.pending = String(ctx.pendingByElement.size);
}

export async function loadPending(ctx) {
  const { el, load } = ctx;
  if (load.controller) load.controller.abort();
  load.controller = new AbortController();
  load.pending = "loading";
  showState(ctx);
  const ab = ctx.areaLayer.getBounds();
  const bbox = bboxParam({ west: ab.getWest(), south: ab.getSouth(), east: ab.getEast(), north: ab.getNorth() });
  try {
    const resp = await fetch(`${el.dataset.featuresUrl}?layers=pending&bbox=${bbox}`, {
      signal: load.controller.signal, headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (!resp.ok) throw new Error(String(resp.status));
    ctx.serverPending = (await resp.json()).pending.features;
    load.pending = "loaded";
  } catch (err) {
    if (err.name === "AbortError") return;
    // No network and nothing kept: the queued changes still show; with some waiting, the page is
    // usable offline, not in error.
    load.pending = (ctx.queued || []).length ? "loaded" : "error";
  }
  drawPending(ctx);
  showState(ctx);
}
