// The agent's party page: "Prepare this device for offline use" on a tablet residents will share.
// The same download as the party map's (offline-plan.js, offline-download.js) without any
// resident's own contributions, plus the party map page; the service worker is registered so the
// party map opens on this device with no network.
import { bboxParam } from "./party-map/geometry.js";
import { CAP_BYTES, formatSize, geojsonBounds, planDownload } from "./offline-plan.js";
import { downloadAll, keepPages, offlineSupported, registerWorker, roomFor } from "./offline-download.js";

const section = document.getElementById("warm-cache");
const S = section.dataset;
const $ = (id) => document.getElementById(id);
const fmt = (text, values) => text.replace(/%\((\w+)\)s/g, (_m, k) => String(values[k]));
const size = (bytes) => formatSize(bytes, document.documentElement.lang, S.megabytes);

const bbox = geojsonBounds(JSON.parse($("party-area").textContent));
const plan = planDownload({
  bbox, retina: (window.devicePixelRatio || 1) > 1.5, featureTiles: S.tilesUrl,
  extra: [S.presetsUrl, `${S.featuresUrl}?layers=pending&bbox=${bboxParam(bbox)}`],
});
$("warm-estimate").textContent = fmt(plan.tooBig ? S.tooBig : S.estimate, {
  size: size(plan.estimate), cap: size(CAP_BYTES), tiles: plan.baseTiles + plan.dataTiles,
});
const button = $("warm-download");
button.disabled = plan.tooBig || !offlineSupported();
if (!offlineSupported()) $("warm-status").textContent = S.unsupported;

button.addEventListener("click", async () => {
  const status = $("warm-status");
  if (!(await roomFor(plan.estimate))) {
    status.textContent = S.noRoom;
    return;
  }
  button.disabled = true;
  section.dataset.state = "running";
  await registerWorker(S.swUrl, S.swScope);
  await keepPages([S.partyMapUrl]);
  const bar = $("warm-progress");
  bar.hidden = false;
  bar.max = plan.urls.length;
  const { bytes, failed } = await downloadAll(plan.urls, (done, total, got) => {
    bar.value = done;
    status.textContent = fmt(S.progress, { done, total, size: size(got) });
  });
  status.textContent = failed ? fmt(S.partial, { size: size(bytes), failed }) : fmt(S.done, { size: size(bytes) });
  section.dataset.state = failed ? "partial" : "done";
  button.disabled = false;
});
