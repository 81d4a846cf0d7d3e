// Review pages: keyboard shortcuts (a, r, n, p), "select all" in the queue, and the before/after map.
// The entry module of the review queue and revision pages.
// Tag values never reach the DOM as HTML: the map shows shapes only, labels are set with textContent.
import { baseLayer, createMap } from "../../js/map-base.js";

// --- Queue: select every pending revision on the page ---
const selectAll = document.getElementById("select-all");
if (selectAll) {
  selectAll.addEventListener("change", () => {
    document.querySelectorAll('#bulk-form input[name="ids"]').forEach((box) => {
      box.checked = selectAll.checked;
    });
  });
}

// --- Revision page: keyboard shortcuts ---
const page = document.getElementById("review-revision");
if (page) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const accept = document.getElementById("accept-form");
    if (event.key === "a" && accept) {
      event.preventDefault();
      accept.requestSubmit();
    } else if (event.key === "r" && document.getElementById("reason-comment")) {
      event.preventDefault();
      document.getElementById("reason-comment").focus();
    } else if (event.key === "n" && page.dataset.nextUrl) {
      window.location.assign(page.dataset.nextUrl);
    } else if (event.key === "p" && page.dataset.prevUrl) {
      window.location.assign(page.dataset.prevUrl);
    }
  });
}

// --- Revision page: before (red, dashed) and after (green), changed vertices highlighted ---
const mapEl = document.getElementById("review-map");
const dataEl = document.getElementById("review-map-data");
if (mapEl && dataEl && window.L) showChange(mapEl, JSON.parse(dataEl.textContent));

function showChange(mapEl, data) {
  const L = window.L;
  const map = createMap(mapEl, { zoomControl: true });
  baseLayer().addTo(map);
  const group = L.featureGroup().addTo(map);
  const point = (style) => (feature, latlng) => L.circleMarker(latlng, { radius: 8, ...style });
  const BEFORE = { color: "#c62828", weight: 3, dashArray: "6 6", fillOpacity: 0.1 };
  const AFTER = { color: "#2e7d32", weight: 3, fillOpacity: 0.25 };
  if (data.before) L.geoJSON(data.before, { style: BEFORE, pointToLayer: point(BEFORE) }).addTo(group);
  if (data.after) L.geoJSON(data.after, { style: AFTER, pointToLayer: point(AFTER) }).addTo(group);
  if (data.repaired) {
    L.geoJSON(data.repaired, { style: { color: "#1565c0", weight: 2, dashArray: "3 5", fill: false } }).addTo(group);
  }
  // Lines the change joins (a junction point inserted into each): purple, the junction ringed.
  (data.joined || []).forEach((w) => {
    if (w.geometry) L.geoJSON(w.geometry, { style: { color: "#7b1fa2", weight: 5, opacity: 0.8 } }).addTo(group);
    if (w.junction && w.junction[0] !== null) {
      const ring = L.circleMarker([w.junction[1], w.junction[0]], { radius: 8, color: "#7b1fa2", weight: 3, fillColor: "#fff", fillOpacity: 1 });
      ring.bindTooltip(() => {
        const span = document.createElement("span");
        span.textContent = mapEl.dataset.labelJunction;
        return span;
      });
      ring.addTo(group);
    }
  });
  const COLOURS = { moved: "#ef6c00", added: "#2e7d32", removed: "#c62828" };
  (data.vertices || []).forEach((v) => {
    const colour = COLOURS[v.state] || "#607d8b";
    if (v.state === "moved" && v.from && v.to) {
      L.polyline([[v.from[1], v.from[0]], [v.to[1], v.to[0]]], { color: colour, weight: 2, dashArray: "2 4" }).addTo(group);
    }
    const at = v.to || v.from;
    const marker = L.circleMarker([at[1], at[0]], { radius: 5, color: colour, fillColor: colour, fillOpacity: 0.9 });
    marker.bindTooltip(() => {
      const span = document.createElement("span");
      span.textContent = mapEl.dataset["label" + v.state.charAt(0).toUpperCase() + v.state.slice(1)] || v.state;
      return span;
    });
    marker.addTo(group);
  });
  const bounds = group.getBounds();
  if (bounds.isValid()) {
    map.fitBounds(bounds.pad(0.3), { maxZoom: 19 });
  } else {
    map.setView([47.14, 9.52], 13);
  }
  mapEl.dataset.layers = String(group.getLayers().length);

  // The published map around the change, in grey underneath: to spot duplicates and misplacements.
  const context = L.geoJSON(null, {
    style: { color: "#9e9e9e", weight: 1, fillOpacity: 0.15 },
    pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 4, color: "#9e9e9e", fillOpacity: 0.5 }),
  }).addTo(map);
  context.bringToBack();
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
  fetch(`${mapEl.dataset.featuresUrl}?bbox=${bbox}&zoom=18`, { headers: { Accept: "application/geo+json" } })
    .then((resp) => (resp.ok ? resp.json() : { features: [] }))
    .then((geojson) => {
      context.addData(geojson);
      context.bringToBack();
    })
    .catch(() => {})
    .finally(() => {
      mapEl.dataset.state = "loaded";
    });
}
