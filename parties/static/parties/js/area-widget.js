// The party area widget: django-leaflet's Leaflet.draw field (L.GeometryField) on our own tiles,
// set up from data-* attributes instead of the inline script django-leaflet's template would emit.
// The entry module of parties/party_form.html.
import { baseLayer, createMap } from "../../js/map-base.js";

const L = window.L;

document.querySelectorAll("[data-area-widget]").forEach((el) => {
  const map = createMap(el, { zoomControl: true });
  baseLayer().addTo(map);
  let bounds = null;
  if (el.dataset.townBoundary) {
    const outline = L.geoJSON(JSON.parse(el.dataset.townBoundary), {
      style: { color: "#8e24aa", weight: 2, fill: false, dashArray: "10 6" },
      interactive: false,
    }).addTo(map);
    bounds = outline.getBounds();
  }
  if (bounds && bounds.isValid()) map.fitBounds(bounds);
  else map.setView([47.14, 9.52], 13);
  // L.GeometryField fits the view to an existing area itself.
  new L.GeometryField({
    fieldid: el.dataset.fieldId,
    geom_type: el.dataset.geomType,
    modifiable: true,
    srid: 4326,
    precision: 7,
    field_store_class: L.FieldStore,
  }).addTo(map);
  el.dataset.state = "ready";
});
