// What every map of the site shares: the app's own base map (rendered by exports/tiles.py, never an
// external server), the attribution, and one look for features by map category
// (mapping.geometry.category). Leaflet is the vendored classic script: window.L, read when called.

export const featureStyles = {
  building: { color: "#8d6e63", weight: 1, fillColor: "#d7ccc8", fillOpacity: 0.6 },
  water: { color: "#1e88e5", weight: 2, fillColor: "#90caf9", fillOpacity: 0.5 },
  road: { color: "#ef6c00", weight: 4 },
  path: { color: "#6d4c41", weight: 3, dashArray: "4 4" },
  railway: { color: "#424242", weight: 2, dashArray: "8 4" },
  landuse: { color: "#7cb342", weight: 1, fillColor: "#c5e1a5", fillOpacity: 0.35 },
  boundary: { color: "#8e24aa", weight: 2, fill: false, dashArray: "10 6" },
  poi: { color: "#b71c1c", weight: 2, fillColor: "#ef5350", fillOpacity: 0.9 },
  other: { color: "#607d8b", weight: 1, fillOpacity: 0.2 },
};

// High-density screens get the 512 px @2x tiles.
export function baseLayer(options) {
  const retina = (window.devicePixelRatio || 1) > 1.5;
  const url = retina ? "/tiles/{z}/{x}/{y}@2x.png" : "/tiles/{z}/{x}/{y}.png";
  return window.L.tileLayer(url, { maxZoom: 19, minZoom: 3, errorTileUrl: "", ...(options || {}) });
}

// A Leaflet map on `el` with the ODbL attribution every page owes OpenStreetMap (no Leaflet prefix).
export function createMap(el, options) {
  const map = window.L.map(el, options);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("© OpenStreetMap contributors, ODbL");
  return map;
}
