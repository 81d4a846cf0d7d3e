// The conflict screen (409 with the tags that both sides changed): one choice per key, "mine" by
// default; the merge itself is tags.js's mergeConflict. A change of shape or a deletion meanwhile
// cannot be merged key by key: the feature is reloaded instead.
import { $, node, say } from "./page.js";
import { newKey } from "./network.js";
import { mergeConflict } from "./tags.js";
import { openSheet, sheetError } from "./sheet.js";
import { renderFields, renderTagRows } from "./editor.js";

// `body`: the refused request; `resend(body)` sends the merged one (save.js's submit).
export function showConflict(ctx, body, data, resend) {
  const { T, current } = ctx;
  say(ctx, "");
  if (!data.tags) {
    sheetError(T.conflictGone);
    if (data.current && current) {
      current.version = data.current_version;
      current.pairs = Object.entries(data.current.tags);
      renderFields(ctx);
      renderTagRows(ctx);
    }
    return;
  }
  const { keys, mine, theirs } = data.tags;
  openSheet(ctx, T.conflictTitle, "conflict");
  const rows = $("conflict-rows");
  rows.replaceChildren();
  keys.forEach((key, i) => {
    const fs = node("fieldset", { class: "conflict-row" });
    fs.append(node("legend", {}, key));
    [["mine", mine[key]], ["theirs", theirs[key]]].forEach(([side, value]) => {
      const id = `conflict-${i}-${side}`;
      const input = node("input", { type: "radio", name: `conflict-${i}`, id, value: side });
      if (side === "mine") input.checked = true;
      const label = node("label", { for: id });
      label.append(node("strong", {}, `${side === "mine" ? T.mine : T.theirs}: `), node("span", {}, value === undefined ? T.none : value));
      const line = node("div", { class: "choice" });
      line.append(input, label);
      fs.append(line);
    });
    rows.append(fs);
  });
  ctx.sheet.querySelector('[data-action="resolve-conflict"]').onclick = () => {
    const result = mergeConflict(data.tags, (_k, i) => rows.querySelector(`input[name="conflict-${i}"]:checked`).value);
    ctx.current.pairs = Object.entries(result);
    ctx.current.version = data.current_version;
    resend({ ...body, base_version: data.current_version, after: { ...body.after, tags: Object.entries(result) }, idempotency_key: newKey() });
  };
}
