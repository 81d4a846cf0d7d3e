// The drawing bar (the hint and the buttons of the current drawing step, in place of the toolbar) and
// moving a point or reshaping a way with Leaflet.draw's editing handles.
import { $ } from "./page.js";
import { nodeLatLngs, pointGeometry, wayNodes } from "./geometry.js";

export function showDrawbar(hint, buttons) {
  $("drawbar-hint").textContent = hint;
  $("drawbar").querySelectorAll("button").forEach((b) => { b.hidden = !buttons.includes(b.dataset.action); });
  $("drawbar").hidden = false;
  $("toolbar").hidden = true;
}

export function hideDrawbar() {
  $("drawbar").hidden = true;
  $("toolbar").hidden = false;
  $("crosshair").hidden = true;
}

// Each vertex carries its node id (geometry.js), so moved vertices keep their OSM identity.
export function startGeometryEdit(ctx) {
  const { current, map } = ctx;
  const L = window.L;
  if (!current || current.action === "create") return;
  ctx.sheet.hidden = true;
  if (current.type === "node") {
    const [lon, lat] = current.geometry.geometry.coordinates;
    ctx.editLayer = L.marker([lat, lon], { draggable: true, autoPan: true }).addTo(map);
  } else {
    const lls = nodeLatLngs(current.geometry.nodes, L.latLng);
    const style = { ...ctx.styles.pending, renderer: L.svg() };
    ctx.editLayer = (current.geometry.closed ? L.polygon(lls, style) : L.polyline(lls, style)).addTo(map);
    ctx.editLayer.editing.enable();
  }
  showDrawbar(ctx.T.moveHint, ["finish-geometry", "cancel-draw"]);
  ctx.el.dataset.mode = "reshape";
}

// Ends the editing; unless `discard`, the new position or shape becomes the feature's geometry.
export function stopGeometryEdit(ctx, discard) {
  const { editLayer, current } = ctx;
  if (!editLayer) return;
  if (!discard && current) {
    if (current.type === "node") {
      current.geometry = { geometry: pointGeometry(editLayer.getLatLng()) };
    } else {
      let lls = editLayer.getLatLngs();
      if (current.geometry.closed) lls = lls[0];
      current.geometry = { nodes: wayNodes(lls), closed: current.geometry.closed };
    }
  }
  if (editLayer.editing && editLayer.editing.enabled()) editLayer.editing.disable();
  ctx.map.removeLayer(editLayer);
  ctx.editLayer = null;
}
