// My contributions (the list in the sheet) and undo, which withdraws my last pending change.
import { $, node, post, say } from "./page.js";
import { getJSON } from "./network.js";
import { loadPresets } from "./presets.js";
import { openSheet, sheetError } from "./sheet.js";
import { loadPending } from "./data-layers.js";

export function contributionItem(T, rev) {
  const li = node("li", { class: `contribution status-${rev.status || "pending"}` });
  const title = node("strong", {}, rev.name || (rev.after && rev.after.tags && rev.after.tags.name) || rev.preset_name || T.unnamed);
  li.append(title, node("span", { class: "action" }, ` · ${rev.action_label}`), node("span", { class: "badge" }, rev.outcome || rev.status_label));
  if (rev.review_reason) li.append(node("p", { class: "reason" }, `${T.reason} ${rev.review_reason}`));
  return li;
}

export async function showContributions(ctx) {
  const { T } = ctx;
  openSheet(ctx, T.myContributions, "contributions");
  const list = $("contribution-list");
  list.replaceChildren();
  try {
    const [revs] = await Promise.all([getJSON(ctx.el.dataset.contributionsUrl), loadPresets(ctx)]);
    revs.forEach((r) => {
      const preset = ctx.presets.byId.get(r.preset);
      list.append(contributionItem(T, { ...r, preset_name: preset ? preset.name : "" }));
    });
    $("contributions-empty").hidden = revs.length > 0;
  } catch {
    sheetError(T.loadError);
  }
}

// Undo takes back the last change still waiting in the outbox (never sent: nothing to withdraw on the
// server), else withdraws my last pending change on the server.
export async function undo(ctx) {
  const queued = (ctx.queued || []).filter((i) => i.kind === "edit" && i.state !== "conflict");
  if (queued.length) {
    await ctx.outbox.queue.discard(queued[queued.length - 1]);
    say(ctx, ctx.T.undone);
    return;
  }
  const { status } = await post(ctx, ctx.el.dataset.undoUrl, null);
  say(ctx, status === 200 ? ctx.T.undone : ctx.T.nothingToUndo);
  loadPending(ctx);
  if (!ctx.sheet.hidden && ctx.sheet.dataset.panel === "contributions") showContributions(ctx);
}
