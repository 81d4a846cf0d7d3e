// The editor's tag rules (mapping/static/mapping/js/party-map/tags.js), in Node.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  applyPreset, getTag, mergeConflict, payloadTags, removeTag, setTag,
} from "../../mapping/static/mapping/js/party-map/tags.js";

test("setTag changes a pair in place, adds a missing one, and an empty value removes the tag", () => {
  const name = ["name", "Old"];
  const pairs = [name, ["shop", "bakery"]];
  assert.equal(setTag(pairs, "name", "New"), pairs);
  assert.deepEqual(name, ["name", "New"]); // the editor's row holds this very pair
  assert.deepEqual(setTag(pairs, "opening_hours", "Mo-Fr"), [["name", "New"], ["shop", "bakery"], ["opening_hours", "Mo-Fr"]]);
  assert.deepEqual(setTag(pairs, "shop", ""), [["name", "New"], ["opening_hours", "Mo-Fr"]]);
  assert.deepEqual(setTag([["a", "1"]], "a", null), []);
});

test("getTag reads the first pair of a key, empty when missing; removeTag drops every pair of it", () => {
  const pairs = [["a", "1"], ["a", "2"], ["b", "3"]];
  assert.equal(getTag(pairs, "a"), "1");
  assert.equal(getTag(pairs, "z"), "");
  assert.deepEqual(removeTag(pairs, "a"), [["b", "3"]]);
});

test("a new preset replaces the previous one's identifying tags and keeps the others; * means yes", () => {
  const cafe = { add_tags: { amenity: "cafe" } };
  const bakery = { add_tags: { shop: "bakery", craft: "*" } };
  const pairs = [["amenity", "cafe"], ["name", "Chez Paul"]];
  assert.deepEqual(applyPreset(pairs, cafe, bakery), [["name", "Chez Paul"], ["shop", "bakery"], ["craft", "yes"]]);
  assert.deepEqual(applyPreset([["name", "X"]], null, cafe), [["name", "X"], ["amenity", "cafe"]]);
});

test("the payload drops empty rows and keys without a value, and keeps a value without a key", () => {
  const pairs = [["", ""], ["name", "X"], ["note", ""], ["", "orphan"]];
  assert.deepEqual(payloadTags(pairs), [["name", "X"], ["", "orphan"]]);
});

test("a conflict merges their version, my other changes and my choice for each conflicting key", () => {
  const conflict = {
    keys: ["name", "phone"],
    base: { name: "A", phone: "1", shop: "bakery", fixme: "check" },
    mine: { name: "Mine", phone: "2", shop: "bakery", website: "https://a.example" },
    theirs: { name: "Theirs", phone: "3", shop: "bakery", fixme: "check", level: "0" },
  };
  const merged = mergeConflict(conflict, (key) => (key === "name" ? "mine" : "theirs"));
  assert.deepEqual(merged, {
    name: "Mine", phone: "3", shop: "bakery", level: "0", website: "https://a.example", // fixme: I removed it
  });
});

test("choosing a side that has no value for a key removes the key", () => {
  const conflict = { keys: ["note"], base: { note: "a" }, mine: {}, theirs: { note: "b" } };
  assert.deepEqual(mergeConflict(conflict, () => "mine"), {});
  assert.deepEqual(mergeConflict(conflict, () => "theirs"), { note: "b" });
});
