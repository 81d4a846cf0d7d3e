// Photos of an edit: the picker in the editor (the phone's camera through <input capture>), the
// chosen photos' previews. uploadPhoto() is the one call of POST
// /api/parties/<party>/edits/<edit key>/photos/ (multipart: photo, key, licence); the outbox
// (outbox.js) makes it once the photo's edit was acknowledged, online or when the network returns. ctx.photos
// holds the chosen photos of the feature in the editor, each {file, key}: its idempotency key is
// drawn when it is chosen, so every later attempt (a retry, a queue replayed) sends the same one.
import { $, fmt, node } from "./page.js";
import { answerOf, csrfToken, newKey } from "./network.js";

export const MAX_PHOTOS = 6;
const ATTEMPTS = 3;

const realSleep = (ms) => new Promise((r) => setTimeout(r, ms));

// POST one photo; {status, data}. Network errors and 5xx are tried again (same key: stored once).
// `options` (fetch, sleep, cookie) let tests/js/photos.test.js run it in Node.
export async function uploadPhoto(ctx, { partyId, editKey, file, key, licence = "" }, options = {}) {
  const { fetch = globalThis.fetch, sleep = realSleep } = options;
  const cookie = options.cookie ?? (typeof document === "undefined" ? "" : document.cookie);
  const url = `/api/parties/${encodeURIComponent(partyId)}/edits/${encodeURIComponent(editKey)}/photos/`;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const form = new FormData();
    form.append("photo", file, file.name || "photo.jpg");
    form.append("key", key);
    if (licence) form.append("licence", licence);
    let resp = null;
    try {
      resp = await fetch(url, {
        method: "POST", body: form, credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken(cookie) },
      });
    } catch {
      resp = null;
    }
    if (resp && resp.status < 500) return answerOf(resp);
    if (attempt < ATTEMPTS - 1) await sleep(2000 * (attempt + 1));
  }
  return { status: 0, data: null };
}

function render(ctx) {
  const { T } = ctx;
  const list = $("photo-list");
  list.querySelectorAll("img").forEach((img) => URL.revokeObjectURL(img.src));
  list.replaceChildren();
  ctx.photos.files.forEach(({ file }, i) => {
    const img = node("img", { src: URL.createObjectURL(file), alt: fmt(T.photoN, { n: i + 1 }), width: "72", height: "72" });
    const rm = node("button", { type: "button", class: "secondary remove-photo", "aria-label": T.removePhoto, title: T.removePhoto }, "✕");
    rm.addEventListener("click", () => { ctx.photos.files.splice(i, 1); render(ctx); });
    const item = node("li", { class: "photo-item" });
    item.append(img, rm);
    list.append(item);
  });
  $("photo-add").hidden = ctx.photos.files.length >= MAX_PHOTOS;
}

// The editor opens: a new feature (or another one) starts with no photo chosen.
export function showPhotos(ctx) {
  if (!$("photo-list")) return; // no picker: not a resident of the party
  if (!ctx.photos || ctx.photos.owner !== ctx.current) ctx.photos = { owner: ctx.current, files: [] };
  render(ctx);
}

// The photos chosen for the feature in the editor and the licence ticked, for the save to queue
// with its edit (outbox.js photoItem). They stay chosen until the save succeeds (forgetPhotos), so a
// change refused for a field keeps them for the next try.
export function chosenPhotos(ctx) {
  const files = ctx.photos ? ctx.photos.files.slice() : [];
  const box = $("photo-licence");
  return { files, licence: box && box.checked ? "CC-BY-SA-4.0" : "" };
}

export function forgetPhotos(ctx) {
  ctx.photos = null;
}

export function wirePhotos(ctx) {
  $("photo-input").addEventListener("change", (e) => {
    const input = e.target;
    const room = MAX_PHOTOS - ctx.photos.files.length;
    Array.from(input.files || []).slice(0, Math.max(0, room)).forEach((file) => ctx.photos.files.push({ file, key: newKey() }));
    input.value = ""; // the same photo may be chosen again after removing it
    render(ctx);
  });
}
