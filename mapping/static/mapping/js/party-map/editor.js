// The editor panel: the preset's fields, the raw tags (expert mode), and its buttons. The feature being
// edited is ctx.current: {action, type, id, version, pairs, preset, detail, kind, geometry}.
import { $, node } from "./page.js";
import { getTag, setTag } from "./tags.js";
import { openSheet } from "./sheet.js";
import { showWarnings } from "./junctions.js";
import { showPhotos } from "./photos.js";

function fieldControl(ctx, fid, field) {
  const { T } = ctx;
  const id = `field-${fid.replace(/[^a-z0-9]/gi, "-")}`;
  const wrap = node("div", { class: "field", dataset: { key: field.key } });
  wrap.append(node("label", { for: id }, field.label));
  const value = getTag(ctx.current.pairs, field.key);
  let input;
  if (field.type === "combo" || field.type === "check") {
    input = node("select", { id });
    const options = field.type === "check"
      ? [{ value: "yes", label: T.yes }, { value: "no", label: T.no }]
      : field.options || [];
    input.append(node("option", { value: "" }, T.unset));
    options.forEach((o) => input.append(node("option", { value: o.value }, o.label)));
    if (value && !options.some((o) => o.value === value)) input.append(node("option", { value }, value));
  } else if (field.type === "textarea") {
    input = node("textarea", { id, rows: "3", "data-max-length": "255" });
  } else {
    const type = { number: "text", tel: "tel", url: "url", email: "email" }[field.type] || "text";
    input = node("input", { id, type, "data-max-length": "255", inputmode: field.type === "number" ? "decimal" : null, placeholder: field.placeholder || null });
  }
  input.value = value;
  input.name = field.key;
  input.addEventListener("change", () => {
    ctx.current.pairs = setTag(ctx.current.pairs, field.key, input.value.trim());
    renderTagRows(ctx);
  });
  wrap.append(input);
  return wrap;
}

export function renderFields(ctx) {
  const { current, presets } = ctx;
  const box = $("editor-fields");
  box.replaceChildren();
  const preset = current.preset ? presets.byId.get(current.preset) : null;
  // A tapped feature's own description adds the "more fields" it has values for.
  const detail = current.detail && preset && current.detail.id === preset.id ? current.detail : null;
  const fields = detail ? detail.fields : preset ? preset.fields : [];
  fields.forEach((fid) => {
    const field = presets.data.fields[fid];
    if (field) box.append(fieldControl(ctx, fid, field));
  });
  $("editor-no-fields").hidden = fields.length > 0;
  $("editor-preset").textContent = preset ? `${preset.icon} ${preset.name}`.trim() : ctx.T.other;
}

export function renderTagRows(ctx) {
  const { current, T } = ctx;
  const rows = $("tag-rows");
  rows.replaceChildren();
  current.pairs.forEach((pair, i) => {
    const row = node("div", { class: "tag-row", dataset: { index: String(i), key: pair[0] } });
    const k = node("input", { type: "text", "aria-label": T.key, "data-max-length": "255", class: "tag-key", autocapitalize: "off" });
    const v = node("input", { type: "text", "aria-label": T.value, "data-max-length": "255", class: "tag-value" });
    k.value = pair[0];
    v.value = pair[1];
    k.addEventListener("change", () => { pair[0] = k.value.trim(); row.dataset.key = pair[0]; renderFields(ctx); });
    v.addEventListener("change", () => { pair[1] = v.value; renderFields(ctx); });
    const rm = node("button", { type: "button", class: "secondary remove-tag", "aria-label": T.removeTag, title: T.removeTag }, "✕");
    rm.addEventListener("click", () => { current.pairs.splice(i, 1); renderTagRows(ctx); renderFields(ctx); });
    row.append(k, node("span", { "aria-hidden": "true" }, "="), v, rm);
    rows.append(row);
  });
}

export function openEditor(ctx) {
  const { current, T } = ctx;
  openSheet(ctx, current.action === "create" ? T.newFeature : getTag(current.pairs, "name") || T.editFeature, "editor");
  $("expert").hidden = !$("expert-mode").checked;
  $("editor-pending").hidden = !current.pendingNote;
  $("delete-button").hidden = current.action === "create";
  $("geometry-button").hidden = current.action === "create" || current.type === "relation";
  renderFields(ctx);
  renderTagRows(ctx);
  showWarnings(ctx);
  showPhotos(ctx);
}

// The editor's own controls: the expert-mode switch and "add a tag".
export function wireEditor(ctx) {
  $("expert-mode").addEventListener("change", () => { $("expert").hidden = !$("expert-mode").checked; });
  ctx.sheet.querySelector('[data-action="add-tag"]').addEventListener("click", () => {
    ctx.current.pairs.push(["", ""]);
    renderTagRows(ctx);
    const keys = $("tag-rows").querySelectorAll(".tag-key");
    keys[keys.length - 1].focus();
  });
}
