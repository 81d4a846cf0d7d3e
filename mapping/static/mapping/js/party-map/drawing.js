// Drawing new features: a point under the cross in the middle of the map, lines and areas tap by tap
// (each tap adds a vertex: no double-tap needed, so it works one-handed); then the preset picker.
// ctx.sketch holds the line or area being drawn.
import { pointGeometry, wayNodes } from "./geometry.js";
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
  ctx.sketch = { kind, latlngs: [], layer: null, vertices: window.L.layerGroup().addTo(ctx.map) };
  showDrawbar(kind === "line" ? ctx.T.lineHint : ctx.T.areaHint, ["remove-vertex", "finish-shape", "cancel-draw"]);
  ctx.el.dataset.mode = `add-${kind}`;
}

function redrawSketch(ctx) {
  const { sketch, map } = ctx;
  const L = window.L;
  if (sketch.layer) map.removeLayer(sketch.layer);
  sketch.vertices.clearLayers();
  const opts = { ...ctx.styles.pending, renderer: ctx.pendingRenderer, interactive: false };
  sketch.layer = (sketch.kind === "area" ? L.polygon(sketch.latlngs, opts) : L.polyline(sketch.latlngs, opts)).addTo(map);
  sketch.latlngs.forEach((ll) => L.circleMarker(ll, { radius: 5, color: "#e65100", fillColor: "#fff", fillOpacity: 1, renderer: ctx.pendingRenderer, interactive: false }).addTo(sketch.vertices));
  ctx.el.dataset.vertices = String(sketch.latlngs.length);
}

export function removeVertex(ctx) {
  if (!ctx.sketch) return;
  ctx.sketch.latlngs.pop();
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
  const { kind, latlngs } = sketch;
  endSketch(ctx);
  await create(ctx, kind, "way", { nodes: wayNodes(latlngs), closed: kind === "area" });
}

export async function placePoint(ctx) {
  await create(ctx, "point", "node", { geometry: pointGeometry(ctx.map.getCenter()) });
}

// Cancel: drop the sketch or the reshaping; a feature being reshaped goes back to its editor.
export function cancelDraw(ctx) {
  const editing = !!ctx.editLayer;
  endSketch(ctx);
  stopGeometryEdit(ctx, true);
  hideDrawbar();
  delete ctx.el.dataset.mode;
  if (editing && ctx.current) openEditor(ctx);
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
  if (ctx.sketch) {
    ctx.sketch.latlngs.push(latlng);
    redrawSketch(ctx);
  }
}
