// Tags as the editor holds them: [key, value] pairs (duplicates allowed while typing; the server names
// them), a preset's identifying tags, and the merge of a conflict (409). Pure, tested in
// tests/js/tags.test.js.

export function getTag(pairs, k) {
  const p = pairs.find((x) => x[0] === k);
  return p ? p[1] : "";
}

// The pairs with `k` set to `v` (an empty value removes the tag). Existing pairs are changed in
// place: the editor's rows hold them.
export function setTag(pairs, k, v) {
  if (v === "" || v === null || v === undefined) return removeTag(pairs, k);
  const p = pairs.find((x) => x[0] === k);
  if (p) p[1] = v;
  else pairs.push([k, v]);
  return pairs;
}

export function removeTag(pairs, k) {
  return pairs.filter((x) => x[0] !== k);
}

// Replace the previous preset's identifying tags with the new one's ("*" means any value: yes).
export function applyPreset(pairs, previous, preset) {
  let result = pairs;
  if (previous) Object.keys(previous.add_tags).forEach((k) => { result = removeTag(result, k); });
  Object.entries(preset.add_tags).forEach(([k, v]) => { result = setTag(result, k, v === "*" ? "yes" : v); });
  return result;
}

// The pairs sent: empty rows dropped, and keys left without a value.
export function payloadTags(pairs) {
  return pairs.filter((p) => p[0] !== "" || p[1] !== "").filter((p) => p[1] !== "" || p[0] === "");
}

// The tags saved after a conflict: their version, plus my other changes (keys where mine differs
// from the base), plus my choice for each conflicting key. `conflict` is the 409's {keys, base,
// mine, theirs}; `choose(key, index)` answers "mine" or "theirs". A missing value removes the key.
export function mergeConflict(conflict, choose) {
  const { keys, base, mine, theirs } = conflict;
  const result = { ...theirs };
  Object.keys({ ...base, ...mine }).forEach((k) => {
    if (keys.includes(k) || base[k] === mine[k]) return;
    if (mine[k] === undefined) delete result[k];
    else result[k] = mine[k];
  });
  keys.forEach((k, i) => {
    const value = choose(k, i) === "mine" ? mine[k] : theirs[k];
    if (value === undefined) delete result[k];
    else result[k] = value;
  });
  return result;
}
