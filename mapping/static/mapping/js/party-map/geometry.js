// Coordinates between Leaflet and the edit payloads (mapping.validation): 7 decimals (about 1 cm, as
// OSM stores them), way nodes as [node id or null, lon, lat], the #zoom/lat/lon view in the address.
// Pure: latlngs are plain {lat, lng} objects, so tests/js/geometry.test.js runs them in Node.

export function round7(value) {
  return +value.toFixed(7);
}

export function pointGeometry(latlng) {
  return { type: "Point", coordinates: [round7(latlng.lng), round7(latlng.lat)] };
}

// Each latlng may carry the OSM id of its node (`osmId`, set by nodeLatLngs): moved vertices keep
// their identity; new ones (drawn, or Leaflet.draw's middle handles) are sent as null: new nodes.
export function wayNodes(latlngs) {
  return latlngs.map((ll) => [ll.osmId === undefined ? null : ll.osmId, round7(ll.lng), round7(ll.lat)]);
}

// The latlngs of a payload's way nodes, each carrying its node's OSM id; `makeLatLng(lat, lon)` builds
// them (L.latLng on the page).
export function nodeLatLngs(nodes, makeLatLng) {
  return nodes.map(([id, lon, lat]) => {
    const ll = makeLatLng(lat, lon);
    ll.osmId = id;
    return ll;
  });
}

// "west,south,east,north" for the API, rounded outwards to 6 decimals so the box still covers `b`.
export function bboxParam(b) {
  return [
    Math.floor(b.west * 1e6) / 1e6, Math.floor(b.south * 1e6) / 1e6,
    Math.ceil(b.east * 1e6) / 1e6, Math.ceil(b.north * 1e6) / 1e6,
  ].join(",");
}

// [zoom, lat, lon] from "#zoom/lat/lon", or null when the address holds no view.
export function parseViewHash(hash) {
  const parts = (hash || "").replace("#", "").split("/").map(Number);
  return parts.length === 3 && parts.every(isFinite) ? parts : null;
}

export function viewHash(zoom, center) {
  return `#${zoom}/${center.lat.toFixed(6)}/${center.lng.toFixed(6)}`;
}
