#!/usr/bin/env bash
# Vendor what the offline party map needs into static/vendor/ (pinned, no CDN, no build step):
#   - Workbox (MIT): the service worker's routing and caching strategies, the classic-script
#     builds (*.prod.js) the service worker loads with importScripts (config/offline.py names them);
#   - idb (ISC): the small promise wrapper over IndexedDB, an ES module the page imports.
# Re-run after changing a version:  bash scripts/vendor_offline.sh
set -euo pipefail
WORKBOX=7.4.1
IDB=8.0.4
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

DEST="$ROOT/static/vendor/workbox@$WORKBOX"
rm -rf "$DEST" && mkdir -p "$DEST"
for mod in workbox-core workbox-routing workbox-strategies workbox-expiration workbox-cacheable-response; do
  (cd "$TMP" && npm pack --silent "$mod@$WORKBOX" >/dev/null && mkdir -p "$mod" && tar xzf "$mod-$WORKBOX.tgz" -C "$mod")
  cp "$TMP/$mod/package/build/$mod.prod.js" "$DEST/$mod.prod.js"
done
cp "$TMP/workbox-core/package/LICENSE" "$DEST/LICENSE"

DEST="$ROOT/static/vendor/idb@$IDB"
rm -rf "$DEST" && mkdir -p "$DEST"
(cd "$TMP" && npm pack --silent "idb@$IDB" >/dev/null && mkdir -p idb && tar xzf "idb-$IDB.tgz" -C idb)
cp "$TMP/idb/package/build/index.js" "$DEST/index.js"  # one self-contained ES module
cp "$TMP/idb/package/LICENSE" "$DEST/LICENSE"
echo "Vendored Workbox $WORKBOX and idb $IDB into static/vendor/"
