// The bottom sheet (one panel at a time: picker, editor, conflict, contributions), its error line,
// the draft of a shape being created and the outline of the selected feature.
import { $ } from "./page.js";
import { stopGeometryEdit } from "./shape-edit.js";

const PANELS = ["picker", "editor", "conflict", "contributions", "offline"];

export function openSheet(ctx, title, panel) {
  const { sheet } = ctx;
  $("sheet-title").textContent = title;
  PANELS.forEach((p) => { $(p).hidden = p !== panel; });
  clearErrors(ctx);
  sheet.hidden = false;
  document.body.classList.add("sheet-open");
  sheet.dataset.panel = panel;
  // Screen readers start at the sheet; no input is focused, so no keyboard pops up on phones.
  if (panel !== "picker") sheet.focus({ preventScroll: true });
}

export function closeSheet(ctx) {
  unhighlight(ctx);
  if (ctx.draft) ctx.map.removeLayer(ctx.draft);
  ctx.draft = null;
  ctx.sheet.hidden = true;
  document.body.classList.remove("sheet-open");
  stopGeometryEdit(ctx, true);
  ctx.current = null;
}

export function clearErrors(ctx) {
  $("sheet-error").hidden = true;
  $("sheet-error").textContent = "";
  ctx.sheet.querySelectorAll(".field-error.inline").forEach((n) => n.remove());
  ctx.sheet.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
}

export function sheetError(text) {
  $("sheet-error").textContent = text;
  $("sheet-error").hidden = false;
}

// The shape being created, shown while the resident picks a preset and fills its fields.
export function showDraft(ctx) {
  const { current, map } = ctx;
  const L = window.L;
  if (ctx.draft) map.removeLayer(ctx.draft);
  ctx.draft = null;
  if (!current || current.action !== "create") return;
  const opts = { ...ctx.styles.pending, renderer: ctx.pendingRenderer, interactive: false };
  if (current.type === "node") {
    const [lon, lat] = current.geometry.geometry.coordinates;
    ctx.draft = L.circleMarker([lat, lon], { ...opts, radius: 10, dashArray: null });
  } else {
    const lls = current.geometry.nodes.map((n) => [n[2], n[1]]);
    ctx.draft = current.geometry.closed ? L.polygon(lls, opts) : L.polyline(lls, opts);
  }
  ctx.draft.addTo(map);
}

export function unhighlight(ctx) {
  if (ctx.highlight) ctx.map.removeLayer(ctx.highlight);
  ctx.highlight = null;
  delete ctx.el.dataset.selected;
}
