// The resident mapping page (parties/party_map.html), its entry module: published features + my
// pending changes, add / change / move / reshape / delete with presets, undo, my contributions,
// conflict choices. It creates the page's one state object (ctx) and passes it to the modules in
// party-map/, which hold no state of their own. Everything shown from the data is set with
// textContent (tags are text, never HTML). Strings come translated from #party-map-strings.
import { describer } from "./feature-info.js";
import { pickOnMap } from "./selection.js";
import { setUpMap } from "./party-map/map-view.js";
import { toggleLocate, wireGps } from "./party-map/gps.js";
import { wirePhotos } from "./party-map/photos.js";
import { addLayers, loadPending, publishedTiles } from "./party-map/data-layers.js";
import { $, say } from "./party-map/page.js";
import { wireEditor } from "./party-map/editor.js";
import { openPicker } from "./party-map/picker.js";
import { replayHandlers, wireSave } from "./party-map/save.js";
import { startOutbox } from "./party-map/outbox.js";
import { wireOffline } from "./party-map/offline.js";
import { selectPending, selectPublished } from "./party-map/select.js";
import { showContributions, undo } from "./party-map/contributions.js";
import { startGeometryEdit } from "./party-map/shape-edit.js";
import {
  cancelDraw, finishGeometry, finishShape, mapTap, placePoint, removeVertex, startPoint, startShape,
} from "./party-map/drawing.js";

const el = $("party-map");
const ctx = {
  el,
  T: $("party-map-strings").dataset,
  canEdit: el.dataset.canEdit === "true",
  statusEl: $("map-status"),
  sheet: $("sheet"),
  describe: describer(el.dataset.describeUrl),
  styles: { pending: { color: "#ff6f00", weight: 4, dashArray: "6 4", fillColor: "#ffca28", fillOpacity: 0.5 } },
  pendingRenderer: window.L.svg({ padding: 0.2 }),
  presets: { data: null, byId: new Map() },
  load: { tiles: "loading", pending: "loading", controller: null },
  map: null, areaLayer: null, published: null, pending: null,
  drawn: [], // published features in drawing order (what a tap picks among)
  pendingByElement: new Map(), // "type/id" -> my latest pending change of that element
  current: null, // the feature in the editor (editor.js)
  draft: null, highlight: null, editLayer: null, sketch: null, // map layers of the moment
  gps: null, // "Locate me" (gps.js): following, the last fix, its circle
  photos: null, // the photos chosen for the feature in the editor (photos.js)
};

setUpMap(ctx, JSON.parse($("party-area").textContent));
addLayers(ctx, (feature, latlng) => {
  if (el.dataset.mode) mapTap(ctx, latlng);
  else selectPending(ctx, feature);
});
const tiles = publishedTiles(ctx);
wireEditor(ctx);
wireSave(ctx);
wireGps(ctx);
if (ctx.canEdit) wirePhotos(ctx);
ctx.sheet.querySelector('[data-action="change-preset"]').addEventListener("click", () => openPicker(ctx, ctx.current.kind));

const actions = {
  locate: toggleLocate, undo, "add-point": startPoint,
  "add-line": (c) => startShape(c, "line"),
  "add-area": (c) => startShape(c, "area"),
  contributions: showContributions,
  "place-point": placePoint,
  "remove-vertex": removeVertex,
  "finish-shape": finishShape,
  "finish-geometry": finishGeometry,
  "cancel-draw": cancelDraw,
  "edit-geometry": startGeometryEdit,
};
document.querySelectorAll("#toolbar [data-action], #drawbar [data-action], #editor [data-action='edit-geometry']").forEach((b) => {
  b.addEventListener("click", () => actions[b.dataset.action](ctx));
});
ctx.map.on("click", (e) => {
  if (el.dataset.mode) return mapTap(ctx, e.latlng);
  const feature = pickOnMap(ctx.map, ctx.drawn, e);
  if (feature) selectPublished(ctx, feature, e.latlng);
});
if (!ctx.canEdit) say(ctx, ctx.T.viewOnly);
el.dataset.ready = "true";
ctx.outboxReady = startOutbox(ctx, replayHandlers(ctx));
wireOffline(ctx);
tiles.update();
ctx.outboxReady.then(() => {
  el.dataset.outbox = "ready";
  loadPending(ctx);
});
