// The drawing bar (the hint and the buttons of the current drawing step, in place of the toolbar) and
// moving a point or reshaping a way with Leaflet-Geoman's handles (vendored), snapping to the lines
// around: a new vertex dropped on another way's node reuses its id, on its segment it joins that way
// (snap.js resolveVertices; the ids of the way's own vertices are carried through Geoman's drags).
import { $ } from "./page.js";
import { nodeLatLngs, pointGeometry } from "./geometry.js";
import { loadSnap } from "./junctions.js";
import { resolveVertices, wayGeometry } from "./snap.js";

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

const PM = { snappable: true, snapDistance: 18, allowSelfIntersection: false, draggable: false, removeLayerBelowMinVertexCount: false };

// The vertex list of the layer being edited (a polygon's outer ring).
function ring(layer, closed) {
  const lls = layer.getLatLngs();
  return closed ? lls[0] : lls;
}

// Geoman replaces a dragged vertex's LatLng: the node id goes with it.
function keepIds(layer, closed) {
  let id;
  layer.on("pm:markerdragstart", (e) => { id = e.markerEvent && e.markerEvent.target.getLatLng().osmId; });
  layer.on("pm:markerdragend", (e) => {
    const i = e.indexPath[e.indexPath.length - 1];
    const ll = ring(layer, closed)[i];
    if (ll && id !== undefined && ll.osmId === undefined) ll.osmId = id;
    $("party-map").dataset.reshaped = "true";
  });
}

// Snap targets for Geoman: the lines and their nodes around (thin, not tappable).
function snapTargets(ctx, ways) {
  const L = window.L;
  const group = L.layerGroup();
  ways.forEach((w) => {
    if (w.id === ctx.current.id) return;
    L.polyline(w.nodes.map(([, lon, lat]) => [lat, lon]), { opacity: 0, weight: 1, interactive: false }).addTo(group);
  });
  return group.addTo(ctx.map);
}

// Each vertex carries its node id (geometry.js), so moved vertices keep their OSM identity.
export async function startGeometryEdit(ctx) {
  const { current, map } = ctx;
  const L = window.L;
  if (!current || current.action === "create") return;
  ctx.sheet.hidden = true;
  showDrawbar(ctx.T.moveHint, ["finish-geometry", "cancel-draw"]);
  ctx.el.dataset.mode = "reshape";
  if (current.type === "node") {
    const [lon, lat] = current.geometry.geometry.coordinates;
    ctx.editLayer = L.marker([lat, lon], { draggable: true, autoPan: true }).addTo(map);
    return;
  }
  const lls = nodeLatLngs(current.geometry.nodes, L.latLng);
  const style = { ...ctx.styles.pending, renderer: L.svg() };
  const layer = (current.geometry.closed ? L.polygon(lls, style) : L.polyline(lls, style)).addTo(map);
  ctx.editLayer = layer;
  keepIds(layer, current.geometry.closed);
  ctx.snapTargets = snapTargets(ctx, await loadSnap(ctx));
  if (ctx.editLayer === layer) layer.pm.enable(PM);
}

// Ends the editing; unless `discard`, the new position or shape becomes the feature's geometry.
export function stopGeometryEdit(ctx, discard) {
  const { editLayer, current } = ctx;
  if (!editLayer) return;
  if (!discard && current) {
    if (current.type === "node") {
      current.geometry = { geometry: pointGeometry(editLayer.getLatLng()) };
    } else {
      const closed = current.geometry.closed;
      const ways = ctx.snap ? ctx.snap.ways : [];
      current.geometry = wayGeometry(resolveVertices(ring(editLayer, closed), ways, current.id), closed);
    }
  }
  if (editLayer.pm && editLayer.pm.enabled()) editLayer.pm.disable();
  ctx.map.removeLayer(editLayer);
  if (ctx.snapTargets) ctx.map.removeLayer(ctx.snapTargets);
  ctx.editLayer = null;
  ctx.snapTargets = null;
}
