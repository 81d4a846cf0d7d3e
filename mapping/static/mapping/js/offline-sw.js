// The party map's service worker (a classic script: the view parties.offline_views.service_worker
// loads Workbox's vendored builds with importScripts, sets self.CARTOPARTY_PRECACHE to the party
// map's static files, then this file). Scope /parties/: the party map pages are controlled, and
// every request they make goes through the routes below. Caches (docs/offline.md):
//   cartoparty-static    the map page's scripts and styles (installed up front, then kept fresh)
//   cartoparty-pages     the party map pages (network first, this copy when offline)
//   cartoparty-download  what "Download the party" stored: base tiles, published data, presets,
//                        my contributions (written by the page, offline-download.js; read here)
//   cartoparty-data      API answers seen while browsing (network first; 300 entries at most)
//   cartoparty-tiles     base tiles seen while browsing (cache first; 600 at most)
// POSTs are never handled here: the page's outbox (IndexedDB) keeps and replays them.
/* global workbox */
const { registerRoute, setCatchHandler } = workbox.routing;
const { NetworkFirst, StaleWhileRevalidate, CacheFirst } = workbox.strategies;
const { ExpirationPlugin } = workbox.expiration;
const { CacheableResponsePlugin } = workbox.cacheableResponse;

const DOWNLOAD = "cartoparty-download";
const BYPASS = "X-Cartoparty-Download"; // the download's own requests: straight to the network
const MATCH = { ignoreVary: true };
const noRedirects = { cacheWillUpdate: async ({ response }) => (response.redirected ? null : response) };

self.addEventListener("install", (event) => {
  const urls = self.CARTOPARTY_PRECACHE || [];
  event.waitUntil(
    caches.open("cartoparty-static")
      .then((cache) => Promise.all(urls.map((u) => cache.add(u).catch(() => null))))
      .then(() => self.skipWaiting()),
  );
});
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

const sameOrigin = (url) => url.origin === self.location.origin;
const bypassed = (request) => request.headers.has(BYPASS);
const downloaded = (request) => caches.match(request, { ...MATCH, cacheName: DOWNLOAD });

registerRoute(
  ({ request, url }) => request.mode === "navigate" && sameOrigin(url) && /^\/parties\/\d+\/map\/$/.test(url.pathname),
  new NetworkFirst({
    cacheName: "cartoparty-pages", networkTimeoutSeconds: 6, matchOptions: MATCH,
    plugins: [noRedirects, new CacheableResponsePlugin({ statuses: [200] })],
  }),
);
registerRoute(
  ({ url }) => sameOrigin(url) && url.pathname.startsWith("/static/"),
  new StaleWhileRevalidate({ cacheName: "cartoparty-static", matchOptions: MATCH, plugins: [new CacheableResponsePlugin({ statuses: [200] })] }),
);
// Base tiles: the downloaded copy, else a browsed one, else the network.
const tiles = new CacheFirst({
  cacheName: "cartoparty-tiles", matchOptions: MATCH,
  plugins: [new CacheableResponsePlugin({ statuses: [200] }), new ExpirationPlugin({ maxEntries: 600, purgeOnQuotaError: true })],
});
registerRoute(
  ({ request, url }) => sameOrigin(url) && url.pathname.startsWith("/tiles/") && !bypassed(request),
  async (options) => (await downloaded(options.request)) || tiles.handle(options),
);
// Published data tiles (a 400 "zoom in" answer is kept too: it is what that tile says), the
// party's pending layer, presets, contributions, element details: online, the network answers
// (fresh data); offline, the copy seen last, else the downloaded one.
const data = new NetworkFirst({
  cacheName: "cartoparty-data", networkTimeoutSeconds: 8, matchOptions: MATCH,
  plugins: [noRedirects, new CacheableResponsePlugin({ statuses: [200, 400] }), new ExpirationPlugin({ maxEntries: 300, purgeOnQuotaError: true })],
});
registerRoute(
  ({ request, url }) => sameOrigin(url) && url.pathname.startsWith("/api/") && !bypassed(request),
  async (options) => {
    try {
      return await data.handle(options);
    } catch {
      return (await downloaded(options.request)) || Response.error();
    }
  },
);

setCatchHandler(async () => Response.error());
