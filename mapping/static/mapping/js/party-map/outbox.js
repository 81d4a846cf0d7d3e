// The page's outbox (queue.js over queue-store.js): every save goes through it, whether online or
// not; it is flushed at start, when the network returns, every 20 s while something waits, soon
// after a pass the network stopped (1 s, then doubling up to 20 s), and right after each save. The
// waiting line shows "N changes waiting to be sent".
//
// Photos: `photoItem(ctx, editKey, {file, key}, licence)` is the queue item of a photo of the edit
// whose idempotency key is `editKey`; save.js queues it right behind its edit (submitThrough), so it
// follows that edit through a conflict (re-keyed) or a refusal (dropped with it). It is sent once
// the edit was acknowledged, by photos.js uploadPhoto: 201/200 = stored, 400 {detail} = refused
// (told to the resident, dropped), 404 = unknown edit.
import { answerOf, csrfToken, postWithRetry } from "./network.js";
import { $, fmt, say } from "./page.js";
import { uploadPhoto } from "./photos.js";
import { createQueue } from "./queue.js";
import { openQueueStore } from "./queue-store.js";
import { waitingText } from "./queued.js";

const RETRY_MS = 20000;
const FIRST_RETRY_MS = 1000;

// An edit: one attempt; a busy server (5xx, 429) is then retried as network.js does (backoff,
// Retry-After, the page saying why it waits); no network at all answers {status: 0} at once.
async function sendEdit(ctx, item) {
  const first = await sendItem(item);
  if (first.status !== 429 && first.status < 500) return first;
  return postWithRetry(item.url, item.body, {
    csrf: csrfToken(document.cookie),
    onWait: (reason, s) => say(ctx, fmt(ctx.T[reason], { s })),
  });
}

const noWait = () => Promise.resolve();

// A queued photo: its one POST (photos.js), tried again at once on a dropped connection; the
// queue's own passes do the waiting.
function sendPhoto(ctx, item) {
  const { partyId, editKey, blob, key, licence } = item;
  return uploadPhoto(ctx, { partyId, editKey, file: blob, key, licence }, { sleep: noWait });
}

async function sendItem(item) {
  const headers = {
    Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken(document.cookie),
  };
  let resp;
  try {
    resp = await fetch(item.url, { method: "POST", headers, body: JSON.stringify(item.body), credentials: "same-origin" });
  } catch {
    return { status: 0, data: null };
  }
  return answerOf(resp);
}

// A 400's {field: [messages]} or {detail} as one line.
export function messageOf(data, fallback) {
  if (!data) return fallback;
  if (data.detail) return String(data.detail);
  return Object.values(data).flat().join(" ") || fallback;
}

function showWaiting(ctx, items) {
  const line = $("outbox-status");
  if (!line) return;
  const forms = { one: ctx.T.waitingOne, other: ctx.T.waitingOther };
  line.hidden = items.length === 0;
  line.textContent = waitingText(forms, items.length, document.documentElement.lang);
  line.dataset.count = String(items.length);
  ctx.el.dataset.queued = String(items.length);
}

// `handlers`: {onSent(item), onConflict(item, data), onRefused(item, data), onQueued()} from the page
// (save.js); answers to a save the page waits for go to that save instead.
export async function startOutbox(ctx, handlers) {
  const waiters = new Map(); // key -> resolve({status, data, item})
  const answer = (item, status, data) => {
    const w = waiters.get(item.key);
    if (!w) return false;
    waiters.delete(item.key);
    w({ status, data, item });
    return true;
  };
  const store = await openQueueStore();
  const queue = createQueue(store, (item) => (item.kind === "edit" ? sendEdit(ctx, item) : sendPhoto(ctx, item)), {
    onChange: (_n, items) => {
      ctx.queued = items;
      showWaiting(ctx, items);
      handlers.onQueued();
    },
    onSent: (item, data) => answer(item, 201, data) || handlers.onSent(item, data),
    onConflict: (item, data) => answer(item, 409, data) || handlers.onConflict(item, data),
    onRefused: (item, data, status) => answer(item, status, data) || handlers.onRefused(item, data),
  });
  // A pass stopped by the network is tried again soon, then less and less often (1 s, 2 s, 4 s...
  // up to RETRY_MS): the browser's "online" often comes a moment before requests get through.
  let retry = { timer: null, ms: FIRST_RETRY_MS };
  const flush = async () => {
    const result = await queue.flush();
    if (result === "offline") waiters.forEach((w, key) => { waiters.delete(key); w({ status: 0, data: null }); });
    if (result !== "offline") {
      clearTimeout(retry.timer);
      retry = { timer: null, ms: FIRST_RETRY_MS };
    }
    else if (!retry.timer) {
      retry.timer = setTimeout(() => { retry.timer = null; flush(); }, retry.ms);
      retry.ms = Math.min(RETRY_MS, retry.ms * 2);
    }
    return result;
  };
  // Sends one change (and the photos queued behind it) through the queue; resolves with the
  // change's answer, or {status: 0} when it waits.
  const submitThrough = (item, photos = []) => new Promise((resolve) => {
    waiters.set(item.key, resolve);
    photos.reduce((done, photo) => done.then(() => queue.enqueue(photo)), queue.enqueue(item)).then(flush);
  });
  ctx.outbox = {
    queue, flush, submitThrough,
    resolve: (item, body) => new Promise((resolve) => {
      waiters.set(body.idempotency_key, resolve);
      queue.resolve(item, body).then(flush);
    }),
  };
  window.addEventListener("online", flush);
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && flush());
  setInterval(() => (ctx.queued || []).length && flush(), RETRY_MS);
  await queue.count();
  const held = (ctx.queued || []).find((i) => i.state === "conflict");
  if (held) handlers.onConflict(held, held.conflict);
  flush();
  return ctx.outbox;
}

// The queue item of a photo of the edit `editKey` (see above); its key was drawn when it was chosen.
export function photoItem(ctx, editKey, { file, key }, licence) {
  return { kind: "photo", key, editKey, partyId: ctx.el.dataset.partyId, blob: file, name: file.name || "photo.jpg", licence };
}
