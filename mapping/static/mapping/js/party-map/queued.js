// How the outbox shows: a queued change drawn as one of my pending changes (the same GeoJSON
// feature shape as the API's pending layer, mapping.selectors.PENDING_SQL), and the "N changes
// waiting to be sent" line in the reader's plural form. Pure: tests/js/queued.test.js runs it in Node.

// `shape`: the change's geometry in edit-payload form ({geometry: Point} for a node, {nodes: [[id,
// lon, lat]...], closed} for a way), the after's own or, for a deletion, the feature's.
export function shapeGeometry(shape) {
  if (!shape) return null;
  if (shape.geometry) return shape.geometry;
  if (!shape.nodes) return null; // a relation: nothing of its own to draw
  const coords = shape.nodes.map(([, lon, lat]) => [lon, lat]);
  return shape.closed ? { type: "Polygon", coordinates: [coords] } : { type: "LineString", coordinates: coords };
}

// The feature of a queued edit item ({key, body, shape}), or null when it has no shape to draw.
export function queuedFeature(item) {
  const { body } = item;
  const geometry = shapeGeometry(body.after || item.shape);
  if (!geometry) return null;
  const tags = body.after && body.after.tags ? Object.fromEntries(body.after.tags) : {};
  return {
    type: "Feature",
    id: `queued/${item.key}`,
    geometry,
    properties: {
      revision_id: null, queued: true, osm_type: body.element_type, osm_id: body.element_id,
      action: body.action, status: "queued", tags,
    },
  };
}

// "type/id" of the element a pending feature changes; new elements (no id yet) each their own.
export function elementKey(feature) {
  const p = feature.properties;
  return p.osm_id === null || p.osm_id === undefined ? feature.id : `${p.osm_type}/${p.osm_id}`;
}

// The server's pending features (newest first) with the queued ones over them: the latest change
// of each element, queued changes being newer than anything the server has.
export function mergePending(serverFeatures, queuedItems) {
  const byElement = new Map();
  queuedItems.filter((i) => i.kind === "edit").map(queuedFeature).filter(Boolean).reverse().forEach((f) => {
    if (!byElement.has(elementKey(f))) byElement.set(elementKey(f), f);
  });
  serverFeatures.forEach((f) => {
    if (!byElement.has(elementKey(f))) byElement.set(elementKey(f), f);
  });
  return byElement;
}

// `forms`: {one, other} templates with %(n)s; `lang` picks the plural form (French says "1
// modification", "0 modification", English "0 changes").
export function waitingText(forms, n, lang) {
  const rule = new Intl.PluralRules(lang || "en").select(n);
  return (forms[rule] || forms.other).replace("%(n)s", String(n));
}
