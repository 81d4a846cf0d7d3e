// The picker's search and the presets the server describes (mapping/static/mapping/js/party-map/presets.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { fold, knowPreset, presetMatches } from "../../mapping/static/mapping/js/party-map/presets.js";

const bakery = { id: "shop/bakery", name: "Boulangerie", terms: ["pain", "viennoiserie"], tags: { shop: "bakery", craft: "pastry_cook" }, geometry: ["point", "area"] };

test("the search ignores case and accents and finds by name, term or tag", () => {
  assert.equal(fold("Café ÉTÉ"), "cafe ete");
  for (const q of ["", "boulang", "viennois", "shop=bakery", "pastry cook"]) assert.ok(presetMatches(bakery, "point", fold(q)), q);
  assert.ok(!presetMatches(bakery, "point", fold("église")));
  assert.ok(!presetMatches(bakery, "line", ""), "a bakery is no line");
});

test("a preset described by the server joins the known ones, with the fields the set lacks", () => {
  const presets = { data: { fields: { name: { key: "name", label: "Name" } } }, byId: new Map() };
  const detail = { id: "amenity/bench", name: "Bench", field_defs: { name: { key: "name", label: "Other" }, backrest: { key: "backrest" } } };
  knowPreset(presets, detail);
  knowPreset(presets, null);
  assert.equal(presets.byId.get("amenity/bench").icon, "");
  assert.equal(presets.data.fields.name.label, "Name");
  assert.deepEqual(presets.data.fields.backrest, { key: "backrest" });
});
