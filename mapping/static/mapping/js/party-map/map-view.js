// The party map itself: our base map, the party area, the view in the address (#zoom/lat/lon,
// shareable, kept up to date while panning). "Locate me" is gps.js.
import { baseLayer, createMap } from "../../../js/map-base.js";
import { parseViewHash, viewHash } from "./geometry.js";

// Sets ctx.map and ctx.areaLayer; `area` is the party's GeoJSON area.
export function setUpMap(ctx, area) {
  const L = window.L;
  const map = createMap(ctx.el, { zoomControl: true, preferCanvas: true, maxZoom: 20 });
  baseLayer({ maxZoom: 20, maxNativeZoom: 19 }).addTo(map);
  ctx.map = map;
  ctx.areaLayer = L.geoJSON(area, { style: { color: "#00695c", weight: 2, fill: false, dashArray: "6 6" }, interactive: false }).addTo(map);
  const viewFromHash = () => {
    const view = parseViewHash(location.hash);
    if (view) map.setView([view[1], view[2]], view[0], { animate: false });
    return view !== null;
  };
  if (!viewFromHash()) map.fitBounds(ctx.areaLayer.getBounds());
  window.addEventListener("hashchange", viewFromHash);
  map.on("moveend", () => history.replaceState(null, "", viewHash(map.getZoom(), map.getCenter())));
}
