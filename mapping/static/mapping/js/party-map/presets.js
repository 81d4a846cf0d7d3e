// The party's presets (asked once per page, kept in ctx.presets) and how the picker's search matches
// them. Pure at load time; the matching is tested in tests/js/presets.test.js.
import { getJSON } from "./network.js";

// ctx.presets: {data, byId}; data is the API's {groups, fields}.
export async function loadPresets(ctx) {
  const presets = ctx.presets;
  if (!presets.data) {
    presets.data = await getJSON(ctx.el.dataset.presetsUrl);
    presets.data.groups.forEach((g) => g.presets.forEach((p) => presets.byId.set(p.id, p)));
  }
  return presets.data;
}

// A preset the party's set does not offer, named by the server for a tapped feature
// (parties.presets.describe): the editor shows its name and fields like the set's own.
export function knowPreset(presets, detail) {
  if (!detail) return;
  if (!presets.byId.has(detail.id)) presets.byId.set(detail.id, { ...detail, icon: "" });
  Object.entries(detail.field_defs).forEach(([fid, field]) => {
    if (!presets.data.fields[fid]) presets.data.fields[fid] = field;
  });
}

// Lower case, accents off: "Café" is found by "cafe".
export function fold(s) {
  return (s || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "");
}

// Whether the picker lists `preset` for a `geometryKind` shape and the folded search `q` (empty:
// all): by name, search terms, or tag, underscores read as spaces ("fast food" finds
// amenity=fast_food).
export function presetMatches(preset, geometryKind, q) {
  return preset.geometry.includes(geometryKind) &&
    (!q || fold(preset.name).includes(q) || preset.terms.some((t) => fold(t).includes(q)) ||
     Object.entries(preset.tags).some(([k, v]) => fold(`${k}=${v}`.replace(/_/g, " ")).includes(q)));
}
