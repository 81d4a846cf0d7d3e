// Fetching and keeping the party for offline use, for the party map (party-map/offline.js) and the
// agent's party page (warm-cache.js, a shared tablet). The service worker (offline-sw.js, served
// by parties.views.service_worker) answers from these caches when the network is gone.
export const DOWNLOAD_CACHE = "cartoparty-download";
export const OFFLINE_CACHES = ["cartoparty-download", "cartoparty-pages", "cartoparty-data", "cartoparty-tiles", "cartoparty-static"];
const PARALLEL = 6;

export function offlineSupported() {
  return "serviceWorker" in navigator && "caches" in window;
}

// Registers the service worker; resolves with its registration once it is active (or null). Not
// navigator.serviceWorker.ready: that waits for a worker of the *current* page's scope, and the
// agent's page (/manage/...) is outside /parties/.
export async function registerWorker(url, scope) {
  if (!offlineSupported()) return null;
  try {
    const reg = await navigator.serviceWorker.register(url, { scope });
    const worker = reg.installing || reg.waiting;
    if (!reg.active && worker) {
      await new Promise((resolve) => {
        worker.addEventListener("statechange", () => ["activated", "redundant"].includes(worker.state) && resolve());
      });
    }
    return reg.active ? reg : null;
  } catch {
    return null;
  }
}

// Keeps `urls` (pages) in the pages cache: the party map opens offline after this visit.
export async function keepPages(urls) {
  if (!offlineSupported()) return;
  const cache = await caches.open("cartoparty-pages");
  await Promise.all(urls.map((u) => fetch(u, { credentials: "same-origin" })
    .then((r) => (r.ok && !r.redirected ? cache.put(u, r) : null)).catch(() => null)));
}

// Is there room for `bytes` more (the browser's own quota for this site)?
export async function roomFor(bytes) {
  if (!navigator.storage || !navigator.storage.estimate) return true;
  const { usage = 0, quota = Infinity } = await navigator.storage.estimate();
  return quota - usage > bytes;
}

// Fetches every URL (6 at a time) into the download cache, replacing an earlier download;
// onProgress(done, total, bytes). Resolves with {bytes, failed}.
export async function downloadAll(urls, onProgress) {
  await caches.delete(DOWNLOAD_CACHE);
  const cache = await caches.open(DOWNLOAD_CACHE);
  let next = 0;
  let done = 0;
  let bytes = 0;
  let failed = 0;
  async function worker() {
    while (next < urls.length) {
      const url = urls[next++];
      try {
        const resp = await fetch(url, { credentials: "same-origin", headers: { "X-Cartoparty-Download": "1" } });
        if (resp.ok || resp.status === 400) {
          const body = await resp.blob();
          bytes += body.size;
          await cache.put(url, new Response(body, { status: resp.status, headers: resp.headers }));
        } else {
          failed += 1;
        }
      } catch {
        failed += 1;
      }
      done += 1;
      onProgress(done, urls.length, bytes);
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => null);
  return { bytes, failed };
}

// Forgets everything kept for offline use, except changes not sent yet (the outbox is IndexedDB:
// clearing never loses an edit).
export async function clearOffline() {
  if (!offlineSupported()) return;
  await Promise.all(OFFLINE_CACHES.map((name) => caches.delete(name)));
}

// Bytes kept in the download cache (what "Download the party" stored).
export async function downloadedBytes() {
  if (!offlineSupported() || !(await caches.has(DOWNLOAD_CACHE))) return 0;
  const cache = await caches.open(DOWNLOAD_CACHE);
  let total = 0;
  for (const req of await cache.keys()) {
    const resp = await cache.match(req);
    total += Number(resp.headers.get("Content-Length")) || (await resp.clone().blob()).size;
  }
  return total;
}
