// Drawing new features: a point under the cross in the middle of the map, lines and areas tap by tap
// (each tap adds a vertex: no double-tap needed, so it works one-handed); then the preset picker.
// ctx.sketch holds the line or area being drawn: each vertex {lon, lat, osmId?, join?} snapped as iD
// does (junctions.js, snap.js): on an existing node it reuses its id, on a segment it joins that way.
import { pointGeometry } from "./geometry.js";
import { loadSnap, putOnWay, snapTap } from "./junctions.js";
import { wayGeometry } from "./snap.js";
import { $, say } from "./page.js";
import { loadPresets } from "./presets.js";
import { closeSheet, showDraft } from "./sheet.js";
import { hideDrawbar, showDrawbar, stopGeometryEdit } from "./shape-edit.js";
import { openPicker } from "./picker.js";
import { openEditor } from "./editor.js";

export function startPoint(ctx) {
  closeSheet(ctx);
  $("crosshair").hidden = false;
  showDrawbar(ctx.T.placeHint, ["place-point", "cancel-draw"]);
  ctx.el.dataset.mode = "add-point";
}

export function startShape(ctx, kind) {
  closeSheet(ctx);
  ctx.map.doubleClickZoom.disable();
  ctx.sketch = { kind, latlngs: [], snapped: [], layer: null, vertices: window.L.layerGroup().addTo(ctx.map) };
  showDrawbar(kind === "line" ? ctx.T.lineHint : ctx.T.areaHint, ["remove-vertex", "finish-shape", "cancel-draw"]);
  ctx.el.dataset.mode = `add-${kind}`;
  say(ctx, "");
  loadSnap(ctx);
}

// Snapped vertices look like iD's: a node reused is filled blue, a junction on a line is a blue ring.
function vertexStyle(v) {
  if (v.osmId !== undefined) return { radius: 7, color: "#0d47a1", fillColor: "#1e88e5", fillOpacity: 1 };
  if (v.join) return { radius: 7, color: "#1e88e5", weight: 3, fillColor: "#fff", fillOpacity: 1 };
  return { radius: 5, color: "#e65100", fillColor: "#fff", fillOpacity: 1 };
}

function redrawSketch(ctx) {
  const { sketch, map } = ctx;
  const L = window.L;
  if (sketch.layer) map.removeLayer(sketch.layer);
  sketch.vertices.clearLayers();
  const opts = { ...ctx.styles.pending, renderer: ctx.pendingRenderer, interactive: false };
  sketch.layer = (sketch.kind === "area" ? L.polygon(sketch.latlngs, opts) : L.polyline(sketch.latlngs, opts)).addTo(map);
  sketch.latlngs.forEach((ll, i) => {
    const v = sketch.snapped[i];
    const marker = L.circleMarker(ll, { ...vertexStyle(v), renderer: ctx.pendingRenderer, interactive: false }).addTo(sketch.vertices);
    marker.on("add", () => marker.getElement().setAttribute("data-snap", v.osmId !== undefined ? "node" : v.join ? "way" : "free"));
  });
  ctx.el.dataset.vertices = String(sketch.latlngs.length);
  ctx.el.dataset.snapped = String(sketch.snapped.filter((v) => v.osmId !== undefined || v.join).length);
}

export function removeVertex(ctx) {
  if (!ctx.sketch) return;
  ctx.sketch.latlngs.pop();
  ctx.sketch.snapped.pop();
  redrawSketch(ctx);
}

function endSketch(ctx) {
  const { sketch, map } = ctx;
  if (!sketch) return;
  if (sketch.layer) map.removeLayer(sketch.layer);
  map.removeLayer(sketch.vertices);
  ctx.sketch = null;
  map.doubleClickZoom.enable();
}

// The new feature, then the picker for its shape.
async function create(ctx, kind, type, geometry) {
  hideDrawbar();
  delete ctx.el.dataset.mode;
  await loadPresets(ctx);
  ctx.current = { action: "create", type, id: null, version: null, pairs: [], preset: "", kind, geometry };
  $("expert-mode").checked = false;
  showDraft(ctx);
  openPicker(ctx, kind);
}

export async function finishShape(ctx) {
  const { sketch } = ctx;
  if (!sketch) return;
  if (sketch.latlngs.length < (sketch.kind === "area" ? 3 : 2)) return say(ctx, ctx.T.tooFew);
  const { kind, snapped } = sketch;
  endSketch(ctx);
  await create(ctx, kind, "way", wayGeometry(snapped, kind === "area"));
}

export async function placePoint(ctx) {
  await create(ctx, "point", "node", { geometry: pointGeometry(ctx.map.getCenter()) });
}

// Cancel: drop the sketch or the reshaping; a feature being reshaped goes back to its editor.
export function cancelDraw(ctx) {
  const editing = !!ctx.editLayer;
  const placing = ctx.el.dataset.mode === "add-vertex";
  endSketch(ctx);
  stopGeometryEdit(ctx, true);
  hideDrawbar();
  delete ctx.el.dataset.mode;
  if ((editing || placing) && ctx.current) openEditor(ctx);
}

export function finishGeometry(ctx) {
  stopGeometryEdit(ctx, false);
  hideDrawbar();
  delete ctx.el.dataset.mode;
  openEditor(ctx);
}

// While drawing, a tap anywhere (on a feature too) places the cross or adds a vertex there.
export function mapTap(ctx, latlng) {
  if (ctx.el.dataset.mode === "add-point") ctx.map.panTo(latlng);
  if (ctx.el.dataset.mode === "add-vertex" && putOnWay(ctx, latlng)) {
    hideDrawbar();
    delete ctx.el.dataset.mode;
    openEditor(ctx);
  }
  if (ctx.sketch) {
    const v = snapTap(ctx, latlng);
    ctx.sketch.snapped.push(v);
    ctx.sketch.latlngs.push(window.L.latLng(v.lat, v.lon));
    redrawSketch(ctx);
  }
}
