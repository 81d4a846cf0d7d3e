// "Offline" on the party map: the service worker registered (the page then opens with no network),
// this page kept, the offline banner, and the panel to download the party (size shown first, a
// progress bar) or to forget it. Downloading is offline-download.js; the plan offline-plan.js.
import { CAP_BYTES, formatSize, planDownload } from "../offline-plan.js";
import { clearOffline, downloadAll, downloadedBytes, keepPages, offlineSupported, registerWorker, roomFor } from "../offline-download.js";
import { bboxParam } from "./geometry.js";
import { $, fmt, say } from "./page.js";
import { openSheet } from "./sheet.js";

const lang = () => document.documentElement.lang;

function size(ctx, bytes) {
  return formatSize(bytes, lang(), ctx.T.megabytes);
}

function showNetwork(ctx) {
  $("offline-banner").hidden = navigator.onLine;
  ctx.el.dataset.online = String(navigator.onLine);
}

// The plan for this party: its area, the tile variant this screen uses, its own data.
export function partyPlan(ctx) {
  const ab = ctx.areaLayer.getBounds();
  const bbox = { west: ab.getWest(), south: ab.getSouth(), east: ab.getEast(), north: ab.getNorth() };
  const { dataset } = ctx.el;
  const extra = [
    dataset.presetsUrl, `${dataset.featuresUrl}?layers=pending&bbox=${bboxParam(bbox)}`,
  ];
  if (ctx.canEdit) extra.push(dataset.contributionsUrl);
  return planDownload({ bbox, retina: (window.devicePixelRatio || 1) > 1.5, featureTiles: dataset.tilesUrl, extra });
}

async function showStored(ctx) {
  const bytes = await downloadedBytes();
  $("offline-stored").textContent = bytes ? fmt(ctx.T.offlineStored, { size: size(ctx, bytes) }) : ctx.T.offlineNothing;
  $("offline-clear").disabled = !bytes;
}

async function download(ctx, plan) {
  const { T } = ctx;
  const button = $("offline-download");
  const bar = $("offline-progress");
  if (plan.tooBig) return say(ctx, fmt(T.offlineTooBig, { size: size(ctx, plan.estimate), cap: size(ctx, CAP_BYTES) }));
  if (!(await roomFor(plan.estimate))) return say(ctx, T.offlineNoRoom);
  button.disabled = true;
  bar.hidden = false;
  bar.max = plan.urls.length;
  ctx.el.dataset.download = "running";
  const { bytes, failed } = await downloadAll(plan.urls, (done, total, got) => {
    bar.value = done;
    $("offline-progress-text").textContent = fmt(T.offlineProgress, { done, total, size: size(ctx, got) });
  });
  button.disabled = false;
  ctx.el.dataset.downloadedBytes = String(bytes);
  ctx.el.dataset.download = failed ? "partial" : "done";
  $("offline-progress-text").textContent = failed
    ? fmt(T.offlinePartial, { size: size(ctx, bytes), failed })
    : fmt(T.offlineDone, { size: size(ctx, bytes) });
  showStored(ctx);
}

function openOffline(ctx) {
  const { T } = ctx;
  openSheet(ctx, T.offlineTitle, "offline");
  const plan = partyPlan(ctx);
  $("offline-estimate").textContent = fmt(plan.tooBig ? T.offlineTooBig : T.offlineEstimate, {
    size: size(ctx, plan.estimate), cap: size(ctx, CAP_BYTES), tiles: plan.baseTiles + plan.dataTiles,
  });
  $("offline-download").disabled = plan.tooBig || !offlineSupported();
  $("offline-download").onclick = () => download(ctx, plan);
  $("offline-clear").onclick = async () => {
    if (!window.confirm(T.offlineConfirmClear)) return;
    await clearOffline();
    $("offline-progress").hidden = true;
    $("offline-progress-text").textContent = T.offlineCleared;
    showStored(ctx);
  };
  showStored(ctx);
}

export function wireOffline(ctx) {
  $("offline-button").addEventListener("click", () => openOffline(ctx));
  showNetwork(ctx);
  window.addEventListener("online", () => showNetwork(ctx));
  window.addEventListener("offline", () => showNetwork(ctx));
  if (!offlineSupported()) return;
  const controlled = !!navigator.serviceWorker.controller; // this load went through the worker
  registerWorker(ctx.el.dataset.swUrl, ctx.el.dataset.swScope).then((reg) => {
    ctx.el.dataset.worker = reg ? "ready" : "none";
    // First visit (no worker controlled this page's load): keep the page now; later loads go
    // through the worker's network-first route, which keeps it without a second request.
    if (reg && navigator.onLine && !controlled) keepPages([location.pathname]);
  });
}
