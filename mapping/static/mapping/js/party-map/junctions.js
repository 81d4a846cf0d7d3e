// Connected geometry on the page: the ways to snap to (the snap API, for the view), vertex presets
// placed on a line, and iD's warnings with their one-tap fixes before saving (the check API).
// The geometry itself is snap.js (pure); see docs/editing.md#connected-geometry.
import { $, fmt, node, post, say } from "./page.js";
import { bboxParam } from "./geometry.js";
import { placeOnWay, snapVertex } from "./snap.js";
import { showDraft } from "./sheet.js";

export const FINGER = 18; // px: a vertex snaps within a finger's width (iD's own distance for touch)
const MAX_SPAN = 0.018; // degrees: the snap API answers at most about 2 km

// Loads (once per view) the ways around the view; resolves to ctx.snap.ways ([] when unavailable).
export async function loadSnap(ctx) {
  const b = ctx.map.getBounds();
  const c = ctx.map.getCenter();
  const half = Math.min(MAX_SPAN / 2, Math.max(b.getEast() - b.getWest(), b.getNorth() - b.getSouth()) / 2 + 0.0005);
  const box = { west: c.lng - half, south: c.lat - half, east: c.lng + half, north: c.lat + half };
  const have = ctx.snap;
  if (have && have.box.west <= b.getWest() && have.box.east >= b.getEast() && have.box.south <= b.getSouth() && have.box.north >= b.getNorth()) {
    return have.ways;
  }
  try {
    const r = await fetch(`${ctx.el.dataset.snapUrl}?bbox=${bboxParam(box)}`, { credentials: "same-origin" });
    const ways = r.ok ? (await r.json()).ways : [];
    ctx.snap = { box, ways };
    ctx.el.dataset.snapWays = String(ways.length);
    return ways;
  } catch {
    return have ? have.ways : []; // offline: draw without snapping
  }
}

function toPx(ctx) {
  return (lon, lat) => ctx.map.latLngToContainerPoint([lat, lon]);
}

// A tap while drawing: the vertex it becomes (snap.js), with a word in the status line.
export function snapTap(ctx, latlng) {
  const ways = ctx.snap ? ctx.snap.ways : [];
  const v = snapVertex([latlng.lng, latlng.lat], ways, toPx(ctx), FINGER);
  if (v.osmId !== undefined) say(ctx, ctx.T.snappedNode);
  else if (v.join) say(ctx, ctx.T.snappedWay);
  return v;
}

// A vertex preset chosen for a new point: put it on the line under it, or ask for a tap on one.
export async function placeVertexPreset(ctx, openEditor, showDrawbar) {
  const { current } = ctx;
  await loadSnap(ctx);
  const [lon, lat] = current.geometry.geometry.coordinates;
  if (putOnWay(ctx, { lng: lon, lat }, true)) return openEditor(ctx);
  ctx.sheet.hidden = true;
  say(ctx, "");
  showDrawbar(ctx.T.vertexHint, ["cancel-draw"]);
  ctx.el.dataset.mode = "add-vertex";
  ctx.afterVertex = () => openEditor(ctx);
}

// A tap in "add-vertex" mode; true when the point went on a line (`quiet`: no word when not).
export function putOnWay(ctx, latlng, quiet = false) {
  const placed = placeOnWay([latlng.lng, latlng.lat], ctx.snap ? ctx.snap.ways : [], toPx(ctx), FINGER + 6);
  if (!placed) {
    if (!quiet) say(ctx, ctx.T.noLineHere);
    return false;
  }
  ctx.current.geometry = { geometry: { type: "Point", coordinates: [placed.lon, placed.lat] }, joins: [placed.join] };
  showDraft(ctx);
  say(ctx, ctx.T.snappedWay);
  return true;
}

// The warnings about the feature in the editor (lines only), each with its fix button.
export async function showWarnings(ctx) {
  const box = $("warnings");
  const { current } = ctx;
  box.replaceChildren();
  box.hidden = true;
  delete box.dataset.checked;
  if (!current || current.type !== "way" || current.action === "delete" || !current.geometry || !current.geometry.nodes) return;
  const tags = current.pairs.filter(([k]) => k);
  const body = { element_type: "way", element_id: current.action === "create" ? null : current.id, action: current.action, after: { tags, ...current.geometry } };
  const asked = current;
  let answer;
  try {
    answer = await post(ctx, ctx.el.dataset.checkUrl, body);
  } catch {
    return; // offline: the check is advice, saving does not need it
  }
  if (ctx.current !== asked || answer.status !== 200 || !answer.data) return;
  const warnings = answer.data.warnings || [];
  box.hidden = !warnings.length;
  box.dataset.checked = String(warnings.length);
  if (warnings.length) box.append(node("h3", {}, fmt(ctx.T.warningsTitle, { n: warnings.length })));
  warnings.forEach((w) => {
    const item = node("div", { class: "warning", dataset: { code: w.code } });
    item.append(node("p", {}, w.message));
    if (w.fix) {
      const b = node("button", { type: "button", class: "secondary fix", dataset: { fix: w.code } }, w.fix.label);
      b.addEventListener("click", () => {
        const { nodes, closed, joins } = w.fix.after;
        current.geometry = joins ? { nodes, closed, joins } : { nodes, closed };
        showDraft(ctx);
        say(ctx, ctx.T.fixed);
        showWarnings(ctx);
      });
      item.append(b);
    }
    box.append(item);
  });
}
