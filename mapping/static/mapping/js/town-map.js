// The public town map (published features by tile) and the map as of a date (by bounding box),
// styled by category. The entry module of mapping/town_map.html and mapping/review_as_of.html.
// A tap selects what is under the finger (selection.js) and shows what it is (feature-info.js).
import { baseLayer, createMap, featureStyles } from "../../js/map-base.js";
import { describer, summary } from "./feature-info.js";
import { featureTiles } from "./feature-tiles.js";
import { drawOrder, pickOnMap, styleFor } from "./selection.js";

const L = window.L;

const el = document.getElementById("town-map");
const status = document.getElementById("map-status");
const STYLES = featureStyles;
const map = createMap(el, { zoomControl: true, preferCanvas: true });
baseLayer().addTo(map);
// #zoom/lat/lon in the address shows a place, as on the party map (shareable links).
const hash = (location.hash || "").replace("#", "").split("/").map(Number);
const extent = (el.dataset.extent || "").split(",").map(Number);
if (hash.length === 3 && hash.every(isFinite)) {
  map.setView([hash[1], hash[2]], hash[0], { animate: false });
} else if (extent.length === 4 && extent.every(isFinite)) {
  map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]]);
} else {
  map.setView([47.14, 9.52], 13);
}

// Selection as in iD (selection.js): published features do not catch events themselves; a tap
// selects what is under the finger among what is drawn, and opens its popup there.
const describe = describer(el.dataset.describeUrl);
const strings = { unnamed: el.dataset.msgUnnamed, expert: el.dataset.msgExpert, yes: el.dataset.msgYes, no: el.dataset.msgNo };
const SELECTED = { color: "#1565c0", weight: 5, fillOpacity: 0.15 };
let drawn = [];
let selected = null;
let shown = null; // the open popup (tapping the same feature again replaces it)
const layer = L.geoJSON(null, {
  interactive: false,
  style: (f) => styleFor(f, STYLES),
  pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 6, ...(STYLES[f.properties.category] || STYLES.poi), interactive: false }),
}).addTo(map);

function unselect() {
  if (selected) map.removeLayer(selected);
  selected = null;
  delete el.dataset.selected;
}
function select(feature, latlng) {
  unselect();
  selected = L.geoJSON(feature, {
    interactive: false,
    style: () => ({ ...SELECTED, interactive: false }),
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 9, ...SELECTED, fillOpacity: 0.6, interactive: false }),
  }).addTo(map);
  el.dataset.selected = feature.id;
  const tags = feature.properties.tags || {};
  const where = feature.geometry.type === "Point" ? L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]) : latlng;
  const popup = L.popup({ autoPanPadding: [16, 16] }).setLatLng(where).setContent(summary(null, tags, strings)).openOn(map);
  shown = popup;
  popup.once("remove", () => { if (shown === popup) unselect(); });
  describe(feature).then((detail) => {
    if (!popup.isOpen()) return;
    popup.setContent(summary(detail, tags, strings));
    el.dataset.described = feature.id;
  });
}
map.on("click", (e) => {
  const feature = pickOnMap(map, drawn, e);
  if (feature) select(feature, e.latlng);
  else map.closePopup();
});

function show(features, state) {
  layer.clearLayers();
  drawn = [];
  el.dataset.state = state;
  if (state === "zoom-in") {
    status.textContent = el.dataset.msgZoomIn;
    return;
  }
  drawn = drawOrder(features || []);
  layer.addData({ type: "FeatureCollection", features: drawn });
  el.dataset.features = String(features.length);
  status.textContent = state === "error" ? el.dataset.msgError : features.length ? "" : el.dataset.msgEmpty;
}
function loading() {
  el.dataset.state = "loading";
  status.textContent = el.dataset.msgLoading;
}

let controller = null; // the map as of a date: the bbox request under way
async function loadBbox() {
  if (controller) controller.abort();
  controller = new AbortController();
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
  loading();
  try {
    const resp = await fetch(`${el.dataset.featuresUrl}?bbox=${bbox}&zoom=${map.getZoom()}`, {
      signal: controller.signal, headers: { Accept: "application/geo+json" },
    });
    if (resp.status === 400) {
      show(null, "zoom-in");
      return;
    }
    if (!resp.ok) throw new Error(resp.status);
    show((await resp.json()).features, "loaded");
  } catch (err) {
    if (err.name === "AbortError") return;
    status.textContent = el.dataset.msgError;
    el.dataset.state = "error";
  }
}

// The live map reads shared, cached tiles; the map as of a date asks for the view's bbox.
if (el.dataset.tilesUrl) {
  featureTiles(map, el.dataset.tilesUrl, show, loading).update();
} else {
  map.on("moveend", loadBbox);
  loadBbox();
}
