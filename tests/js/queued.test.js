// Queued changes drawn as my pending changes, and the waiting line's plural forms
// (mapping/static/mapping/js/party-map/queued.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { mergePending, queuedFeature, waitingText } from "../../mapping/static/mapping/js/party-map/queued.js";

const point = { type: "Point", coordinates: [9.52, 47.14] };
const created = (key, name) => ({
  kind: "edit", key,
  body: { element_type: "node", element_id: null, action: "create", after: { tags: [["name", name]], geometry: point } },
});

test("a queued new point is drawn where it was placed, with its tags, as a pending create", () => {
  const f = queuedFeature(created("k1", "Banc"));
  assert.deepEqual(f.geometry, point);
  assert.equal(f.properties.action, "create");
  assert.deepEqual(f.properties.tags, { name: "Banc" });
  assert.equal(f.properties.queued, true);
});

test("a queued way is a line, or a polygon when closed; a deletion shows the feature's shape", () => {
  const nodes = [[-1, 9.5, 47.1], [null, 9.6, 47.1], [-1, 9.5, 47.1]];
  const way = { kind: "edit", key: "w", body: { element_type: "way", element_id: 5, action: "modify", after: { tags: [], nodes, closed: true } } };
  assert.equal(queuedFeature(way).geometry.type, "Polygon");
  const line = { ...way, body: { ...way.body, after: { tags: [], nodes: nodes.slice(0, 2), closed: false } } };
  assert.deepEqual(queuedFeature(line).geometry.coordinates, [[9.5, 47.1], [9.6, 47.1]]);
  const gone = { kind: "edit", key: "d", shape: { geometry: point }, body: { element_type: "node", element_id: 7, action: "delete", after: null } };
  assert.equal(queuedFeature(gone).properties.action, "delete");
  assert.deepEqual(queuedFeature(gone).geometry, point);
  assert.equal(queuedFeature({ kind: "edit", key: "r", body: { element_type: "relation", element_id: 1, action: "delete", after: null } }), null);
});

test("queued changes come over the server's: the newest change of each element, new ones each apart", () => {
  const server = [{ id: "revision/3", properties: { osm_type: "node", osm_id: 7, action: "modify" } }];
  const mod = (key, name) => ({ kind: "edit", key, body: { element_type: "node", element_id: 7, action: "modify", after: { tags: [["name", name]], geometry: point } } });
  const merged = mergePending(server, [mod("a", "old"), created("b", "x"), created("c", "y"), mod("d", "new"), { kind: "photo", key: "p" }]);
  assert.equal(merged.size, 3);
  assert.deepEqual(merged.get("node/7").properties.tags, { name: "new" });
  assert.equal(mergePending(server, []).get("node/7").id, "revision/3");
});

test("the waiting line takes the plural form of the reader's language", () => {
  const en = { one: "%(n)s change waiting to be sent", other: "%(n)s changes waiting to be sent" };
  const fr = { one: "%(n)s modification en attente d'envoi", other: "%(n)s modifications en attente d'envoi" };
  assert.equal(waitingText(en, 1, "en"), "1 change waiting to be sent");
  assert.equal(waitingText(en, 5, "en"), "5 changes waiting to be sent");
  assert.equal(waitingText(fr, 0, "fr"), "0 modification en attente d'envoi");
  assert.equal(waitingText(fr, 1, "fr"), "1 modification en attente d'envoi");
  assert.equal(waitingText(fr, 2, "fr"), "2 modifications en attente d'envoi");
});
