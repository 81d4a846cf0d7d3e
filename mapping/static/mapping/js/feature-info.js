// What a selected feature is, as iD shows it: its preset's name and the values of its fields, in
// the reader's language (parties.presets.describe, asked through /api/presets/describe); raw tags
// only in expert mode. Everything is set with textContent: tags are text, never HTML.
import { geometryKind } from "./selection.js";

// A describe(feature) for the page's describe URL, with its own answers cache (one per page, made by
// the entry module): the description of `feature` (GeoJSON with properties.tags); null when none
// fits or the server cannot be reached (the popup then shows the name and the raw tags).
export function describer(url) {
  const answers = new Map(); // request URL -> promise of the preset description (or null)
  return function describe(feature) {
    const tags = (feature.properties && feature.properties.tags) || {};
    const query = new URLSearchParams({ geometry: geometryKind(feature), tags: JSON.stringify(tags) });
    const full = `${url}?${query}`;
    if (!answers.has(full)) {
      answers.set(full, fetch(full, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : { preset: null }))
        .then((data) => data.preset)
        .catch(() => null));
    }
    return answers.get(full);
  };
}

// The text a field shows for `value`: option labels, Yes / No, several values for "a;b".
function shown(field, value, strings) {
  if (field.type === "check") return value === "yes" ? strings.yes : value === "no" ? strings.no : value;
  if (!field.options) return value;
  const label = (v) => (field.options.find((o) => o.value === v) || { label: v }).label;
  return field.multiple ? value.split(";").map((v) => label(v.trim())).join(", ") : label(value);
}

function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

// The popup body: title (the name, else the preset), the preset's name, its filled fields, and the
// raw tags behind an "expert mode" toggle. `strings`: {unnamed, expert, yes, no}.
export function summary(detail, tags, strings) {
  const box = el("div", "feature-popup");
  box.append(el("strong", "feature-title", tags.name || (detail && detail.name) || strings.unnamed));
  if (detail) box.append(el("p", "feature-preset", detail.name));
  const fields = el("dl", "feature-fields");
  ((detail && detail.fields) || []).forEach((fid) => {
    const field = detail.field_defs[fid];
    const value = field && tags[field.key];
    if (!value || field.key === "name") return;
    fields.append(el("dt", "", field.label), el("dd", "", shown(field, value, strings)));
  });
  if (fields.childElementCount) box.append(fields);
  const expert = el("details", "feature-tags");
  expert.append(el("summary", "", strings.expert));
  const dl = el("dl");
  Object.keys(tags).sort().forEach((k) => dl.append(el("dt", "", k), el("dd", "", tags[k])));
  expert.append(dl);
  box.append(expert);
  return box;
}
