// The live party dashboard: polls the stats endpoint with If-None-Match (304 while nothing changed)
// and redraws the lists and the map of recent edits. Text only (textContent), never HTML.
// The entry module of parties/party_dashboard.html.
import { baseLayer, createMap } from "../../js/map-base.js";

const L = window.L;

const root = document.getElementById("dashboard");
const statusLabels = JSON.parse(document.getElementById("status-labels").textContent);
const area = JSON.parse(document.getElementById("party-area").textContent);
const statusLine = document.getElementById("dash-status");
const COLORS = { pending: "#f9a825", accepted: "#2e7d32", rejected: "#c62828", needs_changes: "#6a1b9a", withdrawn: "#757575" };

const mapEl = document.getElementById("dash-map");
const map = createMap(mapEl, { preferCanvas: true });
baseLayer().addTo(map);
const outline = L.geoJSON(area, { style: { color: "#00695c", weight: 2, fill: false, dashArray: "6 4" }, interactive: false }).addTo(map);
map.fitBounds(outline.getBounds());

let presetNames = {};
function popupFor(p) {
  const box = document.createElement("div");
  const title = document.createElement("strong");
  title.textContent = presetNames[p.preset] || p.preset || p.action;
  const meta = document.createElement("div");
  meta.textContent = `${p.author || "?"} · ${statusLabels[p.status] || p.status} · ${new Date(p.created_at).toLocaleTimeString()}`;
  box.append(title, meta);
  return box;
}
const edits = L.geoJSON(null, {
  style: (f) => ({ color: COLORS[f.properties.status] || "#607d8b", weight: 3, fillOpacity: 0.3 }),
  pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 7, fillOpacity: 0.8, color: COLORS[f.properties.status] || "#607d8b" }),
  onEachFeature: (f, layer) => layer.bindPopup(() => popupFor(f.properties)),
}).addTo(map);

function fillList(list, rows) {
  list.replaceChildren(
    ...rows.map(([label, value]) => {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = label;
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = String(value);
      li.append(name, count);
      return li;
    })
  );
}

function render(data) {
  presetNames = Object.fromEntries(data.by_preset.map((p) => [p.preset, p.name]));
  document.getElementById("contributors-count").textContent = String(data.contributors.length);
  document.getElementById("edits-total").textContent = String(data.edits_total);
  fillList(document.getElementById("contributors"), data.contributors.map((c) => [c.nickname, c.edits]));
  document.getElementById("contributors-empty").hidden = data.contributors.length > 0;
  fillList(document.getElementById("by-status"), Object.entries(data.by_status).map(([s, n]) => [statusLabels[s] || s, n]));
  fillList(document.getElementById("by-preset"), data.by_preset.map((p) => [p.preset ? p.name : root.dataset.msgNoPreset, p.count]));
  document.getElementById("by-preset-empty").hidden = data.by_preset.length > 0;
  edits.clearLayers();
  edits.addData(data.recent.features.filter((f) => f.geometry));
  root.dataset.edits = String(data.edits_total);
  root.dataset.contributors = String(data.contributors.length);
}

let etag = null;
async function poll() {
  try {
    const headers = { Accept: "application/json" };
    if (etag) headers["If-None-Match"] = etag;
    const resp = await fetch(root.dataset.statsUrl, { headers, credentials: "same-origin", cache: "no-store" });
    if (resp.status === 200) {
      etag = resp.headers.get("ETag");
      render(await resp.json());
    } else if (resp.status !== 304) {
      throw new Error(String(resp.status));
    }
    root.dataset.state = "loaded";
    mapEl.dataset.state = "loaded";
    statusLine.textContent = `${root.dataset.msgUpdated} ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    root.dataset.state = "error";
    statusLine.textContent = root.dataset.msgError;
  }
}
const every = Math.max(2, Number(root.dataset.pollSeconds) || 10) * 1000;
poll();
setInterval(() => {
  if (!document.hidden) poll();
}, every);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) poll();
});
