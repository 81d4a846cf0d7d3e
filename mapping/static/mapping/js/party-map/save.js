// Saving the editor: the payload goes into the outbox (outbox.js: IndexedDB first, then the POST
// with its idempotency key), then the answer: saved, kept on the phone until the network returns,
// field errors under their fields, or the conflict screen. Changes the outbox sends later (replayed
// after a reload or when the network returns) answer through replayHandlers.
import { $, fmt, node, say } from "./page.js";
import { newKey } from "./network.js";
import { payloadTags } from "./tags.js";
import { clearErrors, closeSheet, sheetError } from "./sheet.js";
import { stopGeometryEdit } from "./shape-edit.js";
import { showConflict } from "./conflict.js";
import { drawPending, loadPending } from "./data-layers.js";
import { messageOf, photoItem } from "./outbox.js";
import { chosenPhotos, forgetPhotos } from "./photos.js";

function payload(current) {
  return { tags: payloadTags(current.pairs), ...current.geometry };
}

export async function submit(ctx, body) {
  clearErrors(ctx);
  say(ctx, ctx.T.saving);
  await ctx.outboxReady;
  const item = { kind: "edit", key: body.idempotency_key, url: ctx.el.dataset.editsUrl, body, shape: ctx.current && ctx.current.geometry };
  // The chosen photos go into the outbox right behind their edit: sent once it is acknowledged.
  const { files, licence } = body.action === "delete" ? { files: [] } : chosenPhotos(ctx);
  const photos = files.map((photo) => photoItem(ctx, body.idempotency_key, photo, licence));
  return answered(ctx, body, ctx.outbox.submitThrough(item, photos));
}

async function answered(ctx, body, reply) {
  const { T } = ctx;
  const button = $("save-button");
  button.disabled = true;
  try {
    const { status, data, item } = await reply;
    if (status === 201 || status === 200 || status === 0) {
      say(ctx, status === 0 ? T.savedOffline : body.action === "delete" ? T.deleted : T.saved);
      stopGeometryEdit(ctx, false);
      forgetPhotos(ctx);
      closeSheet(ctx);
      if (status === 0) drawPending(ctx);
      else loadPending(ctx);
      return;
    }
    if (status === 400 && data) return showErrors(ctx, data);
    if (status === 409 && data) return conflictOf(ctx, item, data);
    sheetError(messageOf(data, T.failed));
    say(ctx, "");
  } finally {
    button.disabled = false;
  }
}

// The conflict screen for a change held in the outbox; the choice replaces it there.
function conflictOf(ctx, item, data) {
  if (!data.tags && !ctx.current) {
    ctx.outbox.queue.discard(item);
    return say(ctx, ctx.T.replayGone);
  }
  if (!data.tags) ctx.outbox.queue.discard(item);
  showConflict(ctx, item.body, data, (merged) => answered(ctx, merged, ctx.outbox.resolve(item, merged)));
}

// What the outbox says about changes sent without the page waiting (after a reload, or when the
// network came back): the map is reloaded; a conflict opens its screen; a refusal is told.
export function replayHandlers(ctx) {
  let reload = null;
  const later = () => {
    clearTimeout(reload);
    reload = setTimeout(() => loadPending(ctx), 300);
  };
  let draw = null; // the outbox changes once per item sent: the map is redrawn at most every 200 ms
  return {
    onQueued: () => {
      if (!draw) draw = setTimeout(() => { draw = null; drawPending(ctx); }, 200);
    },
    onSent: (item) => {
      if (item.kind === "photo") say(ctx, ctx.T.photoSent);
      later();
    },
    onConflict: (item, data) => {
      const b = item.body;
      ctx.current = {
        action: b.action, type: b.element_type, id: b.element_id, version: b.base_version, preset: b.preset || "",
        pairs: b.after ? b.after.tags : [], geometry: item.shape, kind: b.element_type === "node" ? "point" : "line",
      };
      conflictOf(ctx, item, data);
    },
    onRefused: (item, data) => {
      const text = item.kind === "photo" ? ctx.T.photoRefused : ctx.T.refused;
      say(ctx, fmt(text, { message: messageOf(data, ctx.T.failed) }));
      later();
    },
  };
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
