// The preset picker: the party's presets for the shape, grouped, with a search box; "Other" opens
// the editor in expert mode.
import { $, node } from "./page.js";
import { fold, loadPresets, presetMatches } from "./presets.js";
import { applyPreset } from "./tags.js";
import { openSheet } from "./sheet.js";
import { openEditor } from "./editor.js";
import { placeVertexPreset } from "./junctions.js";
import { showDrawbar } from "./shape-edit.js";

export async function openPicker(ctx, geometryKind) {
  const data = await loadPresets(ctx);
  const { T } = ctx;
  openSheet(ctx, T.choosePreset, "picker");
  const search = $("preset-search");
  search.value = "";
  const list = $("preset-list");
  function render() {
    const q = fold(search.value.trim());
    list.replaceChildren();
    let count = 0;
    data.groups.forEach((g) => {
      const items = g.presets.filter((p) => presetMatches(p, geometryKind, q));
      if (!items.length) return;
      const li = node("li", { class: "preset-group" });
      li.append(node("h3", {}, g.name));
      const ul = node("ul", {});
      items.forEach((p) => {
        const b = node("button", { type: "button", class: "preset", dataset: { preset: p.id } });
        b.append(node("span", { class: "preset-icon", "aria-hidden": "true" }, p.icon), node("span", {}, p.name));
        b.addEventListener("click", () => choosePreset(ctx, p));
        const item = node("li", {});
        item.append(b);
        ul.append(item);
        count++;
      });
      li.append(ul);
      list.append(li);
    });
    const other = node("button", { type: "button", class: "preset secondary" });
    other.append(node("span", { class: "preset-icon", "aria-hidden": "true" }, "✎"), node("span", {}, T.other));
    other.addEventListener("click", () => choosePreset(ctx, null));
    const li = node("li", { class: "preset-group" });
    li.append(other);
    list.append(li);
    $("preset-empty").hidden = count > 0;
  }
  search.oninput = render;
  render();
  search.focus({ preventScroll: true });
}

function choosePreset(ctx, preset) {
  const { current } = ctx;
  if (!current) return;
  if (preset) {
    const previous = current.preset ? ctx.presets.byId.get(current.preset) : null;
    current.pairs = applyPreset(current.pairs, previous, preset);
    current.preset = preset.id;
  } else {
    current.preset = "";
    $("expert-mode").checked = true;
  }
  // A crossing, an entrance...: a point of a line, added into it (the resident taps the line).
  if (preset && preset.vertex && current.type === "node" && current.action === "create" && !current.geometry.joins) {
    return placeVertexPreset(ctx, openEditor, showDrawbar);
  }
  openEditor(ctx);
}
