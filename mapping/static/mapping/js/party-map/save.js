// Saving the editor: the payload, the POST (page.js: retries, same idempotency key), then the answer:
// saved, field errors under their fields, or the conflict screen.
import { $, node, post, say } from "./page.js";
import { newKey } from "./network.js";
import { payloadTags } from "./tags.js";
import { clearErrors, closeSheet, sheetError } from "./sheet.js";
import { stopGeometryEdit } from "./shape-edit.js";
import { showConflict } from "./conflict.js";
import { loadPending } from "./data-layers.js";
import { sendPhotos } from "./photos.js";

function payload(current) {
  return { tags: payloadTags(current.pairs), ...current.geometry };
}

export async function submit(ctx, body) {
  const { T } = ctx;
  clearErrors(ctx);
  const button = $("save-button");
  button.disabled = true;
  say(ctx, T.saving);
  try {
    const { status, data } = await post(ctx, ctx.el.dataset.editsUrl, body);
    if (status === 201 || status === 200) {
      say(ctx, body.action === "delete" ? T.deleted : T.saved);
      stopGeometryEdit(ctx, false);
      if (body.action !== "delete") sendPhotos(ctx, body.idempotency_key); // the edit's photos, after it
      closeSheet(ctx);
      loadPending(ctx);
      return;
    }
    if (status === 400 && data) return showErrors(ctx, data);
    if (status === 409 && data) return showConflict(ctx, body, data, (merged) => submit(ctx, merged));
    sheetError((data && data.detail) || T.failed);
    say(ctx, "");
  } finally {
    button.disabled = false;
  }
}

// 400: "tags.<key>" errors go under the field or the tag row of that key (expert mode opens when the
// key is no preset field), the others to the sheet's error line.
function showErrors(ctx, errors) {
  const { sheet } = ctx;
  say(ctx, "");
  const general = [];
  Object.entries(errors).forEach(([field, messages]) => {
    const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
    let target = null;
    if (field.startsWith("tags.")) {
      const key = field.slice(5);
      target = Array.from(sheet.querySelectorAll(".field, .tag-row")).filter((n) => n.dataset.key === key);
      if (!target.length) {
        $("expert-mode").checked = true;
        $("expert").hidden = false;
        target = Array.from(sheet.querySelectorAll(".tag-row")).filter((n) => n.dataset.key === key);
      }
    }
    if (target && target.length) {
      target.forEach((t) => {
        t.append(node("p", { class: "field-error inline", role: "alert" }, text));
        t.querySelectorAll("input, select, textarea").forEach((i) => i.setAttribute("aria-invalid", "true"));
      });
    } else {
      general.push(text);
    }
  });
  if (general.length) sheetError(general.join(" "));
}

// The editor's save and delete buttons, and closing the sheet (its button, Escape).
export function wireSave(ctx) {
  const { sheet, T } = ctx;
  $("editor").addEventListener("submit", (e) => {
    e.preventDefault();
    const { current } = ctx;
    if (!current) return;
    sheet.querySelectorAll("#editor input, #editor select, #editor textarea").forEach((i) => i.dispatchEvent(new Event("change")));
    submit(ctx, {
      element_type: current.type,
      element_id: current.action === "create" ? null : current.id,
      action: current.action,
      base_version: current.action === "create" ? null : current.version,
      after: payload(ctx.current),
      preset: current.preset || "",
      idempotency_key: newKey(),
    });
  });
  sheet.querySelector('[data-action="delete-feature"]').addEventListener("click", () => {
    const { current } = ctx;
    if (!current || !window.confirm(T.confirmDelete)) return;
    submit(ctx, { element_type: current.type, element_id: current.id, action: "delete", base_version: current.version, after: null, idempotency_key: newKey() });
  });
  sheet.querySelector('[data-action="close-sheet"]').addEventListener("click", () => closeSheet(ctx));
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !sheet.hidden) closeSheet(ctx); });
}
